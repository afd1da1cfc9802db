"""The Markdown summary (GitHub job summary, pipeline-guard.md) from a jinja2 template.

The template is `templates/summary.md.j2` (package `pipeline_guard.templates`).
Autoescaping is off because the output is Markdown, not HTML; instead every
value that comes from a scanner or the repository goes through the `md` or
`code` filter of `escape.py`, which make it render as plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import jinja2

from pipeline_guard.model import Category, Finding, ScannerRun, ScanReport
from pipeline_guard.reporters.escape import FILTERS, redact_report
from pipeline_guard.reporters.json_report import Summary, summarize
from pipeline_guard.severity_scale import most_severe_first, severities_descending

EXTENSION: Final = ".md"
TEMPLATE: Final = "summary.md.j2"
#: Findings listed in full; the rest are counted. Keeps the summary readable and
#: far below GitHub's 1 MiB job-summary limit.
MAX_FINDINGS: Final = 200
#: Longest title shown in the findings table (the JSON and SARIF keep it whole).
MAX_TITLE: Final = 160


@cache
def environment() -> jinja2.Environment:
    """The jinja2 environment for Markdown templates, with the escaping filters."""
    # pipeline-guard: ignore[B701] Markdown output: every value goes through the md/code filters
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline_guard.templates", "."),
        # Markdown, not HTML: HTML autoescaping would not stop Markdown injection;
        # the md/code filters escape for Markdown (and HTML) instead.
        autoescape=False,  # noqa: S701
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    env.filters["where"] = where
    env.filters["fix"] = fix
    env.filters["found_by"] = found_by
    return env


def where(finding: Finding) -> str:
    """`path:line` (or just the path when the tool gave no line)."""
    line = finding.location.start_line
    return f"{finding.location.path}:{line}" if line else finding.location.path


def fix(finding: Finding) -> str:
    """The package and the versions that fix it; empty for non-package findings."""
    pkg = finding.package
    if pkg is None:
        return ""
    target = ", ".join(pkg.fixed_versions) if pkg.fixed_versions else "no fix released"
    return f"{pkg.name} {pkg.version} → {target}"


def found_by(finding: Finding) -> str:
    """Every scanner that reported the finding, primary first, without repeats."""
    names = [finding.scanner, *(s.scanner for s in finding.sources)]
    return ", ".join(dict.fromkeys(names))


@dataclass(frozen=True)
class CategoryRow:
    """One row of the category x severity table."""

    category: str
    counts: list[int]
    total: int


def category_rows(report: ScanReport, summary: Summary) -> list[CategoryRow]:
    """Rows for categories that had a scanner or a finding, in the model's order."""
    present = {run.category for run in report.runs} | {f.category for f in report.findings}
    labels = [s.label for s in severities_descending()]
    return [
        CategoryRow(
            category=c.value,
            counts=[summary.by_category_severity[c.value][s] for s in labels],
            total=summary.by_category[c.value],
        )
        for c in Category
        if c in present
    ]


def _scanner_notes(report: ScanReport) -> list[tuple[str, str]]:
    return [(run.scanner, note) for run in _runs(report) for note in run.notes]


def _runs(report: ScanReport) -> list[ScannerRun]:
    return sorted(report.runs, key=lambda r: r.scanner)


def context(report: ScanReport, max_findings: int = MAX_FINDINGS) -> dict[str, Any]:
    """Everything the template needs; later templates (PR comment) can reuse it."""
    summary = summarize(report.findings)
    active = most_severe_first(report.active)
    return {
        "report": report,
        "verdict": report.verdict,
        "summary": summary,
        "severities": [s.label for s in severities_descending()],
        "category_rows": category_rows(report, summary),
        "findings": active[:max_findings],
        "omitted": max(0, len(active) - max_findings),
        "has_state": any(f.baseline_state for f in active),
        "errors": report.errors,
        "notes": list(report.notes),
        "scanner_notes": _scanner_notes(report),
        "runs": _runs(report),
        "max_title": MAX_TITLE,
    }


def render(report: ScanReport, *, max_findings: int = MAX_FINDINGS) -> str:
    """The Markdown summary text."""
    report = redact_report(report)
    template = environment().get_template(TEMPLATE)
    return template.render(**context(report, max_findings))
