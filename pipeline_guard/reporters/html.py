"""The HTML release report: one self-contained file from `templates/report.html.j2`.

No CDN, no web fonts, no external script: styles and a small filter script are
inline, charts are inline SVG computed here. A Content-Security-Policy meta tag
allows exactly that script (by its sha256) and nothing else, so even a value
that slipped past escaping could not run. Jinja2 autoescaping is on: every
value from a scanner or the repository is HTML-escaped, and only http(s) help
URLs become links.

The findings table works without JavaScript (every row shown); with it, the
filter form appears and its state lives in the URL fragment
(`#severity=high&category=sca&q=requests`), so a filtered view can be linked.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import jinja2

from pipeline_guard.model import Category, Finding, ScanReport, Severity
from pipeline_guard.reporters.escape import is_web_url, redact_report
from pipeline_guard.severity_scale import most_severe_first, severities_descending

EXTENSION: Final = ".html"
TEMPLATE: Final = "report.html.j2"
SCRIPT: Final = "report_filter.js.j2"
#: Bar colours per severity (also the badges in the table).
COLORS: Final[Mapping[Severity, str]] = {
    Severity.CRITICAL: "#7f1d1d",
    Severity.HIGH: "#dc2626",
    Severity.MEDIUM: "#d97706",
    Severity.LOW: "#2563eb",
    Severity.INFO: "#6b7280",
}
NEUTRAL: Final = "#4b5563"
#: Words that mark a note as being about the vulnerability database.
_DB_WORDS: Final = ("database", "vulnerability db", "osv db", " db ")
BAR_WIDTH: Final = 320


@dataclass(frozen=True)
class Bar:
    """One bar of a horizontal SVG bar chart."""

    label: str
    value: int
    width: int  # pixels, proportional to value
    color: str


@dataclass(frozen=True)
class Row:
    """One row of the findings table."""

    finding: Finding
    status: str  # new | existing | suppressed
    where: str
    help_url: str | None
    found_by: str
    fix: str


@cache
def environment() -> jinja2.Environment:
    """The HTML environment: autoescape on for every template."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline_guard.templates", "."),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(report: ScanReport) -> str:
    """The whole HTML document."""
    report = redact_report(report)
    env = environment()
    script = env.get_template(SCRIPT).render()
    return env.get_template(TEMPLATE).render(
        **context(report), script=script, script_hash=csp_hash(script)
    )


def csp_hash(script: str) -> str:
    """The CSP source expression allowing exactly this inline script."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def context(report: ScanReport) -> dict[str, Any]:
    """Everything the template shows."""
    active = report.active
    by_severity = Counter(f.severity for f in active)
    rows = [_row(f) for f in most_severe_first(report.findings)]
    return {
        "report": report,
        "verdict": report.verdict,
        "severities": [s.label for s in severities_descending()],
        "counts": {s.label: by_severity[s] for s in severities_descending()},
        "active": len(active),
        "new": sum(1 for f in active if f.baseline_state == "new"),
        "suppressed": len(report.findings) - len(active),
        "severity_bars": bars(
            [(s.label, by_severity[s], COLORS[s]) for s in severities_descending()]
        ),
        "category_bars": bars(_counted(active, lambda f: f.category.value, _categories(report))),
        "scanner_bars": bars(_counted(active, lambda f: f.scanner, _scanners(report))),
        "rows": rows,
        "categories": sorted({r.finding.category.value for r in rows}),
        "scanners": sorted({r.finding.scanner for r in rows}),
        "runs": sorted(report.runs, key=lambda r: r.scanner),
        "db_notes": [n for n in report.notes if _about_db(n)],
        "notes": [n for n in report.notes if not _about_db(n)],
        "colors": {s.label: COLORS[s] for s in Severity},
    }


def bars(items: Iterable[tuple[str, int, str]]) -> list[Bar]:
    """Bars scaled so the largest value spans BAR_WIDTH pixels (zero stays zero)."""
    values = list(items)
    top = max((v for _, v, _ in values), default=0) or 1
    return [
        Bar(label, value, round(BAR_WIDTH * value / top), color) for label, value, color in values
    ]


def _counted(
    findings: Iterable[Finding], key: Any, labels: Iterable[str]
) -> list[tuple[str, int, str]]:
    counts = Counter(key(f) for f in findings)
    return [(label, counts[label], NEUTRAL) for label in labels]


def _categories(report: ScanReport) -> list[str]:
    present = {r.category for r in report.runs} | {f.category for f in report.findings}
    return [c.value for c in Category if c in present]


def _scanners(report: ScanReport) -> list[str]:
    return sorted({r.scanner for r in report.runs} | {f.scanner for f in report.findings})


def _row(finding: Finding) -> Row:
    status = (
        "suppressed"
        if finding.suppressed
        else ("existing" if finding.baseline_state == "unchanged" else "new")
    )
    loc = finding.location
    pkg = finding.package
    fix = ""
    if pkg is not None:
        target = ", ".join(pkg.fixed_versions) if pkg.fixed_versions else "no fix released"
        fix = f"{pkg.name} {pkg.version} → {target}"
    return Row(
        finding=finding,
        status=status,
        where=f"{loc.path}:{loc.start_line}" if loc.start_line else loc.path,
        help_url=finding.help_url if finding.help_url and is_web_url(finding.help_url) else None,
        found_by=", ".join(dict.fromkeys([finding.scanner, *(s.scanner for s in finding.sources)])),
        fix=fix,
    )


def _about_db(note: str) -> bool:
    text = f" {note.lower()} "
    return any(word in text for word in _DB_WORDS)
