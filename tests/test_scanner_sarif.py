"""SARIF ingest and the generic SARIF command adapter, on real documents and real commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pipeline_guard.model import Category, Finding, ScannerRun, Severity
from pipeline_guard.sarif_ingest import (
    IngestResult,
    ingest_sarif,
    parse_sarif,
)
from pipeline_guard.scanner import ScanContext, ScanFailure, run_tool
from pipeline_guard.scanners.sarif import SarifCommandScanner, validate_options
from pipeline_guard.severity_scale import SEVERITY_FOR_SARIF_LEVEL, severity_from_score

FIXTURES = Path(__file__).parent / "fixtures" / "sarif"
CODEQL = FIXTURES / "codeql.sarif"
BANDIT_PROJECT = FIXTURES / "bandit-project"
SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "sarif-schema-2.1.0.json"


def ingest(doc: dict[str, Any], root: Path, category: Category = Category.SAST) -> IngestResult:
    return ingest_sarif(doc, ctx=ScanContext(root=root, files=()), scanner="t", category=category)


def summary(findings: list[Finding] | tuple[Finding, ...]) -> list[tuple[Any, ...]]:
    return [
        (f.rule_id, f.location.path, f.location.start_line, f.severity, f.cwes) for f in findings
    ]


# --- a CodeQL-shaped document ----------------------------------------------------------------


def test_codeql_fixture_is_valid_sarif() -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft4Validator(schema)
    assert list(validator.iter_errors(json.loads(CODEQL.read_text()))) == []
    broken = json.loads(CODEQL.read_text())
    broken["runs"][0]["results"][0]["level"] = "fatal"
    assert not validator.is_valid(broken)  # the schema check has teeth


@pytest.fixture(scope="module")
def codeql(tmp_path_factory: pytest.TempPathFactory) -> IngestResult:
    root = tmp_path_factory.mktemp("codeql")
    return ingest(parse_sarif(CODEQL.read_text()), root)


def test_codeql_results_rules_and_severities(codeql: IngestResult) -> None:
    assert summary(codeql.findings) == [
        ("py/command-line-injection", "app/views.py", 14, Severity.CRITICAL, ("CWE-78", "CWE-88")),
        ("py/sql-injection", "app/db utils/queries.py", 31, Severity.HIGH, ("CWE-89",)),
        ("py/stack-trace-exposure", "app/views.py", 40, Severity.MEDIUM, ("CWE-209", "CWE-497")),
        (
            "py/weak-sensitive-data-hashing",
            "app/auth.py",
            8,
            Severity.HIGH,
            ("CWE-327", "CWE-328", "CWE-916"),
        ),
        ("py/unused-import", "app/auth.py", 1, Severity.LOW, ()),
    ]
    assert codeql.notes == [] and codeql.redact == []


def test_codeql_titles_messages_and_metadata(codeql: IngestResult) -> None:
    cmd, sql, trace, weak, unused = codeql.findings
    assert cmd.title == "Uncontrolled command line"
    assert cmd.message == "This command line depends on a [user-provided value](1)."
    assert (
        cmd.help_url
        == "https://codeql.github.com/codeql-query-help/python/py-command-line-injection/"
    )
    assert cmd.confidence == "high"
    assert cmd.tags == ("correctness", "security")
    assert (cmd.location.start_column, cmd.location.end_column) == (20, 27)
    assert cmd.location.end_line == 14 and cmd.location.snippet is None
    assert (cmd.scanner, cmd.category, cmd.fingerprint, cmd.sources) == ("t", Category.SAST, "", ())
    assert weak.message == "MD5 is used on a password, which is sensitive data."
    assert trace.tags == ("security", "suppressed-by-tool")
    assert "suppressed-by-tool" not in sql.tags
    assert unused.confidence == "high"  # precision very-high
    assert unused.tags == ("maintainability", "useless-code")


def test_severity_overrides_win(tmp_path: Path) -> None:
    result = ingest_sarif(
        parse_sarif(CODEQL.read_text()),
        ctx=ScanContext(root=tmp_path, files=()),
        scanner="codeql",
        category=Category.SAST,
        severity_overrides={"py/unused-import": Severity.INFO, "py/sql-injection": Severity.LOW},
    )
    by_rule = {f.rule_id: f.severity for f in result.findings}
    assert by_rule["py/unused-import"] is Severity.INFO
    assert by_rule["py/sql-injection"] is Severity.LOW
    assert by_rule["py/command-line-injection"] is Severity.CRITICAL


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (10.0, Severity.CRITICAL),
        (9.0, Severity.CRITICAL),
        (8.9, Severity.HIGH),
        (7.0, Severity.HIGH),
        (6.9, Severity.MEDIUM),
        (4.0, Severity.MEDIUM),
        (3.9, Severity.LOW),
        (0.1, Severity.LOW),
        (0.0, Severity.INFO),
    ],
)
def test_security_severity_bands(score: float, severity: Severity) -> None:
    assert severity_from_score(score) is severity


def test_level_table() -> None:
    assert dict(SEVERITY_FOR_SARIF_LEVEL) == {
        "error": Severity.HIGH,
        "warning": Severity.MEDIUM,
        "note": Severity.LOW,
        "none": Severity.INFO,
    }


def doc_with(results: list[dict[str, Any]], **run: Any) -> dict[str, Any]:
    rules = [
        {"id": "r1", "shortDescription": {"text": "Rule one"}, "properties": {"tags": ["CWE-79"]}},
        {"id": "r2", "defaultConfiguration": {"level": "note"}},
    ]
    return {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "demo", "rules": rules}}, "results": results, **run}],
    }


def result(uri: str, line: int = 1, **extra: Any) -> dict[str, Any]:
    loc = {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}}}
    return {"ruleId": "r1", "message": {"text": "m"}, "locations": [loc], **extra}


def test_uri_forms_resolve_to_root_relative_paths(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    base = root.as_uri() + "/"
    doc = doc_with(
        [
            result(f"{base}src/a.py", 1),
            result("b.py", 2, locations=None) | {"locations": [_loc("b.py", "SRC")]},
            result("c.py", 3) | {"locations": [_loc("c.py", "PKG")]},
            result("src/d%20e.py", 4) | {"locations": [_loc("src/d%20e.py", "%SRCROOT%")]},
            result("./f.py", 5),
            result("file:///elsewhere/g.py", 6),
            result("x", 7)
            | {"locations": [{"physicalLocation": {"artifactLocation": {"index": 0}}}]},
            {"ruleId": "r1", "message": {"text": "no location"}},
        ],
        originalUriBaseIds={
            "SRC": {"uri": base + "src/"},
            "PKG": {"uri": "pkg/", "uriBaseId": "SRC"},
        },
        artifacts=[{"location": {"uri": "lib/h.py", "uriBaseId": "%SRCROOT%"}}],
    )
    paths = [f.location.path for f in ingest(doc, root).findings]
    assert paths == [
        "src/a.py",
        "src/b.py",
        "src/pkg/c.py",
        "src/d e.py",
        "f.py",
        "/elsewhere/g.py",
        "lib/h.py",
        ".",
    ]


def _loc(uri: str, base: str) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": base}}}


def test_rule_lookup_by_id_level_defaults_and_message_fallback(tmp_path: Path) -> None:
    doc = doc_with(
        [
            {"ruleId": "r2", "message": {"text": "by id"}},
            {"ruleId": "r1/sub", "message": {"text": "child of r1"}},
            {"ruleIndex": 0, "message": {}},
            {"ruleId": "other", "level": "none", "message": {"text": "no rule"}},
            {
                "ruleId": "r1",
                "message": {"text": "scored"},
                "properties": {"security-severity": 9.1},
            },
        ]
    )
    found = ingest(doc, tmp_path).findings
    assert [(f.rule_id, f.severity, f.title, f.message, f.cwes) for f in found] == [
        ("r2", Severity.LOW, "r2", "by id", ()),
        ("r1/sub", Severity.MEDIUM, "Rule one", "child of r1", ("CWE-79",)),
        ("r1", Severity.MEDIUM, "Rule one", "Rule one", ("CWE-79",)),
        ("other", Severity.INFO, "other", "no rule", ()),
        ("r1", Severity.CRITICAL, "Rule one", "scored", ("CWE-79",)),
    ]


def test_gone_and_passing_results_are_not_findings(tmp_path: Path) -> None:
    doc = doc_with(
        [
            result("a.py", 1, kind="pass"),
            result("a.py", 2, kind="notApplicable"),
            result("a.py", 3, baselineState="absent"),
            result("a.py", 4, kind="fail", baselineState="new"),
        ]
    )
    assert [f.location.start_line for f in ingest(doc, tmp_path).findings] == [4]


def test_secret_category_masks_the_tools_snippet(tmp_path: Path) -> None:
    token = "ghp_" + "Zq81mXw7Lp3vNc5TkR2sYb6HdJ4fGa9WeQ0u"
    (tmp_path / "ci.sh").write_text(f"echo start\nexport GH={token} # deploy\n")
    doc = doc_with(
        [
            result("ci.sh", 2, message={"text": f"github-pat {token} found"})
            | {
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": "ci.sh"},
                            "region": {"startLine": 2, "snippet": {"text": token}},
                        }
                    }
                ]
            },
            result("ci.sh", 1),
        ]
    )
    out = ingest(doc, tmp_path, Category.SECRET)
    first, second = out.findings
    assert first.location.snippet == "export GH=ghp_**************** # deploy"
    assert first.message == "github-pat ghp_**************** found"
    assert second.location.snippet == "[line not shown: reported as a secret]"
    assert out.redact == [token]


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("", "parse", "the SARIF output is empty"),
        ("not json {", "parse", "the SARIF output is not JSON (line 1 column 1: Expecting value)"),
        ("[]", "parse", "expected a JSON object, got array"),
        ('{"version": "2.1.0"}', "parse", "'runs' must be a non-empty array, got missing"),
        ('{"version": "2.1.0", "runs": []}', "parse", "'runs' must be a non-empty array"),
        ('{"version": "1.0.0", "runs": [{}]}', "parse", "version is '1.0.0', expected SARIF"),
        ('{"version": "2.1.0", "runs": [{}]}', "parse", "runs[0].tool is missing"),
        (
            '{"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}',
            "parse",
            "runs[0] has no 'results' array",
        ),
        (
            '{"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": {}}]}',
            "parse",
            "runs[0].results: expected an array, got object",
        ),
        (
            json.dumps(
                doc_with(
                    [
                        result("a.py")
                        | {
                            "locations": [
                                {
                                    "physicalLocation": {
                                        "artifactLocation": {"uri": "a.py"},
                                        "region": {"startLine": "3"},
                                    }
                                }
                            ]
                        }
                    ]
                )
            ),
            "parse",
            "runs[0].results[0].locations[0].physicalLocation.region.startLine: expected "
            "integer, got string",
        ),
        (
            json.dumps(doc_with([{"ruleIndex": 5, "message": {"text": "m"}}])),
            "parse",
            "runs[0].results[0]: ruleIndex 5 is out of range (2 rules)",
        ),
        (
            json.dumps(doc_with([result("a.py", properties={"security-severity": "high"})])),
            "parse",
            "runs[0].results[0].properties.security-severity: 'high' is not a number",
        ),
        (
            json.dumps(doc_with([result("a.py", level="fatal")])),
            "parse",
            "runs[0].results[0].level: 'fatal' is not one of error, warning, note, none",
        ),
        (
            json.dumps(
                doc_with(
                    [],
                    invocations=[
                        {
                            "executionSuccessful": False,
                            "toolExecutionNotifications": [
                                {"level": "error", "message": {"text": "out of memory"}}
                            ],
                        }
                    ],
                )
            ),
            "crash",
            "demo reported that its run failed",
        ),
    ],
)
def test_malformed_sarif_is_a_clear_failure(
    tmp_path: Path, text: str, kind: str, message: str
) -> None:
    with pytest.raises(ScanFailure) as info:
        ingest(parse_sarif(text), tmp_path)
    assert info.value.kind == kind
    assert message in info.value.message


# --- bandit's own SARIF ----------------------------------------------------------------------


def test_bandit_sarif_output_is_ingested() -> None:
    tool = run_tool(
        ["bandit", "-f", "sarif", "-q", "-r", "."], timeout=120, cwd=BANDIT_PROJECT, ok_codes=(1,)
    )
    out = ingest(parse_sarif(tool.stdout), BANDIT_PROJECT)
    assert summary(out.findings) == [
        ("B404", "app.py", 3, Severity.LOW, ("CWE-78",)),
        ("B602", "app.py", 7, Severity.HIGH, ("CWE-78",)),
        ("B324", "app.py", 13, Severity.HIGH, ("CWE-327",)),
    ]
    b602 = out.findings[1]
    assert b602.title == "subprocess_popen_with_shell_equals_true"
    assert b602.message == "subprocess call with shell=True identified, security issue."
    assert b602.confidence == "high"
    assert b602.location.snippet == "    return subprocess.call(command, shell=True)"
    assert (b602.help_url or "").startswith("https://bandit.readthedocs.io/")
    assert out.notes == ["Bandit: broken.py: syntax error while parsing AST from file"]


# --- the command adapter -----------------------------------------------------------------------

FAKE_TOOL = r"""
import json, sys, time
mode, args = sys.argv[1], sys.argv[2:]
def sarif(files):
    results = [{"ruleId": "seen", "level": "warning", "message": {"text": "argv " + f},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": f},
                               "region": {"startLine": 1}}}]} for f in files]
    return json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "fake",
        "rules": [{"id": "seen", "properties": {"tags": ["external/cwe/cwe-20"]}}]}},
        "results": results}]})
