"""The job summary (`$GITHUB_STEP_SUMMARY`) and workflow annotations for new findings.

Annotations are workflow commands printed on stdout:
`::error file=app.py,line=3,endLine=3,title=...::message`. GitHub's escaping
rules (actions/toolkit, `command.ts`): in the message `%`, `\\r` and `\\n`
become `%25`, `%0D`, `%0A`; in a property value `:` and `,` also become `%3A`
and `%2C`. That also stops a finding message from starting a command of its own
on a new line.

GitHub shows at most 10 annotations of each level (error, warning, notice) per
step and 50 per job; the rest are dropped without a word. So we emit the most
severe ones, at most `MAX_PER_LEVEL` per level and `MAX_TOTAL` in all, and one
notice that says how many were left out and where the rest are.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pipeline_guard.model import Finding, ScanReport, Severity
from pipeline_guard.severity_scale import most_severe_first

MAX_PER_LEVEL: Final = 10
#: Below the 50 per job, leaving room for other steps' annotations.
MAX_TOTAL: Final = 30
#: GitHub rejects a step summary over 1 MiB; stop a little before.
MAX_SUMMARY_BYTES: Final = 1_000_000

#: Annotation level per severity.
LEVEL: Final[Mapping[Severity, str]] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def escape_data(text: str) -> str:
    """Escape a workflow command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    """One workflow command line, e.g. `::error file=a.py,line=3::msg`."""
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None and value != ""
    )
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def annotation(finding: Finding, path_prefix: str = "") -> str:
    """The annotation for one finding, at its file and lines."""
    loc = finding.location
    line = loc.start_line
    title = f"{finding.rule_id} ({finding.severity.label})"
    message = finding.message or finding.title
    if finding.package is not None and finding.package.fixed_versions:
        message += f" Fixed in {finding.package.name} {', '.join(finding.package.fixed_versions)}."
    return command(
        LEVEL[finding.severity],
        message,
        file=_join(path_prefix, loc.path),
        line=line,
        endLine=loc.end_line if line and loc.end_line and loc.end_line >= line else line,
        title=f"pipeline-guard: {title}",
    )


@dataclass(frozen=True)
class Annotations:
    """The command lines to print, and how many findings got none."""

    lines: tuple[str, ...]
    omitted: int


def annotate(
    report: ScanReport,
    *,
    path_prefix: str = "",
    per_level: int = MAX_PER_LEVEL,
    total: int = MAX_TOTAL,
    more_at: str = "the job summary and the report artifacts",
) -> Annotations:
    """Annotations for the findings a change introduced, most severe first, capped.

    "New" means not `unchanged`: outside the `pr` stage (no base) every active
    finding is new, as the gate counts it.
    """
    candidates = [f for f in most_severe_first(report.active) if f.baseline_state != "unchanged"]
    chosen = _cap(candidates, per_level, total)
    omitted = len(candidates) - len(chosen)
    lines = [annotation(f, path_prefix) for f in chosen]
    if omitted:
        lines.append(
            command(
                "notice",
                f"{omitted} more new finding(s) not annotated (GitHub shows at most "
                f"{per_level} annotations of each level per step); see {more_at}.",
                title="pipeline-guard",
            )
        )
    return Annotations(tuple(lines), omitted)


def _cap(findings: Sequence[Finding], per_level: int, total: int) -> list[Finding]:
    counts: Counter[str] = Counter()
    chosen: list[Finding] = []
    for finding in findings:
        level = LEVEL[finding.severity]
        if counts[level] < per_level and len(chosen) < total:
            chosen.append(finding)
            counts[level] += 1
    if len(chosen) < len(findings):
        # The "N more" notice needs a notice slot and one of the total.
        notices = [f for f in chosen if LEVEL[f.severity] == "notice"]
        if len(chosen) >= total or len(notices) >= per_level:
            chosen.remove(notices[-1] if notices else chosen[-1])
    return chosen


def _join(prefix: str, path: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/{path}" if prefix else path


def append_step_summary(markdown: str, env: Mapping[str, str] | None = None) -> Path | None:
    """Append Markdown to the job summary; None when not in Actions (no variable set).

    Text beyond GitHub's 1 MiB step-summary limit is cut with a note, since an
    oversized summary is rejected as a whole.
    """
    env = os.environ if env is None else env
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    used = path.stat().st_size if path.exists() else 0
    data = (markdown.rstrip("\n") + "\n\n").encode("utf-8")
    room = MAX_SUMMARY_BYTES - used
    if len(data) > room:
        note = b"\n\n_(summary cut at GitHub's 1 MiB limit: see the report artifacts)_\n"
        data = data[: max(0, room - len(note))].decode("utf-8", "ignore").encode() + note
    with path.open("ab") as fh:
        fh.write(data)
    return path
