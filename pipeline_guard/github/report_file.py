"""Read a `pipeline-guard.json` report back into a `ScanReport`.

The Action scans in one step and publishes (comment, summary, annotations,
outputs) in the next, so the JSON report is the hand-over. It is validated
against `report.schema.json` first (via `json_report.load_findings`), so a
damaged file fails with where and why, never as "zero findings".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline_guard.model import (
    Category,
    Finding,
    ScannerError,
    ScannerRun,
    ScanReport,
    Verdict,
)
from pipeline_guard.reporters.json_report import load_findings


def load_report(path: Path) -> ScanReport:
    """The report in `path`; raises `ReportFormatError` for anything unreadable."""
    findings = load_findings(path)  # validates the whole document against the schema
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    verdict = doc["verdict"]
    return ScanReport(
        root=doc["root"],
        stage=doc["stage"],
        findings=tuple(findings),
        runs=tuple(_run(entry, findings) for entry in doc["scanners"]),
        verdict=Verdict(
            stage=doc["stage"],
            passed=verdict["passed"],
            exit_code=verdict["exit_code"],
            reasons=tuple(verdict["reasons"]),
        ),
        started_at=doc["started_at"],
        duration=float(doc["duration"]),
        tool_version=doc["tool"]["version"],
        notes=tuple(doc["notes"]),
        commit=doc["commit"],
    )


def _run(entry: dict[str, Any], findings: list[Finding]) -> ScannerRun:
    name = entry["name"]
    return ScannerRun(
        scanner=name,
        category=Category(entry["category"]),
        tool_version=entry["version"],
        findings=tuple(f for f in findings if f.scanner == name),
        errors=tuple(
            ScannerError(name, e["kind"], e["message"], e["detail"]) for e in entry["errors"]
        ),
        duration=float(entry["duration"]),
        targets=entry["targets"],
        notes=tuple(entry["notes"]),
    )
