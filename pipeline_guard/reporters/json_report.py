"""The JSON report: the whole scan, documented by `schemas/report.schema.json`.

The document is the stable machine interface of pipeline-guard (baselines,
dashboards, other tools read it). Findings are `Finding.to_dict()`, which
`Finding.from_dict` reads back; `load_findings` does that for a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import jsonschema
from referencing import Registry, Resource

from pipeline_guard.model import Category, Finding, ScannerRun, ScanReport
from pipeline_guard.reporters.escape import redact_report
from pipeline_guard.severity_scale import most_severe_first, severities_descending

EXTENSION: Final = ".json"
REPORT_SCHEMA_ID: Final = "urn:pipeline-guard:report:v1"
FINDING_SCHEMA_ID: Final = "urn:pipeline-guard:finding:v1"
TOOL_NAME: Final = "pipeline-guard"


class ReportFormatError(ValueError):
    """A JSON report or findings file that cannot be read: says where and why."""


@dataclass(frozen=True)
class Summary:
    """Counts over a report's findings; the severity/category counts are active only."""

    total: int
    active: int
    suppressed: int
    new: int
    by_severity: Mapping[str, int]
    by_category: Mapping[str, int]
    by_category_severity: Mapping[str, Mapping[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "active": self.active,
            "suppressed": self.suppressed,
            "new": self.new,
            "by_severity": dict(self.by_severity),
            "by_category": dict(self.by_category),
            "by_category_severity": {k: dict(v) for k, v in self.by_category_severity.items()},
        }


def summarize(findings: Iterable[Finding]) -> Summary:
    """Count findings by severity and category (every key present, zeros included)."""
    all_findings = list(findings)
    active = [f for f in all_findings if f.suppression is None]
    severities = [s.label for s in severities_descending()]
    grid = {c.value: dict.fromkeys(severities, 0) for c in Category}
    for finding in active:
        grid[finding.category.value][finding.severity.label] += 1
    return Summary(
        total=len(all_findings),
        active=len(active),
        suppressed=len(all_findings) - len(active),
        new=sum(1 for f in active if f.baseline_state == "new"),
        by_severity={s: sum(row[s] for row in grid.values()) for s in severities},
        by_category={c: sum(row.values()) for c, row in grid.items()},
        by_category_severity=grid,
    )


def to_document(report: ScanReport) -> dict[str, Any]:
    """The report as a JSON-ready dict matching report.schema.json."""
    report = redact_report(report)
    return {
        "schema": REPORT_SCHEMA_ID,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "stage": report.stage,
        "root": report.root,
        "commit": report.commit,
        "started_at": report.started_at,
        "duration": round(report.duration, 3),
        "verdict": {
            "passed": report.verdict.passed,
            "exit_code": report.verdict.exit_code,
            "reasons": list(report.verdict.reasons),
        },
        "summary": summarize(report.findings).to_dict(),
        "findings": [f.to_dict() for f in most_severe_first(report.findings)],
        "scanners": [
            _scanner_entry(run, report.findings)
            for run in sorted(report.runs, key=lambda r: r.scanner)
        ],
        "notes": list(report.notes),
    }


def _scanner_entry(run: ScannerRun, findings: Iterable[Finding]) -> dict[str, Any]:
    return {
        "name": run.scanner,
        "category": run.category.value,
        "version": run.tool_version,
        "duration": round(run.duration, 3),
        "targets": run.targets,
        "failed": run.failed,
        "errors": [{"kind": e.kind, "message": e.message, "detail": e.detail} for e in run.errors],
        "notes": list(run.notes),
        "findings": sum(1 for f in findings if f.scanner == run.scanner),
        "reported": len(run.findings),
    }


def render(report: ScanReport) -> str:
    """The JSON report text (UTF-8, two-space indent, trailing newline)."""
    return json.dumps(to_document(report), indent=2, ensure_ascii=False) + "\n"


@cache
def _schema(name: str) -> dict[str, Any]:
    text = resources.files("pipeline_guard").joinpath("schemas").joinpath(name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_registry() -> Registry[Any]:
    """A `referencing` registry holding the report and finding schemas by their ids."""
    resources_ = [
        (FINDING_SCHEMA_ID, Resource.from_contents(_schema("finding.schema.json"))),
        (REPORT_SCHEMA_ID, Resource.from_contents(_schema("report.schema.json"))),
    ]
    return Registry().with_resources(resources_)


def report_validator() -> jsonschema.Draft202012Validator:
    """Validator for a whole JSON report document."""
    return jsonschema.Draft202012Validator(
        _schema("report.schema.json"), registry=schema_registry()
    )


def finding_validator() -> jsonschema.Draft202012Validator:
    """Validator for one finding object."""
    return jsonschema.Draft202012Validator(
        _schema("finding.schema.json"), registry=schema_registry()
    )


def load_findings(path: Path) -> list[Finding]:
    """Read the findings of a JSON report (or of a JSON array of findings).

    The file is validated against the schema first, so a damaged or foreign
    file fails with the file name, where in it, and what was expected.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportFormatError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ReportFormatError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ReportFormatError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"
        ) from None
    if isinstance(data, list):
        items = data
        validator = finding_validator()
        for index, item in enumerate(items):
            _check(validator, item, path, f"[{index}]")
    elif isinstance(data, dict) and "findings" in data:
        if data.get("schema") != REPORT_SCHEMA_ID:
            raise ReportFormatError(
                f"{path}: unsupported report format {data.get('schema')!r} "
                f"(expected {REPORT_SCHEMA_ID!r}); re-create it with this pipeline-guard"
            )
        _check(report_validator(), data, path, "")
        items = data["findings"]
    else:
        raise ReportFormatError(
            f"{path}: expected a pipeline-guard JSON report or a JSON array of findings"
        )
    return [Finding.from_dict(item) for item in items]


def _check(validator: jsonschema.Draft202012Validator, data: Any, path: Path, prefix: str) -> None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = prefix + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
        )
        raise ReportFormatError(f"{path}: at {where or '(top level)'}: {error.message}")
