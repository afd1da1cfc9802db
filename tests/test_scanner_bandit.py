"""The bandit adapter, run for real on a small fixture project."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_guard.model import Finding, ScannerRun, Severity
from pipeline_guard.scanner import ScanContext, ScanFailure
from pipeline_guard.scanners import bandit as bandit_module
from pipeline_guard.scanners.bandit import BanditScanner, parse_report

pytestmark = pytest.mark.xdist_group("bandit")

ROOT = Path(__file__).parent / "fixtures" / "bandit"
FILES = (
    "app/README.txt",
    "app/runner.py",
    "broken/latin1.py",
    "broken/syntax_error.py",
)
RUNNER = "app/runner.py"


def scan(options: dict[str, object] | None = None, files: tuple[str, ...] = FILES) -> ScannerRun:
    return BanditScanner(options).scan(ScanContext(root=ROOT, files=files))


def find(run: ScannerRun, rule: str) -> Finding:
    matches = [f for f in run.findings if f.rule_id == rule]
    assert len(matches) == 1, f"{rule}: {len(matches)} findings"
    return matches[0]


@pytest.fixture(scope="module")
def default_run() -> ScannerRun:
    return scan()


def test_shell_true_is_b602_high_cwe78(default_run: ScannerRun) -> None:
    finding = find(default_run, "B602")
    assert finding.location.path == RUNNER
    assert (finding.location.start_line, finding.location.end_line) == (11, 11)
    assert (finding.location.start_column, finding.location.end_column) == (12, 48)
    assert finding.severity == Severity.HIGH
    assert finding.confidence == "high"
    assert finding.cwes == ("CWE-78",)
    assert finding.title == "subprocess_popen_with_shell_equals_true"
    assert finding.message == "subprocess call with shell=True identified, security issue."
    assert finding.help_url is not None and "b602" in finding.help_url
    assert finding.category.value == "sast" and finding.scanner == "bandit"
    assert finding.fingerprint == "" and finding.sources == ()


@pytest.mark.parametrize(
    ("rule", "line", "severity", "confidence", "cwe"),
    [
        ("B404", 3, Severity.LOW, "high", "CWE-78"),
        ("B105", 7, Severity.LOW, "medium", "CWE-259"),
        ("B106", 15, Severity.LOW, "medium", "CWE-259"),
        ("B506", 19, Severity.MEDIUM, "high", "CWE-20"),
        ("B324", 23, Severity.HIGH, "high", "CWE-327"),
        ("B101", 27, Severity.LOW, "high", "CWE-703"),
    ],
)
def test_other_issues_on_their_lines(
    default_run: ScannerRun, rule: str, line: int, severity: Severity, confidence: str, cwe: str
) -> None:
    finding = find(default_run, rule)
    assert (finding.location.path, finding.location.start_line) == (RUNNER, line)
    assert finding.severity == severity
    assert finding.confidence == confidence
    assert finding.cwes == (cwe,)


def test_exactly_the_expected_findings(default_run: ScannerRun) -> None:
    assert sorted(f.rule_id for f in default_run.findings) == [
        "B101",
        "B105",
        "B106",
        "B324",
        "B404",
        "B506",
        "B602",
    ]
    assert default_run.errors == ()
    assert default_run.targets == 3  # README.txt is not Python
    assert default_run.tool_version is not None and default_run.tool_version.startswith("1.")


def test_unparseable_files_are_notes_not_silence(default_run: ScannerRun) -> None:
    assert list(default_run.notes) == [
        "bandit could not scan broken/latin1.py: syntax error while parsing AST from file; "
        "it was not checked",
        "bandit could not scan broken/syntax_error.py: syntax error while parsing AST from file; "
        "it was not checked",
    ]


def test_skip_confidence_and_severity_options() -> None:
    run = scan({"skip": ["B101", "B404"], "confidence": "high", "severity": {"B602": "critical"}})
    # B105/B106 have medium confidence: below the "high" minimum
    assert sorted(f.rule_id for f in run.findings) == ["B324", "B506", "B602"]
    assert find(run, "B602").severity == Severity.CRITICAL
    assert find(run, "B324").severity == Severity.HIGH


def test_results_from_several_chunks_are_merged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bandit_module, "ARGV_BUDGET", 1)  # one bandit run per file
    run = scan(files=("app/runner.py", "broken/syntax_error.py"))
    assert len(run.findings) == 7
    assert [n.split(":")[0] for n in run.notes] == ["bandit could not scan broken/syntax_error.py"]


def test_files_in_dirs_bandit_excludes_by_default_are_scanned(tmp_path: Path) -> None:
    (tmp_path / ".tox").mkdir()
    (tmp_path / ".tox" / "hook.py").write_text("import os\nos.system(input())\n")
    run = BanditScanner().scan(ScanContext(root=tmp_path, files=(".tox/hook.py",)))
    assert [(f.rule_id, f.location.path, f.location.start_line) for f in run.findings] == [
        ("B605", ".tox/hook.py", 2)
    ]


def test_bad_confidence_is_a_config_error() -> None:
    run = scan({"confidence": "certain"})
    assert [e.kind for e in run.errors] == ["config"]
    assert run.findings == ()


def test_non_python_tree_does_not_apply() -> None:
    ctx = ScanContext(root=ROOT, files=("app/README.txt",))
    assert not BanditScanner().applies(ctx)
    assert BanditScanner().applies(ScanContext(root=ROOT, files=FILES))


def test_unparseable_output_is_a_parse_failure() -> None:
    for stdout in ("", "Traceback (most recent call last):", '{"errors": []}'):
        with pytest.raises(ScanFailure) as info:
            parse_report(stdout)
        assert info.value.kind == "parse"
