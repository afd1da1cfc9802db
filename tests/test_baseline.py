"""Baselines through the real CLI: create, apply, update, and the config key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import run_cli, write_files

CONFIG = "version: 1\nstages:\n  release:\n    scanners: [bandit, secrets]\n"
LEGACY = """import pickle
import subprocess


def run(cmd):
    return subprocess.call(cmd, shell=True)


def load(blob):
    return pickle.loads(blob)
"""
NEW_CODE = """

def spawn(cmd):
    return subprocess.Popen(cmd, shell=True)
"""


def project(tmp_path: Path, config: str = CONFIG) -> Path:
    return write_files(tmp_path / "p", {"app.py": LEGACY, "pipeline-guard.yml": config})


def cli(tmp_path: Path, *args: str | Path) -> Any:
    return run_cli(*args, env={"PIPELINE_GUARD_CACHE_DIR": str(tmp_path / "cache")})


def scan_json(tmp_path: Path, root: Path, *args: str | Path) -> tuple[int, dict[str, Any]]:
    result = cli(tmp_path, "scan", root, "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_create_writes_one_sorted_entry_per_line_and_scans_accept_them(tmp_path: Path) -> None:
    root = project(tmp_path)
    created = cli(tmp_path, "baseline", "create", root)
    assert created.returncode == 0, created.stderr
    assert "4 finding(s) (4 added, 0 dropped, 0 kept)" in created.stderr

    path = root / ".pipeline-guard-baseline.json"
    text = path.read_text()
    data = json.loads(text)
    assert data["version"] == 1
    assert [(e["rule_id"], e["path"], e["scanner"]) for e in data["findings"]] == [
        ("B301", "app.py", "bandit"),
        ("B403", "app.py", "bandit"),
        ("B404", "app.py", "bandit"),
        ("B602", "app.py", "bandit"),
    ]
    lines = text.splitlines()
    for entry in data["findings"]:
        assert sum(entry["fingerprint"] in line for line in lines) == 1

    code, report = scan_json(tmp_path, root)
    assert code == 0, report["verdict"]
    assert report["summary"]["active"] == 0
    assert report["summary"]["suppressed"] == len(data["findings"])
    for finding in report["findings"]:
        sup = finding["suppression"]
        line = next(i for i, t in enumerate(lines, 1) if finding["fingerprint"] in t)
        assert sup == {
            "kind": "external",
            "reason": f"in baseline {data['created']}",
            "source": f".pipeline-guard-baseline.json:{line}",
            "owner": None,
            "expires": None,
        }
    sarif = cli(tmp_path, "scan", root, "--format", "sarif")
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    assert [r["suppressions"][0]["kind"] for r in results] == ["external"] * 4
    assert {r["suppressions"][0]["justification"] for r in results} == {
        f"in baseline {data['created']}"
    }


def test_only_findings_after_the_baseline_count_even_when_code_moves(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert cli(tmp_path, "baseline", "create", root).returncode == 0
    # Ten lines above the old findings, and one new high finding at the end.
    write_files(root, {"app.py": "\n" * 10 + LEGACY + NEW_CODE})

    code, report = scan_json(tmp_path, root)

    active = [
        (f["rule_id"], f["location"]["start_line"])
        for f in report["findings"]
        if not f["suppression"]
    ]
    assert active == [("B602", 24)]
    assert code == 1
    assert report["verdict"]["reasons"] == ["1 finding(s) at or above high (1 high)"]


def test_update_drops_fixed_entries_adds_new_ones_and_keeps_dates(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert cli(tmp_path, "baseline", "create", root).returncode == 0
    path = root / ".pipeline-guard-baseline.json"
    # Accepted long ago: the update must keep that date on entries it keeps.
    data = json.loads(path.read_text())
    path.write_text(
        path.read_text().replace(f'"added": "{data["created"]}"', '"added": "2020-01-01"')
    )
    before = {e["rule_id"]: e for e in json.loads(path.read_text())["findings"]}
    assert {e["added"] for e in before.values()} == {"2020-01-01"}
    # Fix the pickle call (B301 gone), add a shell=True Popen (new B602).
    write_files(root, {"app.py": LEGACY.replace("pickle.loads(blob)", "blob") + NEW_CODE})

    stale_code, stale = scan_json(tmp_path, root)
    assert any("entries match no finding any more" in n for n in stale["notes"])
    assert stale_code == 1

    updated = cli(tmp_path, "baseline", "update", root)
    assert updated.returncode == 0, updated.stderr
    entries = json.loads(path.read_text())["findings"]
    assert sorted((e["rule_id"], e["added"]) for e in entries) == [
        ("B403", "2020-01-01"),
        ("B404", "2020-01-01"),
        ("B602", "2020-01-01"),  # run()'s call, accepted before
        ("B602", data["created"]),  # spawn()'s call, accepted today
    ]
    assert "B301" in before
    assert "4 finding(s) (1 added, 1 dropped, 3 kept)" in updated.stderr

    code, report = scan_json(tmp_path, root)
    assert code == 0
    assert report["summary"]["active"] == 0
    assert not any("match no finding" in n for n in report["notes"])


def test_create_never_overwrites_without_force(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert cli(tmp_path, "baseline", "create", root).returncode == 0
    again = cli(tmp_path, "baseline", "create", root)
    assert again.returncode == 2
    assert "already exists" in again.stderr and "baseline update" in again.stderr
    assert cli(tmp_path, "baseline", "create", root, "--force").returncode == 0


def test_config_key_names_the_file_and_a_missing_one_is_an_error(tmp_path: Path) -> None:
    root = project(tmp_path, CONFIG + "baseline: security/accepted.json\n")
    missing = cli(tmp_path, "scan", root)
    assert missing.returncode == 2
    assert "accepted.json: no such baseline file (named by pipeline-guard.yml: baseline)" in (
        missing.stderr.replace("\n", "")
    )
    assert cli(tmp_path, "baseline", "create", root).returncode == 0
    assert (root / "security" / "accepted.json").is_file()
    assert not (root / ".pipeline-guard-baseline.json").exists()
    code, report = scan_json(tmp_path, root)
    assert code == 0
    assert {f["suppression"]["source"].split(":")[0] for f in report["findings"]} == {
        "accepted.json"
    }


def test_broken_baseline_file_is_a_usage_error_with_its_line(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / ".pipeline-guard-baseline.json").write_text('{\n  "version": 1,\n  "findings": [\n')
    result = cli(tmp_path, "scan", root)
    assert result.returncode == 2
    assert ".pipeline-guard-baseline.json:4: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_baseline_is_written_when_a_scanner_fails(tmp_path: Path) -> None:
    config = CONFIG.replace("[bandit, secrets]", "[bandit, broken]") + (
        "custom_scanners:\n  - name: broken\n    command: [pg-no-such-tool, '{root}']\n"
    )
    root = project(tmp_path, config)
    result = cli(tmp_path, "baseline", "create", root)
    assert result.returncode == 3
    assert "not written" in result.stderr
    assert not (root / ".pipeline-guard-baseline.json").exists()
