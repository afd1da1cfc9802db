"""GitLab code-quality JSON: fields GitLab reads, severities, unique fingerprints."""

from __future__ import annotations

import json

from report_samples import blocked_report, finding, report

from pipeline_guard.model import Package, Severity
from pipeline_guard.reporters import gitlab

REQUIRED = {"description", "check_name", "fingerprint", "severity", "location"}


def test_active_findings_most_severe_first_with_required_fields() -> None:
    issues = json.loads(gitlab.render(blocked_report()))
    assert [(i["check_name"], i["severity"]) for i in issues] == [
        ("GHSA-9wx4-h78v-vm56", "blocker"),
        ("B602", "critical"),
        ("B101", "minor"),
    ]  # the suppressed CKV_AWS_20 is left out
    for issue in issues:
        assert set(issue) >= REQUIRED
        assert isinstance(issue["location"]["lines"]["begin"], int)
    sca = issues[0]
    assert sca["location"] == {"path": "requirements.txt", "lines": {"begin": 2}}
    assert sca["description"].endswith("(requests 2.19.1; fixed in 2.20.0, 2.31.0)")
    assert sca["fingerprint"] == "GHSA-9wx4-h78v-vm56:requirements.txt:2:critical"


def test_severity_table_covers_gitlab_levels() -> None:
    found = [finding(s, f"R{s.value}", "a.py", s.value + 1) for s in Severity]
    levels = {i["check_name"]: i["severity"] for i in gitlab.issues(report(found))}
    assert levels == {"R4": "blocker", "R3": "critical", "R2": "major", "R1": "minor", "R0": "info"}


def test_file_level_finding_gets_line_one_and_fingerprints_are_unique() -> None:
    a = finding(Severity.HIGH, "SECRET", "deploy.sh", None, "key")
    twin = finding(Severity.HIGH, "SECRET", "deploy.sh", None, "key")
    lockfile = finding(
        Severity.LOW, "PYSEC-1", "poetry.lock", 40, "old", package=Package("PyPI", "x", "1.0")
    )
    issues = gitlab.issues(report([a, twin, lockfile]))
    assert [i["location"]["lines"] for i in issues] == [{"begin": 1}, {"begin": 1}, {"begin": 40}]
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(set(fingerprints)) == 3
    assert fingerprints[0] == a.fingerprint
    assert issues[2]["description"].endswith("(x 1.0; no fix)")


def test_empty_report_is_an_empty_array() -> None:
    assert gitlab.render(report([])) == "[]\n"