if mode == "stdout":
    print(sarif(args))
elif mode == "file":
    open(args[0], "w").write(sarif(args[1:]))
    sys.exit(1)
elif mode == "garbage":
    print("Traceback? no: just some text")
elif mode == "crash":
    print("fatal: cannot load rules from /etc/fake.yml", file=sys.stderr)
    sys.exit(3)
elif mode == "sleep":
    time.sleep(60)
elif mode == "silent":
    pass
elif mode == "version":
    print("fake-scanner 4.2.0 (build 77)")
"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, tuple[str, ...], Path]:
    root = tmp_path / "proj"
    files = ("src/app.py", "-rf.py", "web/index.js", "README.md")
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x = 1\n")
    tool = tmp_path / "fake_tool.py"
    tool.write_text(FAKE_TOOL)
    return root, files, tool


def run_scanner(
    project: tuple[Path, tuple[str, ...], Path], mode: str, **options: Any
) -> tuple[SarifCommandScanner, ScannerRun]:
    root, files, tool = project
    opts = {"name": "fake", "command": [sys.executable, str(tool), mode, "{files}"], **options}
    scanner = SarifCommandScanner(opts)
    work = root.parent / "work"
    return scanner, scanner.scan(ScanContext(root=root, files=files, work_dir=work))


def test_stdout_sarif_with_files_placeholder(project: tuple[Path, tuple[str, ...], Path]) -> None:
    scanner, run = run_scanner(project, "stdout", file_patterns=["*.py"], category="sast")
    assert run.errors == ()
    assert scanner.name == "fake" and run.scanner == "fake"
    # one argv item per matching file; a name like an option gets "./"
    assert [f.message for f in run.findings] == ["argv src/app.py", "argv ./-rf.py"]
    assert summary(run.findings) == [
        ("seen", "src/app.py", 1, Severity.MEDIUM, ("CWE-20",)),
        ("seen", "-rf.py", 1, Severity.MEDIUM, ("CWE-20",)),
    ]
    assert run.targets == 2 and run.tool_version == "unknown"


