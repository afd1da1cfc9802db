"""JSON reporter: the documented schema, round-trips, and reading findings back."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pipeline_guard.fsutil import atomic_write_text
from pipeline_guard.model import (
    Category,
    Finding,
    Location,
    Package,
    ScannerError,
    ScannerRun,
    ScanReport,
    Severity,
    Source,
    Suppression,
    Verdict,
)
from pipeline_guard.reporters import json_report
from pipeline_guard.reporters.json_report import ReportFormatError, load_findings

SCHEMAS = Path(json_report.__file__).resolve().parents[1] / "schemas"

# Every optional field set.
FULL = Finding(
    scanner="osv",
    category=Category.SCA,
    rule_id="GHSA-m2qf-hxjv-5gpq",
    title="Flask vulnerable to possible disclosure of permanent session cookie",
    message="flask 2.0.1 is affected by GHSA-m2qf-hxjv-5gpq.",
    severity=Severity.HIGH,
    location=Location("requirements.txt", 4, 4, 1, 13, "flask==2.0.1"),
    confidence="high",
    package=Package(
        "PyPI",
        "flask",
        "2.0.1",
        ("2.2.5", "2.3.2"),
        "requirements.txt",
        "sha256:" + "a" * 64,
        "pkg:pypi/flask@2.0.1",
    ),
    advisories=("GHSA-m2qf-hxjv-5gpq", "CVE-2023-30861"),
    cwes=("CWE-539",),
    help_url="https://osv.dev/vulnerability/GHSA-m2qf-hxjv-5gpq",
    tags=("web",),
    cvss_score=7.5,
    cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    fingerprint="1" * 64,
    sources=(Source("osv", "GHSA-m2qf-hxjv-5gpq", 4), Source("pip-audit", "PYSEC-2023-62", None)),
    suppression=Suppression(
        "external", "not reachable", "pipeline-guard.yml:12", "@sec-team", "2026-01-31"
    ),
    baseline_state="unchanged",
)
SHELL = Finding(
    scanner="bandit",
    category=Category.SAST,
    rule_id="B602",
    title="subprocess_popen_with_shell_equals_true",
    message="subprocess call with shell=True identified, security issue.",
    severity=Severity.HIGH,
    location=Location("src/app.py", 12),
    cwes=("CWE-78",),
    fingerprint="2" * 64,
    baseline_state="new",
)
KEY = Finding(
    scanner="secrets",
    category=Category.SECRET,
    rule_id="aws-access-key-id",
    title="AWS access key id",
    message="AWS access key id in settings.py",
    severity=Severity.CRITICAL,
    location=Location("settings.py", 3, snippet="AWS_KEY = 'AKIA****************'"),
    fingerprint="3" * 64,
    baseline_state="new",
)
ASSERT = Finding(
    scanner="bandit",
    category=Category.SAST,
    rule_id="B101",
    title="assert_used",
    message="Use of assert detected.",
    severity=Severity.LOW,
    location=Location("src/util.py", 40),
    fingerprint="4" * 64,
    baseline_state="unchanged",
)


def make_report() -> ScanReport:
    runs = (
        ScannerRun(
            "bandit", Category.SAST, "1.9.4", findings=(SHELL, ASSERT), duration=0.81234, targets=7
        ),
        ScannerRun(
            "osv",
            Category.SCA,
            "0.1.0",
            findings=(FULL,),
            duration=0.2,
            targets=1,
            notes=("requirements.txt:9 django>=4 not checked: unpinned",),
        ),
        ScannerRun(
            "secrets",
            Category.SECRET,
            "0.1.0",
            findings=(KEY,),
            duration=0.1,
            targets=7,
            redact=("AKIAIOSFODNN7EXAMPLE",),
        ),
        ScannerRun(
            "checkov",
            Category.IAC,
            None,
            duration=0.0,
            errors=(ScannerError("checkov", "missing", "checkov is not installed"),),
        ),
    )
    return ScanReport(
        root="/work/repo",
        stage="pr",
        findings=(ASSERT, FULL, SHELL, KEY),
        runs=runs,
        verdict=Verdict("pr", False, 3, ("2 new findings at high or above", "checkov failed")),
        started_at="2025-05-01T10:00:00Z",
        duration=4.56789,
        tool_version="0.1.0",
        notes=("vulnerability database is 9 days old",),
        commit="0123456789abcdef0123456789abcdef01234567",
    )


def test_document_matches_schema_and_content() -> None:
    doc = json.loads(json_report.render(make_report()))
    json_report.report_validator().validate(doc)
    assert doc["schema"] == "urn:pipeline-guard:report:v1"
    assert doc["tool"] == {"name": "pipeline-guard", "version": "0.1.0"}
    assert (doc["stage"], doc["root"], doc["duration"]) == ("pr", "/work/repo", 4.568)
    assert doc["verdict"] == {
        "passed": False,
        "exit_code": 3,
        "reasons": ["2 new findings at high or above", "checkov failed"],
    }
    # most severe first, new before unchanged at the same severity
    assert [f["rule_id"] for f in doc["findings"]] == [
        "aws-access-key-id",
        "B602",
        "GHSA-m2qf-hxjv-5gpq",
        "B101",
    ]
    assert doc["notes"] == ["vulnerability database is 9 days old"]


def test_summary_counts_active_findings() -> None:
    summary = json.loads(json_report.render(make_report()))["summary"]
    assert summary["total"] == 4
    assert summary["active"] == 3
    assert summary["suppressed"] == 1
    assert summary["new"] == 2
    assert summary["by_severity"] == {"critical": 1, "high": 1, "medium": 0, "low": 1, "info": 0}
    assert summary["by_category"] == {"sast": 2, "sca": 0, "image": 0, "iac": 0, "secret": 1}
    assert summary["by_category_severity"]["sast"] == {
        "critical": 0,
        "high": 1,
        "medium": 0,
        "low": 1,
        "info": 0,
    }


def test_scanner_entries() -> None:
    scanners = json.loads(json_report.render(make_report()))["scanners"]
    assert [s["name"] for s in scanners] == ["bandit", "checkov", "osv", "secrets"]
    bandit, checkov, osv, secrets = scanners
    assert bandit == {
        "name": "bandit",
        "category": "sast",
        "version": "1.9.4",
        "duration": 0.812,
        "targets": 7,
        "failed": False,
        "errors": [],
        "notes": [],
        "findings": 2,
        "reported": 2,
    }
    assert checkov["failed"] is True and checkov["version"] is None
    assert checkov["errors"] == [
        {"kind": "missing", "message": "checkov is not installed", "detail": ""}
    ]
    assert osv["notes"] == ["requirements.txt:9 django>=4 not checked: unpinned"]
    assert "redact" not in secrets and "AKIAIOSFODNN7EXAMPLE" not in json.dumps(scanners)


def test_finding_round_trips_with_every_field_set() -> None:
    assert all(getattr(FULL, f.name) not in (None, (), "") for f in dataclasses.fields(FULL))
    data = json.loads(json.dumps(FULL.to_dict()))
    json_report.finding_validator().validate(data)
    assert Finding.from_dict(data) == FULL
    minimal = Finding("bandit", Category.SAST, "B101", "t", "m", Severity.INFO, Location("a.py"))
    data = json.loads(json.dumps(minimal.to_dict()))
    json_report.finding_validator().validate(data)
    assert Finding.from_dict(data) == minimal


def test_load_findings_reads_a_written_report_back(tmp_path: Path) -> None:
    path = tmp_path / f"pipeline-guard{json_report.EXTENSION}"
    atomic_write_text(path, json_report.render(make_report()))
    loaded = load_findings(path)
    assert loaded == [KEY, SHELL, FULL, ASSERT]


def test_load_findings_reads_a_bare_array(tmp_path: Path) -> None:
    path = tmp_path / "findings.json"
    path.write_text(json.dumps([SHELL.to_dict(), FULL.to_dict()]), encoding="utf-8")
    assert load_findings(path) == [SHELL, FULL]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{"schema": "urn:pipeline-guard:report:v1",\n "findings": [}',
            r"findings\.json:2:15: not valid JSON: Expecting value",
        ),
        ('{"schema": "urn:other:v9", "findings": []}', "unsupported report format 'urn:other:v9'"),
        ('{"hello": 1}', "expected a pipeline-guard JSON report or a JSON array of findings"),
    ],
)
def test_load_findings_rejects_bad_files(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "findings.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReportFormatError, match=expected):
        load_findings(path)


def test_load_findings_names_the_invalid_field(tmp_path: Path) -> None:
    doc = json.loads(json_report.render(make_report()))
    doc["findings"][1]["severity"] = "urgent"
    path = tmp_path / "report.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ReportFormatError) as err:
        load_findings(path)
    assert str(err.value).startswith(f"{path}: at .findings[1].severity: 'urgent' is not one of")
    missing = tmp_path / "nope.json"
    with pytest.raises(ReportFormatError, match=r"nope\.json: cannot read"):
        load_findings(missing)


def test_raw_secrets_are_scrubbed_as_a_last_defence() -> None:
    rep = make_report()
    leaky = dataclasses.replace(KEY, message="key AKIAIOSFODNN7EXAMPLE found")
    rep = dataclasses.replace(rep, findings=(leaky,), notes=("saw AKIAIOSFODNN7EXAMPLE",))
    text = json_report.render(rep)
    assert "AKIAIOSFODNN7EXAMPLE" not in text
    doc = json.loads(text)
    assert doc["findings"][0]["message"] == "key AKIA**************** found"
    assert doc["notes"] == ["saw AKIA****************"]
    assert doc["findings"][0]["category"] == "secret"  # enums untouched by the scrub


def _described(schema: Any, where: str) -> list[str]:
    """Paths of properties without a description, walking the whole schema."""
    missing = []
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            if "description" not in sub and "$ref" not in sub:
                missing.append(f"{where}.{name}")
        for key, sub in schema.items():
            missing += _described(sub, f"{where}.{key}")
    elif isinstance(schema, list):
        for i, sub in enumerate(schema):
            missing += _described(sub, f"{where}[{i}]")
    return missing


@pytest.mark.parametrize("name", ["finding.schema.json", "report.schema.json"])
def test_schemas_are_valid_and_every_field_is_described(name: str) -> None:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert _described(schema, name) == []
