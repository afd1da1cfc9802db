"""The pull-request comment (Markdown) from `templates/pr_comment.md.j2`.

Verdict first, then counts by category x severity (new / existing), then the
new findings most severe first (rule, message, `file:line` linked to the head
commit, fix version, how to accept one), and the existing findings collapsed.

Everything from a scanner or the repository goes through the `md`/`code`
filters of `escape.py`; the environment is the Markdown reporter's.

GitHub rejects a comment over 65,536 characters. When the full comment is too
long, rows are dropped lowest severity first (existing findings before new
ones) until it fits, and the comment says how many were left out and where the
full report is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from pipeline_guard.github.context import RepoLinks
from pipeline_guard.model import Category, Finding, ScanReport
from pipeline_guard.reporters.escape import redact_report
from pipeline_guard.reporters.markdown import environment
from pipeline_guard.severity_scale import most_severe_first, severities_descending

EXTENSION: Final = ".pr-comment.md"
TEMPLATE: Final = "pr_comment.md.j2"
MAX_CHARS: Final = 65_536
#: Longest message shown in a table cell (the JSON and SARIF keep it whole).
MAX_MESSAGE: Final = 300
#: Longest scanner error or note shown.
MAX_NOTE: Final = 500
#: Notes listed; the rest are counted.
MAX_NOTES: Final = 20


@dataclass(frozen=True)
class CountRow:
    """One category's new / existing counts per severity (critical first)."""

    category: str
    new: tuple[int, ...]
    existing: tuple[int, ...]


def render(report: ScanReport) -> str:
    """The comment text without links (file output `pipeline-guard.pr-comment.md`)."""
    return render_comment(report)


def render_comment(
    report: ScanReport,
    *,
    links: RepoLinks | None = None,
    run_url: str | None = None,
    max_chars: int = MAX_CHARS,
) -> str:
    """The comment text, at most `max_chars` characters (as GitHub counts them)."""
    report = redact_report(report)
    active = most_severe_first(report.active)
    new = [f for f in active if f.baseline_state != "unchanged"]
    existing = [f for f in active if f.baseline_state == "unchanged"]

    def build(keep_new: int, keep_existing: int) -> str:
        return _render(report, new, existing, keep_new, keep_existing, links, run_url)

    text = build(len(new), len(existing))
    if comment_length(text) <= max_chars:
        return text
    keep_existing = _most_that_fit(lambda k: build(len(new), k), len(existing), max_chars)
    if keep_existing is None:
        keep_new = _most_that_fit(lambda k: build(k, 0), len(new), max_chars)
        if keep_new is None:
            return _hard_cut(build(0, 0), max_chars)
        return build(keep_new, 0)
    return build(len(new), keep_existing)


def resolved_text() -> str:
    """What the comment becomes when it is marked resolved."""
    return "### ✅ pipeline-guard: all clear\n\nNo findings left to report.\n"


def _render(
    report: ScanReport,
    new: Sequence[Finding],
    existing: Sequence[Finding],
    keep_new: int,
    keep_existing: int,
    links: RepoLinks | None,
    run_url: str | None,
) -> str:
    template = environment().get_template(TEMPLATE)
    return template.render(
        **_context(report, new, existing, keep_new, keep_existing, links, run_url)
    )


def _context(
    report: ScanReport,
    new: Sequence[Finding],
    existing: Sequence[Finding],
    keep_new: int,
    keep_existing: int,
    links: RepoLinks | None,
    run_url: str | None,
) -> dict[str, Any]:
    active = [*new, *existing]
    has_state = any(f.baseline_state for f in active)
    notes = list(report.notes)  # the orchestrator already copies each run's notes here
    return {
        "report": report,
        "verdict": report.verdict,
        "severities": [s.label for s in severities_descending()],
        "rows": count_rows(report, new, existing),
        "has_state": has_state,
        "new": new[:keep_new],
        "existing": existing[:keep_existing],
        "new_total": len(new),
        "existing_total": len(existing),
        "omitted": (len(new) - keep_new) + (len(existing) - keep_existing),
        "suppressed": len(report.findings) - len(report.active),
        "errors": report.errors,
        "notes": notes[:MAX_NOTES],
        "notes_omitted": max(0, len(notes) - MAX_NOTES),
        "blob": (lambda f: links.blob(f.location.path, f.location.start_line)) if links else None,
        "run_url": run_url,
        "max_message": MAX_MESSAGE,
        "max_note": MAX_NOTE,
        "hint_rule": next((f.rule_id for f in active if f.package is None), "RULE-ID"),
    }


def count_rows(
    report: ScanReport, new: Sequence[Finding], existing: Sequence[Finding]
) -> list[CountRow]:
    """Rows for categories that had a scanner or an active finding, in the model's order."""
    present = {r.category for r in report.runs} | {f.category for f in [*new, *existing]}
    order = severities_descending()
    new_counts = Counter((f.category, f.severity) for f in new)
    old_counts = Counter((f.category, f.severity) for f in existing)
    return [
        CountRow(
            c.value,
            tuple(new_counts[(c, s)] for s in order),
            tuple(old_counts[(c, s)] for s in order),
        )
        for c in Category
        if c in present
    ]


def _most_that_fit(build: Any, total: int, max_chars: int) -> int | None:
    """The largest k in [0, total] whose rendering fits, or None if even 0 does not."""
    if comment_length(build(0)) > max_chars:
        return None
    low, high = 0, total  # build(low) fits; find the largest k that does
    while low < high:
        mid = (low + high + 1) // 2
        if comment_length(build(mid)) <= max_chars:
            low = mid
        else:
            high = mid - 1
    return low


def _hard_cut(text: str, max_chars: int) -> str:
    # Only reachable with enormous notes or errors: never exceed GitHub's limit.
    tail = "\n\n_(comment cut at GitHub's size limit: see the full report)_\n"
    while comment_length(text) + comment_length(tail) > max_chars:
        text = text[
            : max(0, len(text) - (comment_length(text) + comment_length(tail) - max_chars) - 1)
        ]
    return text + tail


def comment_length(text: str) -> int:
    """Length as GitHub counts it (UTF-16 code units: an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2