def test_output_file_placeholder_and_version_command(
    project: tuple[Path, tuple[str, ...], Path],
) -> None:
    root, _files, tool = project
    _scanner, run = run_scanner(
        project,
        "file",
        command=[sys.executable, str(tool), "file", "{output}", "{root}/README.md"],
        output="{output}",
        category="iac",
        version_command=[sys.executable, str(tool), "version"],
        severity={"seen": "critical"},
    )
    assert run.errors == ()
    assert summary(run.findings) == [("seen", "README.md", 1, Severity.CRITICAL, ("CWE-20",))]
    assert run.findings[0].category is Category.IAC
    assert run.tool_version == "fake-scanner 4.2.0 (build 77)"
    assert list((root.parent / "work").iterdir()) == []  # the temp SARIF is gone


def test_restricted_scan_keeps_findings_in_scope(
    project: tuple[Path, tuple[str, ...], Path],
) -> None:
    root, files, tool = project
    scanner = SarifCommandScanner(
        {"name": "fake", "command": [sys.executable, str(tool), "stdout", *files]}
    )
    ctx = ScanContext(root=root, files=("web/index.js",), restricted=True, work_dir=root.parent)
    run = scanner.scan(ctx)
    assert run.errors == ()
    assert [f.location.path for f in run.findings] == ["web/index.js"]
    assert run.notes == ("fake: 3 finding(s) in files outside this scan's scope were left out",)


