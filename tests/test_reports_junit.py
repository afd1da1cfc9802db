"""JUnit XML: parsed back with xml.etree; counts per suite, cases, failures, skips."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from report_samples import HOSTILE_PATH, blocked_report, finding, report

from pipeline_guard.model import ScannerError, Severity
from pipeline_guard.reporters import junit


def parse(text: str) -> ET.Element:
    assert text.startswith("<?xml version='1.0' encoding='utf-8'?>\n<testsuites")
    return ET.fromstring(text.split("\n", 1)[1])


def counts(node: ET.Element) -> tuple[int, int, int, int]:
    return tuple(int(node.get(k, "-1")) for k in ("tests", "failures", "errors", "skipped"))  # type: ignore[return-value]


def test_one_suite_per_scanner_plus_gate() -> None:
    root = parse(junit.render(blocked_report()))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == [
        "pipeline-guard.bandit",
        "pipeline-guard.checkov",
        "pipeline-guard.osv",
        "pipeline-guard.gate",
    ]
    # bandit: completed + B602 (failure) + B101 (failure, existing findings still fail)
    assert counts(suites["pipeline-guard.bandit"]) == (3, 2, 0, 0)
    # checkov: completed + suppressed CKV_AWS_20 (skipped)
    assert counts(suites["pipeline-guard.checkov"]) == (2, 0, 0, 1)
    assert counts(suites["pipeline-guard.osv"]) == (2, 1, 0, 0)
    assert counts(suites["pipeline-guard.gate"]) == (1, 1, 0, 0)
    assert counts(root) == (8, 4, 0, 1)


def test_finding_case_carries_file_line_and_severity() -> None:
    root = parse(junit.render(blocked_report()))
    osv = root.find("testsuite[@name='pipeline-guard.osv']")
    assert osv is not None
    case = osv.find("testcase[@file='requirements.txt']")
    assert case is not None
    assert case.get("classname") == "pipeline-guard.osv.sca"
    assert case.get("name") == "GHSA-9wx4-h78v-vm56 requirements.txt:2"
    assert case.get("line") == "2"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "critical"
    assert (
        failure.get("message")
        == "[critical] requests: Proxy-Authorization header leaked on redirect"
    )
    assert "package: PyPI requests 2.19.1 (fixed in: 2.20.0, 2.31.0)" in (failure.text or "")
    props = osv.find("properties/property[@name='tool_version']")
    assert props is not None and props.get("value") == "1.0.0"


def test_suppressed_finding_is_skipped_with_reason() -> None:
    root = parse(junit.render(blocked_report()))
    skipped = root.find(".//testcase[@file='infra/main.tf']/skipped")
    assert skipped is not None
    assert skipped.get("message") == "suppressed: demo bucket (pipeline-guard.yml:12)"


def test_gate_rules_are_cases_and_passing_gate_is_green() -> None:
    failing = report(reasons=("2 new finding(s) at or above high", "stale vulnerability DB"))
    gate = parse(junit.render(failing)).find("testsuite[@name='pipeline-guard.gate']")
    assert gate is not None
    names = [c.get("name") for c in gate.findall("testcase")]
    assert names == [
        "gate rule 1: 2 new finding(s) at or above high",
        "gate rule 2: stale vulnerability DB",
    ]
    assert counts(gate) == (2, 2, 0, 0)
    passing = parse(junit.render(report([])))
    gate = passing.find("testsuite[@name='pipeline-guard.gate']")
    assert gate is not None
    assert [c.get("name") for c in gate.findall("testcase")] == ["pr gate passed"]
    assert counts(passing) == (1, 0, 0, 0)


def test_failed_scanner_is_an_error_case() -> None:
    error = ScannerError("semgrep", "timeout", "semgrep timed out after 600 s", "last stderr")
    r = report([], errors=(error,), versions={"semgrep": "1.185.0"})
    suite = parse(junit.render(r)).find("testsuite[@name='pipeline-guard.semgrep']")
    assert suite is not None
    assert counts(suite) == (1, 0, 1, 0)
    node = suite.find("testcase/error")
    assert node is not None
    assert (node.get("type"), node.get("message"), node.text) == (
        "timeout",
        "semgrep timed out after 600 s",
        "last stderr",
    )


def test_control_characters_and_markup_stay_valid_xml() -> None:
    nasty = finding(Severity.HIGH, "R<1>", HOSTILE_PATH, 3, "bell\x07 nul\x00 ]]> & <tag>")
    root = parse(junit.render(report([nasty])))
    case = root.find(".//testcase[@classname='pipeline-guard.bandit.sast']")
    assert case is not None
    assert case.get("file") == HOSTILE_PATH
    failure = case.find("failure")
    assert failure is not None
    assert "bell\ufffd nul\ufffd ]]> & <tag>" in (failure.text or "")
