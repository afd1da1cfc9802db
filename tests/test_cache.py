"""The result cache with the real scanners: identical results, tools not started
for unchanged inputs, invalidation on every input that matters, and safety
(garbage entries, concurrent runs, size limit, no secret values on disk)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CLI, EXAMPLE, run_cli, write_files

from pipeline_guard.cache import ResultCache
from pipeline_guard.config import load_config
from pipeline_guard.orchestrator import ScanRequest, scan
from pipeline_guard.registry import known_scanner_names

SECRET = "AKIAIOSFODNN7EXAMPLF"
FILES: dict[str, str | bytes] = {
    "app/main.py": (
        "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    ),
    "app/util.py": "def calc(expr):\n    return eval(expr)\n",
    "web/app.js": "function run(expr) {\n  return eval(expr);\n}\n",
    "settings.py": f'AWS_ACCESS_KEY_ID = "{SECRET}"\n',
    "infra/main.tf": (EXAMPLE / "infra" / "main.tf").read_text(),
    "requirements.txt": "urllib3==1.24.1\n",
    "README.md": "# demo\n",
}


def project(tmp_path: Path, config: str = "") -> Path:
    root = write_files(tmp_path / "p", dict(FILES))
    if config:
        write_files(root, {"pipeline-guard.yml": config})
    return root


def scan_cli(
    tmp_path: Path, root: Path, db: Path, *args: str, cache: Path | None = None
) -> dict[str, Any]:
    result = run_cli(
        "scan",
        root,
        "--format",
        "json",
        "--db",
        db,
        *args,
        env={"PIPELINE_GUARD_CACHE_DIR": str(cache or tmp_path / "cache")},
    )
    assert result.returncode in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def fingerprints(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((f["fingerprint"], f["rule_id"], f["severity"]) for f in report["findings"])


def run_notes(report: dict[str, Any], scanner: str) -> list[str]:
    return next(r for r in report["scanners"] if r["name"] == scanner)["notes"]


def errors(report: dict[str, Any]) -> list[Any]:
    return [e for r in report["scanners"] for e in r["errors"]]


@pytest.fixture
def started_tools(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Names of the programs started through subprocess.run (the real ones run)."""
    started: list[str] = []
    real_run = subprocess.run

    def recording_run(argv: Any, *args: Any, **kwargs: Any) -> Any:
        started.append(Path(str(argv[0])).name)
        return real_run(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", recording_run)
    yield started


def test_warm_rescan_is_identical_and_starts_no_tool(
    tmp_path: Path, demo_db: Path, started_tools: list[str]
) -> None:
    root = project(tmp_path)
    config = load_config(None, known_scanner_names())
    cache = ResultCache(tmp_path / "cache")

    def run() -> Any:
        return scan(
            ScanRequest(root=root, stage="release", config=config, db_path=demo_db, cache=cache)
        )

    cold = run()
    assert {"semgrep", "bandit", "checkov"} <= set(started_tools)
    started_tools.clear()
    warm = run()

    assert started_tools == []
    assert [f.to_dict() for f in warm.findings] == [f.to_dict() for f in cold.findings]
    assert [(r.scanner, r.errors) for r in warm.runs] == [(r.scanner, ()) for r in cold.runs]
    notes = {r.scanner: r.notes[-1] for r in warm.runs}
    assert notes["semgrep"] == "4 of 4 file(s) answered by the result cache"
    assert notes["bandit"] == "3 of 3 file(s) answered by the result cache"
    # settings.py holds a secret: never stored, so rescanned (in-process, no tool).
    assert notes["secrets"] == "6 of 7 file(s) answered by the result cache"
    assert notes["checkov"] == "answered by the result cache (1 input file(s) unchanged)"
    assert notes["osv"].startswith("answered by the result cache (")
    assert warm.verdict == cold.verdict


def test_changed_file_is_rescanned_and_results_match_an_uncached_scan(
    tmp_path: Path, demo_db: Path
) -> None:
    root = project(tmp_path, "version: 1\nstages:\n  release:\n    scanners: [semgrep, bandit]\n")
    scan_cli(tmp_path, root, demo_db)
    write_files(
        root, {"app/util.py": "import os\n\n\ndef calc(expr):\n    return os.system(expr)\n"}
    )

    warm = scan_cli(tmp_path, root, demo_db)
    uncached = scan_cli(tmp_path, root, demo_db, "--no-cache", cache=tmp_path / "unused")

    assert fingerprints(warm) == fingerprints(uncached)
    assert ("B605", "app/util.py") in {
        (f["rule_id"], f["location"]["path"]) for f in warm["findings"]
    }
    assert "B307" not in {f["rule_id"] for f in warm["findings"]}
    assert run_notes(warm, "bandit")[-1] == "2 of 3 file(s) answered by the result cache"
    assert not (tmp_path / "unused").exists()  # --no-cache neither reads nor writes


def test_tree_wide_scanner_reruns_only_when_its_inputs_change(
    tmp_path: Path, demo_db: Path
) -> None:
    root = project(tmp_path, "version: 1\nstages:\n  release:\n    scanners: [checkov, osv]\n")
    cold = scan_cli(tmp_path, root, demo_db)
    write_files(root, {"app/main.py": "print('unrelated')\n"})
    unrelated = scan_cli(tmp_path, root, demo_db)
    assert run_notes(unrelated, "checkov")[-1].startswith("answered by the result cache")
    assert fingerprints(unrelated) == fingerprints(cold)

    tf = (root / "infra" / "main.tf").read_text()
    write_files(
        root,
        {
            "infra/main.tf": tf.replace(
                'cidr_blocks = ["0.0.0.0/0"]', 'cidr_blocks = ["10.0.0.0/8"]'
            )
        },
    )
    write_files(root, {"requirements.txt": "urllib3==2.2.2\n"})
    changed = scan_cli(tmp_path, root, demo_db)
    uncached = scan_cli(tmp_path, root, demo_db, "--no-cache")

    assert not any("result cache" in n for n in run_notes(changed, "checkov"))
    assert not any("result cache" in n for n in run_notes(changed, "osv"))
    assert fingerprints(changed) == fingerprints(uncached)
    assert not any(f["category"] == "sca" for f in changed["findings"])
    assert len(changed["findings"]) < len(cold["findings"])


def test_editing_a_user_rule_invalidates_the_cached_results(tmp_path: Path, demo_db: Path) -> None:
    rule = (
        "rules:\n  - id: team.no-print\n    languages: [python]\n    severity: {level}\n"
        "    message: no print\n    pattern: print(...)\n"
    )
    config = (
        "version: 1\nscanners:\n  semgrep:\n    bundled_rules: false\n    rules: [.semgrep/]\n"
        "stages:\n  release:\n    scanners: [semgrep]\n"
    )
    root = write_files(
        tmp_path / "p",
        {
            "a.py": "print('hi')\n",
            ".semgrep/rules.yaml": rule.format(level="INFO"),
            "pipeline-guard.yml": config,
        },
    )
    first = scan_cli(tmp_path, root, demo_db)
    assert [(f["rule_id"], f["severity"]) for f in first["findings"]] == [("team.no-print", "low")]
    write_files(root, {".semgrep/rules.yaml": rule.format(level="ERROR")})

    second = scan_cli(tmp_path, root, demo_db)

    assert [(f["rule_id"], f["severity"]) for f in second["findings"]] == [
        ("team.no-print", "high")
    ]
    assert not any("result cache" in n for n in run_notes(second, "semgrep"))


def test_garbage_and_partial_entries_are_misses_not_errors(tmp_path: Path, demo_db: Path) -> None:
    root = project(tmp_path, "version: 1\nstages:\n  release:\n    scanners: [bandit, secrets]\n")
    cold = scan_cli(tmp_path, root, demo_db)
    entries = sorted((tmp_path / "cache" / "results").rglob("*.json"))
    assert entries
    for i, entry in enumerate(entries):
        data = entry.read_bytes()
        entry.write_bytes(data[: len(data) // 2] if i % 2 else b"\x00garbage")

    warm = scan_cli(tmp_path, root, demo_db)

    assert fingerprints(warm) == fingerprints(cold)
    assert errors(warm) == []
    assert not any("result cache" in n for n in run_notes(warm, "bandit"))
    again = scan_cli(tmp_path, root, demo_db)  # the bad entries were rewritten
    assert run_notes(again, "bandit")[-1] == "3 of 3 file(s) answered by the result cache"


def test_two_concurrent_runs_share_the_cache_safely(tmp_path: Path, demo_db: Path) -> None:
    root = project(
        tmp_path, "version: 1\nstages:\n  release:\n    scanners: [semgrep, bandit, secrets]\n"
    )
    env = {**os.environ, "PIPELINE_GUARD_CACHE_DIR": str(tmp_path / "cache")}
    argv = [CLI, "scan", str(root), "--format", "json", "--db", str(demo_db)]
    procs = [
        subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 1, err
        reports.append(json.loads(out))
    uncached = scan_cli(tmp_path, root, demo_db, "--no-cache")

    assert fingerprints(reports[0]) == fingerprints(reports[1]) == fingerprints(uncached)
    assert errors(reports[0]) == errors(reports[1]) == []
    third = scan_cli(tmp_path, root, demo_db)
    assert run_notes(third, "semgrep")[-1] == "5 of 5 file(s) answered by the result cache"
    assert fingerprints(third) == fingerprints(uncached)
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_no_entry_holds_a_secret_value(tmp_path: Path, demo_db: Path) -> None:
    root = project(tmp_path)
    report = scan_cli(tmp_path, root, demo_db)
    assert any(f["category"] == "secret" for f in report["findings"])
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert stored
    assert SECRET.encode() not in stored


def test_size_limit_evicts_the_oldest_entries(tmp_path: Path, demo_db: Path) -> None:
    root = project(tmp_path, "version: 1\nstages:\n  release:\n    scanners: [bandit, secrets]\n")
    cache_dir = tmp_path / "cache"
    scan_cli(tmp_path, root, demo_db)
    entries = list((cache_dir / "results").rglob("*.json"))
    total = sum(p.stat().st_size for p in entries)
    # bandit: 3 files + the set; secrets: 7 of 8 files (settings.py holds a secret) + the set
    assert len(entries) == 12
    long_ago = 1_000_000
    for entry in entries:
        os.utime(entry, (long_ago, long_ago))
    # A limit just under the current size. The next run reads (and so refreshes) the
    # entries of unchanged files and writes new ones for app/util.py: the stale ones
    # (the old util.py results, the old whole-set entries) are the least recently used.
    limit = total - 1
    write_files(root, {"app/util.py": "def calc(expr):\n    return expr\n"})
    result = run_cli(
        "scan",
        root,
        "--db",
        demo_db,
        env={
            "PIPELINE_GUARD_CACHE_DIR": str(cache_dir),
            "PIPELINE_GUARD_CACHE_MAX_MB": str(limit / 1024 / 1024),
        },
    )
    assert result.returncode in (0, 1), result.stderr
    remaining = list((cache_dir / "results").rglob("*.json"))
    assert [p for p in remaining if p.stat().st_mtime == long_ago] == []
    assert 0 < sum(p.stat().st_size for p in remaining) <= 0.8 * limit
    stale = [p for p in entries if not p.exists()]
    assert len(stale) >= 4  # util.py's two per-file entries and the two set entries


def test_cache_status_and_clear(tmp_path: Path, demo_db: Path) -> None:
    root = project(tmp_path, "version: 1\nstages:\n  release:\n    scanners: [bandit]\n")
    scan_cli(tmp_path, root, demo_db)
    env = {"PIPELINE_GUARD_CACHE_DIR": str(tmp_path / "cache")}
    status = run_cli("cache", "status", env=env)
    assert status.returncode == 0
    assert f"{tmp_path / 'cache' / 'results'}: 4 entries" in status.stdout  # 3 files + the set
    cleared = run_cli("cache", "clear", env=env)
    assert cleared.returncode == 0
    assert "removed 4 cached result(s)" in cleared.stderr
    assert ": 0 entries" in run_cli("cache", "status", env=env).stdout