def test_file_patterns_decide_applies(project: tuple[Path, tuple[str, ...], Path]) -> None:
    root, files, _tool = project
    ctx = ScanContext(root=root, files=files)
    base = {"name": "x", "command": ["x"]}
    assert SarifCommandScanner(base).applies(ctx)
    assert SarifCommandScanner({**base, "file_patterns": ["web/**/*.js"]}).applies(ctx)
    assert SarifCommandScanner({**base, "file_patterns": ["src/*.py"]}).targets(ctx) == 1
    assert SarifCommandScanner({**base, "file_patterns": ["*.py"]}).targets(ctx) == 2
    assert not SarifCommandScanner({**base, "file_patterns": ["*.tf", "infra/**"]}).applies(ctx)


def test_garbage_output_is_a_parse_error(project: tuple[Path, tuple[str, ...], Path]) -> None:
    _, run = run_scanner(project, "garbage")
    assert [(e.kind, e.scanner) for e in run.errors] == [("parse", "fake")]
    assert run.errors[0].message.startswith("fake's output is not JSON (line 1 column 1")
    assert "just some text" in run.errors[0].detail
    assert run.findings == ()


def test_exit_code_outside_ok_codes_is_a_crash(project: tuple[Path, tuple[str, ...], Path]) -> None:
    _, run = run_scanner(project, "crash")
    assert [e.kind for e in run.errors] == ["crash"]
    assert "exited with code 3" in run.errors[0].message
    assert "cannot load rules from /etc/fake.yml" in run.errors[0].detail
    _, run = run_scanner(project, "crash", ok_exit_codes=[0, 3])
    assert [e.kind for e in run.errors] == ["parse"]  # accepted exit, but no SARIF


