"""Suppressions: accepted findings are marked, never dropped.

Two front doors here (a baseline file is the third, in baseline.py):
- `ignore:` entries in pipeline-guard.yml, each with a reason; an entry past
  its `expires` date stops applying and the run says so;
- inline comments `pipeline-guard: ignore[RULE-ID] reason` on the flagged line
  or the line above. An inline ignore without a reason does not apply and is
  itself reported, so "quiet the tool" always leaves a trace.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pipeline_guard.config import IgnoreRule
from pipeline_guard.files import matches_any
from pipeline_guard.model import Category, Finding, Location, Severity, Source, Suppression
from pipeline_guard.normalize import SourceFiles

INLINE = re.compile(r"pipeline-guard:\s*ignore\[([^\]]+)\]\s*(.*)")
# Trailing comment closers that are not part of the reason.
_CLOSERS = re.compile(r"\s*(?:\*/|-->|#\}|%\}|\}\})\s*$")
NO_REASON_RULE = "pg.suppression-without-reason"
# The scanners' own inline ignores. The adapters run the tools with these
# disabled (--disable-nosem, --ignore-nosec), so instead of vanishing the
# findings come back here and are marked suppressed, visible in every report.
NATIVE = {
    "semgrep": re.compile(r"\bnosem(?:grep)?\b(?::\s*(?P<ids>[\w.\-]+(?:\s*,\s*[\w.\-]+)*))?"),
    "bandit": re.compile(r"#\s*nosec\b(?:[:\s]+(?P<ids>[A-Z]\d{3}(?:[\s,]+[A-Z]\d{3})*))?"),
}


@dataclass(frozen=True)
class SuppressionResult:
    findings: list[Finding]
    notes: list[str]


def apply_suppressions(
    findings: Sequence[Finding],
    ignores: Sequence[IgnoreRule],
    files: SourceFiles,
    today: dt.date | None = None,
) -> SuppressionResult:
    """Mark findings matched by config ignores or inline comments."""
    today = today or dt.date.today()
    notes = [
        f"{rule.source}: ignore entry expired on {rule.expires} and no longer applies"
        f" ({rule.reason})"
        for rule in ignores
        if rule.expired(today)
    ]
    active = [rule for rule in ignores if not rule.expired(today)]
    out: list[Finding] = []
    reasonless: dict[tuple[str, int], Finding] = {}
    for finding in findings:
        suppression = _from_config(finding, active)
        if suppression is None:
            suppression, missing_reason_at = _inline(finding, files)
            if missing_reason_at is not None:
                reasonless[(finding.location.path, missing_reason_at)] = finding
        if suppression is None:
            suppression = _native(finding, files)
        out.append(replace(finding, suppression=suppression) if suppression else finding)
    out.extend(
        _reasonless_finding(path, line, files.line(path, line) or "")
        for (path, line) in sorted(reasonless)
    )
    return SuppressionResult(out, notes)


def _from_config(finding: Finding, rules: Sequence[IgnoreRule]) -> Suppression | None:
    for rule in rules:
        if _matches(finding, rule):
            return Suppression(
                kind="external",
                reason=rule.reason,
                source=rule.source,
                owner=rule.owner,
                expires=rule.expires.isoformat() if rule.expires else None,
            )
    return None


def _matches(finding: Finding, rule: IgnoreRule) -> bool:
    if rule.rule is not None and rule.rule not in _rule_ids(finding):
        return False
    if rule.advisory is not None and rule.advisory not in finding.advisories:
        return False
    if rule.package is not None and (
        finding.package is None or finding.package.name.lower() != rule.package.lower()
    ):
        return False
    if rule.path is not None and not matches_any(finding.location.path, [rule.path]):
        return False
    return rule.fingerprint is None or finding.fingerprint.startswith(rule.fingerprint)


def _rule_ids(finding: Finding) -> set[str]:
    return {finding.rule_id, *(s.rule_id for s in finding.sources)}


def _inline(finding: Finding, files: SourceFiles) -> tuple[Suppression | None, int | None]:
    """(suppression, line of a reason-less ignore comment that matched this finding)."""
    line_no = finding.location.start_line
    if line_no is None or finding.package is not None:
        return None, None
    for candidate in (line_no, line_no - 1):
        text = files.line(finding.location.path, candidate)
        match = INLINE.search(text or "")
        if match is None:
            continue
        wanted = {r.strip() for r in match.group(1).split(",")}
        if not wanted & _rule_ids(finding):
            continue
        reason = _CLOSERS.sub("", match.group(2)).strip()
        if not reason:
            return None, candidate
        source = f"{finding.location.path}:{candidate}"
        return Suppression(kind="inSource", reason=reason, source=source), None
    return None, None


def _native(finding: Finding, files: SourceFiles) -> Suppression | None:
    """A `# nosemgrep` or `# nosec` comment on the flagged line, for that tool's reports."""
    text = files.line(finding.location.path, finding.location.start_line) or ""
    for source in finding.sources or (Source(finding.scanner, finding.rule_id),):
        pattern = NATIVE.get(source.scanner)
        match = pattern.search(text) if pattern else None
        if match is None:
            continue
        ids = {i for i in re.split(r"[\s,]+", match.group("ids") or "") if i}
        if ids and source.rule_id not in ids:
            continue
        comment = text[match.start() :].strip()
        return Suppression(
            kind="inSource",
            reason=f"{source.scanner} inline ignore: {comment}",
            source=f"{finding.location.path}:{finding.location.start_line}",
        )
    return None


def _reasonless_finding(path: str, line: int, text: str) -> Finding:
    return Finding(
        scanner="pipeline-guard",
        category=Category.SAST,
        rule_id=NO_REASON_RULE,
        title="Inline suppression without a reason",
        message=(
            "This `pipeline-guard: ignore[...]` comment gives no reason, so it does not "
            "apply. Add why the finding is acceptable after the closing bracket."
        ),
        severity=Severity.LOW,
        location=Location(path=path, start_line=line),
        # Like normalize's fingerprints: no line number, so moving the comment keeps it.
        fingerprint=hashlib.sha256(
            f"{NO_REASON_RULE}\x1f{path}\x1f{text.strip()}".encode()
        ).hexdigest(),
        sources=(Source("pipeline-guard", NO_REASON_RULE, line),),
    )
