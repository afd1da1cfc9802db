"""From raw scanner findings to the deduplicated list every later step uses.

Steps, in order: fill each finding's snippet from the file, scrub every known
secret value from every text field, compute fingerprints, merge duplicates.

Fingerprint (stable across runs and unrelated edits): sha256 over
  - code findings: category, path, issue key (primary CWE if the tool gave one,
    else the rule id), the flagged line with all whitespace removed, and the
    rank of that line among the lines that share the same preceding values;
  - package findings: category, manifest, ecosystem, name, version, primary
    advisory id.
Line numbers are deliberately left out, so inserting lines above a finding or
reformatting another function does not change it. Keying code findings on the
CWE is what lets two tools' reports of one issue (semgrep and bandit on one
`shell=True` call) share a fingerprint and merge.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from pipeline_guard.model import Category, Finding, ScannerRun, Source
from pipeline_guard.secrets.redact import scrub

MAX_SNIPPET_LINES = 5
MAX_SNIPPET_CHARS = 400
_WHITESPACE = re.compile(r"\s+")


class SourceFiles:
    """Lines of scanned files, read once and shared by every step."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lines: dict[str, list[str] | None] = {}

    def lines(self, path: str) -> list[str] | None:
        if path not in self._lines:
            try:
                data = (self.root / path).read_bytes()
            except OSError:
                self._lines[path] = None
            else:
                self._lines[path] = data.decode("utf-8", "replace").splitlines()
        return self._lines[path]

    def line(self, path: str, number: int | None) -> str | None:
        lines = self.lines(path)
        if lines is None or number is None or not 1 <= number <= len(lines):
            return None
        return lines[number - 1]


def normalize(runs: Sequence[ScannerRun], files: SourceFiles) -> list[Finding]:
    """Snippets, redaction, fingerprints and dedup over all runs' findings."""
    secrets = sorted({v for run in runs for v in run.redact if v}, key=len, reverse=True)
    raw = [_redact(_with_snippet(f, files), secrets) for run in runs for f in run.findings]
    return deduplicate(fingerprint_all(raw, files))


def _with_snippet(finding: Finding, files: SourceFiles) -> Finding:
    loc = finding.location
    if loc.snippet is not None or loc.start_line is None or finding.package is not None:
        return finding
    lines = files.lines(loc.path)
    if lines is None or not 1 <= loc.start_line <= len(lines):
        return finding
    end = min(loc.end_line or loc.start_line, loc.start_line + MAX_SNIPPET_LINES - 1, len(lines))
    snippet = "\n".join(lines[loc.start_line - 1 : end])[:MAX_SNIPPET_CHARS]
    return replace(finding, location=replace(loc, snippet=snippet))


def _redact(finding: Finding, secrets: Sequence[str]) -> Finding:
    if not secrets:
        return finding
    loc = finding.location
    return replace(
        finding,
        title=scrub(finding.title, secrets),
        message=scrub(finding.message, secrets),
        location=replace(loc, snippet=scrub(loc.snippet, secrets) if loc.snippet else None),
    )


def _basis(finding: Finding, files: SourceFiles) -> tuple[str, ...]:
    if finding.package is not None:
        pkg = finding.package
        primary = finding.advisories[0] if finding.advisories else finding.rule_id
        return (
            finding.category.value,
            pkg.manifest or finding.location.path,
            pkg.ecosystem,
            pkg.name,
            pkg.version,
            primary,
        )
    key = finding.cwes[0] if finding.cwes and finding.category is Category.SAST else finding.rule_id
    text = files.line(finding.location.path, finding.location.start_line)
    content = _WHITESPACE.sub("", text) if text is not None else finding.message
    return (finding.category.value, finding.location.path, key, content)


def fingerprint_all(findings: Iterable[Finding], files: SourceFiles) -> list[Finding]:
    """Set each finding's fingerprint (see module docstring)."""
    items = [(f, _basis(f, files)) for f in findings]
    lines_by_basis: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for f, basis in items:
        lines_by_basis[basis].add(f.location.start_line or 0)
    out = []
    for f, basis in items:
        rank = sorted(lines_by_basis[basis]).index(f.location.start_line or 0)
        digest = hashlib.sha256("\x1f".join((*basis, str(rank))).encode()).hexdigest()
        out.append(replace(f, fingerprint=digest))
    return out


def deduplicate(findings: Iterable[Finding]) -> list[Finding]:
    """Merge reports of one issue; `sources` lists every report.

    First by fingerprint; then code findings on the same line whose CWE lists
    overlap on a primary CWE (bandit's B506 says CWE-20 for `yaml.load`, our
    semgrep rule says CWE-502 and lists CWE-20 too).
    """
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        groups[f.fingerprint].append(f)
    merged = [_merge(group) for group in groups.values()]
    by_line: dict[tuple[str, int], list[Finding]] = defaultdict(list)
    others = []
    for f in merged:
        if f.category is Category.SAST and f.cwes and f.location.start_line is not None:
            by_line[(f.location.path, f.location.start_line)].append(f)
        else:
            others.append(f)
    for same_line in by_line.values():
        others.extend(_merge(cluster) for cluster in _related_clusters(same_line))
    others.sort(key=sort_key)
    return others


def _related_clusters(findings: list[Finding]) -> list[list[Finding]]:
    clusters: list[list[Finding]] = []
    for f in findings:
        joined = [c for c in clusters if any(_related(f, other) for other in c)]
        for c in joined:
            clusters.remove(c)
        clusters.append([f for c in joined for f in c] + [f])
    return clusters


def _related(a: Finding, b: Finding) -> bool:
    return a.cwes[0] in b.cwes or b.cwes[0] in a.cwes


def _merge(group: list[Finding]) -> Finding:
    """One finding for a group of reports; the primary is the most severe report
    (ties: the first scanner by name), so the result does not depend on which
    scanner finished first."""
    group = sorted(group, key=lambda f: (-f.severity, f.scanner, f.rule_id))
    primary = group[0]
    sources = tuple(
        dict.fromkeys(
            s
            for f in group
            for s in (f.sources or (Source(f.scanner, f.rule_id, f.location.start_line),))
        )
    )
    return replace(
        primary,
        sources=sources,
        cwes=_union(f.cwes for f in group),
        advisories=_union(f.advisories for f in group),
        tags=_union(f.tags for f in group),
    )


def sort_key(f: Finding) -> tuple[int, str, int, str]:
    """Most severe first, then by place."""
    return (-f.severity, f.location.path, f.location.start_line or 0, f.rule_id)


def _union(parts: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x for part in parts for x in part))
