"""The semgrep adapter and the bundled rule pack, run for real.

Semgrep runs cost ~2-4 s each, so the adapter runs are module-scoped fixtures
shared by several tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline_guard.model import Finding, ScannerRun, Severity
from pipeline_guard.scanner import ScanContext, ScanFailure, argv_batches
from pipeline_guard.scanners.semgrep import (
    SemgrepScanner,
    cwes_of,
    error_notes,
    help_url_of,
    load_pack,
    parse_report,
    title_of,
    user_config,
)

pytestmark = pytest.mark.xdist_group("semgrep")

REPO = Path(__file__).resolve().parents[1]
RULES_DIR = REPO / "scanners" / "rules" / "semgrep"
DOCS = REPO / "docs" / "semgrep-rules.md"
ROOT = Path(__file__).parent / "fixtures" / "semgrep" / "project"
FILES = (
    ".github/workflows/triage.yml",
    "Dockerfile",
    "README.md",
    "app/broken.py",
    "app/service.py",
    "deploy/pod.yaml",
    "rules/custom.yaml",
    "web/broken.js",
    "web/render.js",
)
SEMGREP = str(Path(sys.executable).parent / "semgrep")
SEMGREP_ENV = {**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"}


def scan(
    work_dir: Path,
    options: Mapping[str, object] | None = None,
    files: tuple[str, ...] = FILES,
    root: Path = ROOT,
) -> ScannerRun:
    ctx = ScanContext(root=root, files=files, work_dir=work_dir, restricted=files != FILES)
    return SemgrepScanner(options).scan(ctx)


def summary(run: ScannerRun) -> set[tuple[str, str, int | None, str, str]]:
    return {
        (f.rule_id, f.location.path, f.location.start_line, f.severity.label, f.cwes[0])
        for f in run.findings
    }


def find(run: ScannerRun, rule: str) -> Finding:
    matches = [f for f in run.findings if f.rule_id == rule]
    assert len(matches) == 1, f"{rule}: {len(matches)} findings"
    return matches[0]


def pack_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for path in sorted(RULES_DIR.glob("*.yaml")):
        if not path.name.endswith(".test.yaml"):
            rules.extend(yaml.safe_load(path.read_text())["rules"])
    return rules


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("semgrep-work")


@pytest.fixture(scope="module")
def default_run(work_dir: Path) -> ScannerRun:
    return scan(work_dir)


@pytest.fixture(scope="module")
def configured_run(work_dir: Path) -> ScannerRun:
    """User rules, an excluded rule, a severity override, a restricted file set."""
    options = {
        "rules": ["rules/custom.yaml"],
        "exclude_rules": ["pg.python.weak-hash"],
        "severity": {"pg.python.yaml-unsafe-load": "critical"},
    }
    # app/deleted.py: staged for deletion, listed but gone from disk
    files = ("app/deleted.py", "app/service.py", "web/render.js")
    return scan(work_dir, options, files)


# -- the rule pack -----------------------------------------------------------------


@pytest.fixture(scope="module")
def pack_test() -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [SEMGREP, "--test", "--json", "--metrics=off", "--disable-version-check", str(RULES_DIR)],
        capture_output=True,
        text=True,
        env=SEMGREP_ENV,
        timeout=300,
        check=False,
    )
    assert proc.stdout.strip(), proc.stderr[-3000:]
    return proc.returncode, json.loads(proc.stdout)


def test_semgrep_test_passes_over_the_whole_pack(pack_test: tuple[int, dict[str, Any]]) -> None:
    returncode, report = pack_test
    failed = {
        rule_id: check["matches"]
        for config in report["results"].values()
        for rule_id, check in config["checks"].items()
        if not check["passed"] or check["errors"]
    }
    assert failed == {}
    assert report["config_missing_tests"] == []
    assert report["config_with_errors"] == []
    assert returncode == 0
    tested = {rule_id for config in report["results"].values() for rule_id in config["checks"]}
    assert tested == {rule["id"] for rule in pack_rules()}


def test_every_rule_has_a_positive_test_case() -> None:
    annotated = set()
    for path in RULES_DIR.iterdir():
        if path.name.endswith(".yaml") and not path.name.endswith(".test.yaml"):
            continue
        annotated.update(re.findall(r"\bruleid: ?([\w.-]+)", path.read_text()))
    assert {rule["id"] for rule in pack_rules()} <= annotated


def test_pack_size_and_languages() -> None:
    rules = pack_rules()
    assert len(rules) >= 32
    assert len({rule["id"] for rule in rules}) == len(rules)
    languages = {lang for rule in rules for lang in rule["languages"]}
    assert languages == {"python", "javascript", "typescript", "go", "java", "dockerfile", "yaml"}
    assert load_pack().rule_ids == {rule["id"] for rule in rules}


SEMGREP_LEVEL = {
    "critical": "ERROR",
    "high": "ERROR",
    "medium": "WARNING",
    "low": "INFO",
    "info": "INFO",
}


@pytest.mark.parametrize("rule", pack_rules(), ids=lambda rule: str(rule["id"]))
def test_rule_metadata(rule: dict[str, Any]) -> None:
    assert rule["id"].startswith("pg.")
    meta = rule["metadata"]
    assert meta["category"] == "security"
    assert meta["confidence"] in {"HIGH", "MEDIUM", "LOW"}
    assert meta["cwe"] and all(re.fullmatch(r"CWE-\d+: \S.*", c) for c in meta["cwe"])
    assert meta["owasp"] and all(
        re.fullmatch(r"A(0[1-9]|10):2021 - \S.*", o) for o in meta["owasp"]
    )
    assert meta["references"] and all(r.startswith("https://") for r in meta["references"])
    ours = Severity.parse(meta["pipeline_guard"]["severity"])
    assert rule["severity"] == SEMGREP_LEVEL[ours.label]
    # the title is the message's first sentence: keep it short enough for a table
    assert 10 < len(title_of(" ".join(rule["message"].split()))) <= 100


def test_primary_cwes_match_bandit_where_both_report() -> None:
    primary = {rule["id"]: rule["metadata"]["cwe"][0].split(":")[0] for rule in pack_rules()}
    assert primary["pg.python.subprocess-shell-true"] == "CWE-78"  # bandit B602/B604
    assert primary["pg.python.os-system"] == "CWE-78"  # bandit B605
    assert primary["pg.python.weak-hash"] == "CWE-327"  # bandit B324
    assert primary["pg.python.pickle-load"] == "CWE-502"  # bandit B301
    assert primary["pg.python.sql-string-format"] == "CWE-89"  # bandit B608
    assert primary["pg.python.requests-verify-false"] == "CWE-295"  # bandit B501
    assert primary["pg.python.tempfile-mktemp"] == "CWE-377"  # bandit B306
    assert primary["pg.python.tarfile-extractall"] == "CWE-22"  # bandit B202


def test_docs_table_lists_every_rule() -> None:
    rows = {}
    for line in DOCS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0].startswith("`pg."):
            rows[cells[0].strip("`")] = cells
    rules = {rule["id"]: rule for rule in pack_rules()}
    assert set(rows) == set(rules)
    for rule_id, (_, language, severity, level, cwe, owasp, _title) in rows.items():
        meta = rules[rule_id]["metadata"]
        assert severity == meta["pipeline_guard"]["severity"], rule_id
        assert level == rules[rule_id]["severity"], rule_id
        assert cwe.split()[0] == meta["cwe"][0].split(":")[0], rule_id
        assert owasp == "; ".join(meta["owasp"]), rule_id
        assert language.split()[0].rstrip(",") == rules[rule_id]["languages"][0], rule_id


# -- the adapter on the fixture project ----------------------------------------------


def test_default_run_finds_each_issue_once(default_run: ScannerRun) -> None:
    assert default_run.errors == ()
    assert summary(default_run) == {
        ("pg.python.subprocess-shell-true", "app/service.py", 10, "high", "CWE-78"),
        ("pg.python.yaml-unsafe-load", "app/service.py", 14, "high", "CWE-502"),
        ("pg.python.weak-hash", "app/service.py", 18, "medium", "CWE-327"),
        ("pg.js.innerhtml-assignment", "web/render.js", 3, "medium", "CWE-79"),
        ("pg.dockerfile.from-latest", "Dockerfile", 1, "low", "CWE-1357"),
        ("pg.gha.script-injection", ".github/workflows/triage.yml", 11, "critical", "CWE-78"),
        ("pg.k8s.privileged-container", "deploy/pod.yaml", 10, "high", "CWE-250"),
    }
    # README.md has no pack language, so it is not handed to semgrep
    assert default_run.targets == len(FILES) - 1
    assert default_run.tool_version == dist_version("semgrep")


def test_finding_fields(default_run: ScannerRun) -> None:
    finding = find(default_run, "pg.python.subprocess-shell-true")
    assert finding.scanner == "semgrep" and finding.category.value == "sast"
    assert finding.title == "subprocess runs a non-constant command line through the shell"
    assert finding.message.startswith(finding.title + ". With shell=True")
    assert (finding.location.start_line, finding.location.end_line) == (10, 10)
    assert (finding.location.start_column, finding.location.end_column) == (
        5,
        63,
    )  # end column is exclusive, as in SARIF
    assert finding.location.snippet is None
    assert finding.cwes == ("CWE-78",)
    assert finding.confidence == "high"
    assert finding.help_url == (
        "https://docs.python.org/3/library/subprocess.html#security-considerations"
    )
    assert finding.tags == ("security", "A03:2021 - Injection")
    assert finding.fingerprint == "" and finding.sources == ()
    assert find(default_run, "pg.python.weak-hash").cwes == ("CWE-327", "CWE-328")


def test_unparseable_files_become_notes(default_run: ScannerRun) -> None:
    assert default_run.notes == (
        "app/broken.py:6: semgrep could not parse this file; it was not fully scanned",
        "web/broken.js:2: semgrep could not parse this file; it was not fully scanned",
    )
    # the os.system call on the line semgrep could not parse went unseen: hence the note
    assert not [f for f in default_run.findings if f.location.path == "app/broken.py"]


def test_user_rules_run_with_the_table_severity(configured_run: ScannerRun) -> None:
    assert configured_run.errors == ()
    finding = find(configured_run, "custom.no-print")
    assert (finding.location.path, finding.location.start_line) == ("app/service.py", 22)
    assert finding.severity == Severity.MEDIUM  # semgrep WARNING, no pipeline_guard metadata
    assert finding.cwes == ("CWE-778",)
    assert finding.title == "Use the logging module instead of print"
    assert finding.help_url == "https://docs.python.org/3/howto/logging.html"
    assert finding.confidence is None and finding.tags == ()


def test_exclude_override_and_restricted_files(configured_run: ScannerRun) -> None:
    assert summary(configured_run) == {
        ("pg.python.subprocess-shell-true", "app/service.py", 10, "high", "CWE-78"),
        ("pg.python.yaml-unsafe-load", "app/service.py", 14, "critical", "CWE-502"),
        ("custom.no-print", "app/service.py", 22, "medium", "CWE-778"),
        ("pg.js.innerhtml-assignment", "web/render.js", 3, "medium", "CWE-79"),
    }
    assert configured_run.notes == ()
    assert configured_run.targets == 2  # app/deleted.py is not on disk


def test_missing_user_rule_path_is_a_config_error(work_dir: Path) -> None:
    run = scan(work_dir, {"rules": ["rules/custom.yaml", "semgrep-rules/missing.yaml"]})
    assert run.findings == ()
    assert [(e.scanner, e.kind) for e in run.errors] == [("semgrep", "config")]
    assert "'semgrep-rules/missing.yaml' does not exist" in run.errors[0].message


@pytest.mark.parametrize(
    "config", ["auto", "p/python", "r/python.lang.security", "https://x.test/r.yml"]
)
def test_registry_configs_are_refused_offline(work_dir: Path, config: str) -> None:
    run = scan(work_dir, {"rules": [config]})
    assert [e.kind for e in run.errors] == ["config"]
    assert "needs network access" in run.errors[0].message
    assert "allow_registry: true" in run.errors[0].message


def test_registry_configs_pass_through_when_allowed() -> None:
    assert user_config(ROOT, "p/python", allow_registry=True) == "p/python"
    assert user_config(ROOT, "rules/custom.yaml", allow_registry=False) == str(
        (ROOT / "rules" / "custom.yaml").resolve()
    )


def test_invalid_user_rule_is_a_config_error(tmp_path: Path, work_dir: Path) -> None:
    (tmp_path / "app.py").write_text("import os\nos.system(cmd)\n")
    (tmp_path / "bad.yaml").write_text(
        "rules:\n  - id: bad-pattern\n    languages: [python]\n    severity: ERROR\n"
        "    message: broken\n    pattern: 'os.system('\n"
    )
    run = scan(work_dir, {"bundled_rules": False, "rules": ["bad.yaml"]}, ("app.py",), tmp_path)
    assert run.findings == ()
    assert [e.kind for e in run.errors] == ["config"]
    assert "bad-pattern" in run.errors[0].message


def test_bad_severity_option_is_a_config_error(work_dir: Path) -> None:
    run = scan(work_dir, {"severity": {"pg.python.weak-hash": "urgent"}})
    assert [e.kind for e in run.errors] == ["config"]
    assert "pg.python.weak-hash" in run.errors[0].message
    run = scan(work_dir, {"severity": ["pg.python.weak-hash"]})
    assert [e.kind for e in run.errors] == ["config"]


# -- pure parts ----------------------------------------------------------------------


def ctx_of(*files: str, root: Path = ROOT) -> ScanContext:
    return ScanContext(root=root, files=files)


def test_applies(tmp_path: Path) -> None:
    names = ("README.md", "logo.png", "main.rb", "build/Dockerfile", "app.py")
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n")
    assert SemgrepScanner().applies(ctx_of("README.md", "app.py", root=tmp_path))
    assert SemgrepScanner().applies(ctx_of("build/Dockerfile", root=tmp_path))
    assert not SemgrepScanner().applies(ctx_of("README.md", "logo.png", "main.rb", root=tmp_path))
    # listed but not on disk (a staged deletion): nothing to scan
    assert not SemgrepScanner().applies(ctx_of("gone.py", root=tmp_path))
    with_rules = SemgrepScanner({"rules": ["rules/custom.yaml"]})
    assert with_rules.applies(ctx_of("main.rb", root=tmp_path))
    assert with_rules.targets(ctx_of(*names, root=tmp_path)) == len(names)
    assert not SemgrepScanner({"bundled_rules": False}).applies(ctx_of("app.py", root=tmp_path))
    # a malformed option must surface as the scanner's error, not as "does not apply"
    assert SemgrepScanner({"rules": "rules/custom.yaml"}).applies(ctx_of("app.py", root=tmp_path))


def test_pack_suffixes_cover_every_pack_language() -> None:
    assert set(load_pack().suffixes or ()) == {
        ".py", ".pyi", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx",
        ".go", ".java", "dockerfile", ".yml", ".yaml",
    }  # fmt: skip


def test_chunks_respect_the_budget() -> None:
    files = [f"src/module_{i:04d}.py" for i in range(1000)]
    chunks = list(argv_batches(files, 4096))
    assert [name for chunk in chunks for name in chunk] == files
    assert len(chunks) == 5  # 20 bytes a name: 204 names a chunk
    assert all(sum(len(n) + 1 for n in chunk) <= 4096 for chunk in chunks)


def test_output_that_is_not_json_is_a_parse_failure() -> None:
    with pytest.raises(ScanFailure) as caught:
        parse_report("", "Traceback (most recent call last): ...")
    assert caught.value.kind == "parse"
    with pytest.raises(ScanFailure, match="no 'results' list"):
        parse_report('{"errors": []}')


def test_error_notes_cover_timeouts_and_warnings() -> None:
    errors = [
        {"level": "warn", "type": "Timeout", "path": "src/huge.js", "message": "Timeout"},
        {"level": "warn", "type": "Lexical error", "path": "./a.py", "message": "at line a.py:7:"},
        {"level": "warn", "type": "SemgrepError", "message": "something odd\nmore"},
        {"level": "error", "type": "Rule parse error", "message": "handled elsewhere"},
    ]
    assert error_notes(ctx_of(), errors) == [
        "src/huge.js: semgrep Timeout; it was not fully scanned",
        "a.py:7: semgrep could not parse this file; it was not fully scanned",
        "semgrep warning: SemgrepError: something odd",
    ]


def test_metadata_helpers() -> None:
    assert cwes_of("CWE-22: Path Traversal") == ("CWE-22",)
    assert cwes_of(["CWE-78: a", "cwe-78: again", "CWE-94: b"]) == ("CWE-78", "CWE-94")
    assert cwes_of(None) == ()
    assert help_url_of({"source": "https://semgrep.dev/r/x", "references": []}) == (
        "https://semgrep.dev/r/x"
    )
    assert help_url_of({"references": "see docs"}) is None
    assert title_of("Short. Long explanation.") == "Short"
    assert title_of("No full stop") == "No full stop"