def test_timeout(project: tuple[Path, tuple[str, ...], Path]) -> None:
    _, run = run_scanner(project, "sleep", timeout=1)
    assert [e.kind for e in run.errors] == ["timeout"]
    assert run.errors[0].message.endswith("did not finish within 1s")


def test_missing_binary(project: tuple[Path, tuple[str, ...], Path]) -> None:
    scanner, run = run_scanner(project, "x", command=["pg-no-such-scanner-tool", "{root}"])
    assert [e.kind for e in run.errors] == ["missing"]
    assert "pg-no-such-scanner-tool is not installed" in run.errors[0].message
    assert scanner.version() is None and not scanner.installed()


def test_no_sarif_file_written(project: tuple[Path, tuple[str, ...], Path]) -> None:
    _root, _files, tool = project
    _, run = run_scanner(
        project,
        "silent",
        command=[sys.executable, str(tool), "silent", "{output}"],
        output="{output}",
    )
    assert [e.kind for e in run.errors] == ["parse"]
    assert "fake exited with code 0 but wrote no SARIF to" in run.errors[0].message


def test_no_matching_files_means_no_run(project: tuple[Path, tuple[str, ...], Path]) -> None:
    _scanner, run = run_scanner(project, "crash", file_patterns=["*.tf"])
    assert run.errors == () and run.findings == ()
    assert run.notes == ("fake: no files match ['*.tf']",)


