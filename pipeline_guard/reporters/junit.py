"""JUnit XML for Jenkins (junit plugin) and GitLab (`artifacts:reports:junit`).

Shape, per the de-facto schema both read (Ant's JUnit report, as written by
Surefire and pytest):

- `<testsuites>` with totals;
- one `<testsuite name="pipeline-guard.SCANNER">` per scanner, holding one
  `<testcase>` per finding (a `<failure>` when active, `<skipped>` when
  suppressed) plus one "completed" test case (an `<error>` when the scanner
  failed, so a broken scanner is never a green suite);
- one `<testsuite name="pipeline-guard.gate">` with one test case per gate
  reason (each a `<failure>`), or a single passing case when the gate passed.

`classname` is `pipeline-guard.SCANNER.CATEGORY`; `file` and `line` point at the
finding. Characters XML 1.0 forbids (control characters from a tool's output)
are replaced, so the document always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Final

from pipeline_guard.model import Finding, ScannerRun, ScanReport
from pipeline_guard.reporters.escape import redact_report
from pipeline_guard.severity_scale import most_severe_first

EXTENSION: Final = ".junit.xml"
PREFIX: Final = "pipeline-guard"
# Everything XML 1.0 does not allow in character data.
_INVALID_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(report: ScanReport) -> str:
    """The JUnit XML document (UTF-8, with declaration)."""
    report = redact_report(report)
    root = ET.Element("testsuites", name=PREFIX)
    for run in _runs(report):
        findings = [f for f in most_severe_first(report.findings) if f.scanner == run.scanner]
        root.append(_scanner_suite(run, findings, report.started_at))
    root.append(_gate_suite(report))
    _totals(root, root.findall("testsuite"))
    root.set("time", _seconds(report.duration))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _runs(report: ScanReport) -> list[ScannerRun]:
    runs = {r.scanner: r for r in report.runs}
    for f in report.findings:  # a finding whose scanner has no run still gets a suite
        runs.setdefault(f.scanner, ScannerRun(f.scanner, f.category, None))
    return sorted(runs.values(), key=lambda r: r.scanner)


def _scanner_suite(run: ScannerRun, findings: list[Finding], timestamp: str) -> ET.Element:
    suite = ET.Element("testsuite", name=f"{PREFIX}.{run.scanner}", timestamp=_timestamp(timestamp))
    suite.set("time", _seconds(run.duration))
    if run.tool_version:
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="tool_version", value=_text(run.tool_version))
    completed = _case(suite, f"{PREFIX}.{run.scanner}", f"{run.scanner} completed")
    completed.set("time", _seconds(run.duration))
    for error in run.errors:
        node = ET.SubElement(completed, "error", message=_text(error.message), type=error.kind)
        node.text = _text(error.detail or error.message)
    for finding in findings:
        _finding_case(suite, finding)
    _totals(suite, [suite])
    return suite


def _finding_case(suite: ET.Element, finding: Finding) -> None:
    loc = finding.location
    where = f"{loc.path}:{loc.start_line}" if loc.start_line else loc.path
    case = _case(
        suite,
        f"{PREFIX}.{finding.scanner}.{finding.category.value}",
        f"{finding.rule_id} {where}",
    )
    case.set("file", _text(loc.path))
    if loc.start_line:
        case.set("line", str(loc.start_line))
    if finding.suppression is not None:
        sup = finding.suppression
        ET.SubElement(case, "skipped", message=_text(f"suppressed: {sup.reason} ({sup.source})"))
        return
    failure = ET.SubElement(
        case,
        "failure",
        message=_text(f"[{finding.severity.label}] {finding.title}"),
        type=finding.severity.label,
    )
    failure.text = _text(_details(finding, where))


def _details(finding: Finding, where: str) -> str:
    lines = [
        f"{finding.severity.label} {finding.category.value} finding at {where}",
        f"rule: {finding.rule_id}",
        finding.message,
    ]
    if finding.package is not None:
        pkg = finding.package
        fixed = ", ".join(pkg.fixed_versions) or "no fix released"
        lines.append(f"package: {pkg.ecosystem} {pkg.name} {pkg.version} (fixed in: {fixed})")
    if finding.advisories:
        lines.append(f"advisories: {', '.join(finding.advisories)}")
    if finding.cwes:
        lines.append(f"cwe: {', '.join(finding.cwes)}")
    if finding.baseline_state:
        lines.append(f"baseline: {finding.baseline_state}")
    if finding.help_url:
        lines.append(f"help: {finding.help_url}")
    return "\n".join(lines)


def _gate_suite(report: ScanReport) -> ET.Element:
    verdict = report.verdict
    suite = ET.Element("testsuite", name=f"{PREFIX}.gate", timestamp=_timestamp(report.started_at))
    suite.set("time", "0")
    classname = f"{PREFIX}.gate.{verdict.stage}"
    if verdict.passed:
        _case(suite, classname, f"{verdict.stage} gate passed")
    for index, reason in enumerate(verdict.reasons, 1):
        case = _case(suite, classname, f"gate rule {index}: {reason}")
        node = ET.SubElement(
            case, "failure", message=_text(reason), type=f"exit-code-{verdict.exit_code}"
        )
        node.text = _text(reason)
    if not verdict.passed and not verdict.reasons:
        case = _case(suite, classname, f"{verdict.stage} gate")
        ET.SubElement(case, "failure", message="gate failed", type=f"exit-code-{verdict.exit_code}")
    _totals(suite, [suite])
    return suite


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=_text(classname), name=_text(name), time="0")


def _totals(node: ET.Element, suites: Iterable[ET.Element]) -> None:
    cases = [c for s in suites for c in s.iter("testcase")]
    node.set("tests", str(len(cases)))
    node.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    node.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    node.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))


def _text(value: str) -> str:
    return _INVALID_XML.sub("\ufffd", value)


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.3f}"


def _timestamp(iso: str) -> str:
    # JUnit's timestamp is ISO 8601 without a zone designator.
    return iso.removesuffix("Z").split("+", 1)[0]