def test_long_file_lists_run_in_batches(
    project: tuple[Path, tuple[str, ...], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline_guard.scanners import sarif as sarif_module

    monkeypatch.setattr(sarif_module, "ARGV_BUDGET", 25)  # two paths per run at most
    _, run = run_scanner(project, "stdout")
    assert run.errors == ()
    assert [f.location.path for f in run.findings] == [
        "src/app.py",
        "-rf.py",
        "web/index.js",
        "README.md",
    ]


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (
            {"name": "x", "command": ["x"], "comand": 1},
            "unknown key 'comand' (did you mean command?)",
        ),
        ({"command": ["x"]}, "name must be 1-64 letters"),
        ({"name": "x"}, "command must be a non-empty list of strings"),
        ({"name": "x", "command": "semgrep --sarif"}, "command must be a non-empty list"),
        ({"name": "x", "command": ["x", "{ouput}"]}, "unknown placeholder {ouput}"),
        ({"name": "x", "command": ["x", "--in={files}"]}, "{files} must be an item of its own"),
        ({"name": "x", "command": ["{root}/tool"]}, "the first item must be the program"),
        ({"name": "x", "command": ["x"], "output": "{output}"}, "never mentions {output}"),
        ({"name": "x", "command": ["x"], "output": "file"}, 'output must be "stdout"'),
        ({"name": "x", "command": ["x"], "category": "dast"}, "category must be one of"),
        ({"name": "x", "command": ["x"], "ok_exit_codes": ["0"]}, "ok_exit_codes must be a list"),
        ({"name": "x", "command": ["x"], "timeout": "soon"}, "timeout must be a positive number"),
        ({"name": "x", "command": ["x"], "severity": {"r": "severe"}}, "severity.r: unknown"),
        ({"name": "x", "command": ["x"], "file_patterns": "*.py"}, "file_patterns must be a list"),
    ],
)
def test_bad_entries_are_config_errors(
    tmp_path: Path, options: dict[str, Any], problem: str
) -> None:
    problems = validate_options(options)
    assert any(problem in p for p in problems), problems
    scanner = SarifCommandScanner(options)
    run = scanner.scan(ScanContext(root=tmp_path, files=("a.py",)))
    assert [e.kind for e in run.errors] == ["config"]
    assert problem in run.errors[0].message


def test_bandit_plugged_in_from_config_alone() -> None:
    scanner = SarifCommandScanner(
        {
            "name": "bandit-sarif",
            "command": ["bandit", "-f", "sarif", "-q", "{files}"],
            "file_patterns": ["*.py"],
            "version_command": ["bandit", "--version"],
            "severity": {"B404": "info"},
        }
    )
    files = ("app.py", "broken.py")
    run = scanner.scan(ScanContext(root=BANDIT_PROJECT, files=files))
    assert run.errors == ()
    assert summary(run.findings) == [
        ("B404", "app.py", 3, Severity.INFO, ("CWE-78",)),
        ("B602", "app.py", 7, Severity.HIGH, ("CWE-78",)),
        ("B324", "app.py", 13, Severity.HIGH, ("CWE-327",)),
    ]
    assert run.notes == ("Bandit: broken.py: syntax error while parsing AST from file",)
    assert (run.tool_version or "").startswith("bandit 1.9")
