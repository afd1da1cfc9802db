"""Baselines: accept what a repository already has, gate on what comes after.

`pipeline-guard baseline create` scans and writes the fingerprints of every
unsuppressed finding to `.pipeline-guard-baseline.json`; later scans mark the
findings it lists as suppressed (kind `external`, source `<file>:<line>`,
reason `in baseline <date>`), so they stay visible in every report but no
longer fail a gate. `baseline update` drops entries no finding matches any
more (fixed code) and adds the current findings, keeping each entry's date.

The file is JSON with one entry per line (wrapped here), sorted by path, rule and
fingerprint, so a review diff shows exactly which findings were accepted:

    {
      "version": 1,
      "generated_by": "pipeline-guard 0.1.0",
      "created": "2025-01-31",
      "updated": "2025-02-14",
      "findings": [
        {"fingerprint": "3f1c...", "rule_id": "B602", "path": "app.py", "scanner": "bandit",
         "added": "2025-01-31"}
      ]
    }

Fingerprints are content-based and line-number-free (normalize.py), so moving
code does not drop a finding out of the baseline; editing the flagged line does.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline_guard import __version__
from pipeline_guard.config import Config
from pipeline_guard.errors import UserError
from pipeline_guard.fsutil import atomic_write_text
from pipeline_guard.model import Finding, Suppression

DEFAULT_FILE = ".pipeline-guard-baseline.json"
FORMAT_VERSION = 1
_FINGERPRINT_LINE = re.compile(r'"fingerprint"\s*:\s*"([0-9a-f]+)"')


@dataclass(frozen=True)
class BaselineEntry:
    fingerprint: str
    rule_id: str
    path: str
    scanner: str
    added: str  # ISO date the finding was accepted
    line: int | None = None  # where the entry sits in the file, for the suppression source


@dataclass(frozen=True)
class Baseline:
    path: Path
    entries: tuple[BaselineEntry, ...]
    created: str

    def by_fingerprint(self) -> dict[str, BaselineEntry]:
        return {e.fingerprint: e for e in self.entries}


@dataclass(frozen=True)
class BaselineResult:
    findings: list[Finding]
    notes: list[str]


@dataclass(frozen=True)
class BaselineChange:
    baseline: Baseline
    added: int
    dropped: int
    kept: int


def baseline_for(explicit: Path | None, config: Config, root: Path) -> Baseline | None:
    """The baseline a scan applies: `explicit` (--baseline), else the config's
    `baseline`, else `<root>/.pipeline-guard-baseline.json` when it exists. A file
    named explicitly or in the config must exist."""
    if explicit is not None:
        return load(explicit, origin="--baseline")
    if config.baseline is not None:
        where = f"{config.path.name}: baseline" if config.path else "baseline"
        return load(config.baseline, origin=where)
    default = root / DEFAULT_FILE
    return load(default) if default.is_file() else None


def load(path: Path, origin: str | None = None) -> Baseline:
    """Read a baseline file; UserError naming the file (and line) when it is unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        named = f" (named by {origin})" if origin else ""
        raise UserError(
            f"{path}: no such baseline file{named}; create it with "
            f"`pipeline-guard baseline create --file {path}`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the baseline file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    return _parse(path, data, _entry_lines(text))


def _entry_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _FINGERPRINT_LINE.finditer(line):
            lines.setdefault(match.group(1), number)
    return lines


def _parse(path: Path, data: Any, lines: dict[str, int]) -> Baseline:
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise UserError(
            f"{path}: not a pipeline-guard baseline (expected an object with "
            f'"version": {FORMAT_VERSION} and "findings")'
        )
    raw = data.get("findings")
    if not isinstance(raw, list):
        raise UserError(f'{path}: "findings" must be a list')
    entries = []
    for index, item in enumerate(raw):
        fingerprint = item.get("fingerprint") if isinstance(item, dict) else None
        if not isinstance(fingerprint, str) or not fingerprint:
            raise UserError(f"{path}: findings[{index}] has no fingerprint")
        entries.append(
            BaselineEntry(
                fingerprint=fingerprint,
                rule_id=str(item.get("rule_id", "")),
                path=str(item.get("path", "")),
                scanner=str(item.get("scanner", "")),
                added=str(item.get("added", data.get("created", ""))),
                line=lines.get(fingerprint),
            )
        )
    return Baseline(path, tuple(entries), str(data.get("created", "")))


def apply_baseline(
    findings: Sequence[Finding], baseline: Baseline, *, partial: bool = False
) -> BaselineResult:
    """Mark findings the baseline lists as suppressed. `partial`: only some files
    were scanned, so unmatched entries say nothing about fixed findings."""
    entries = baseline.by_fingerprint()
    matched: set[str] = set()
    out = []
    for finding in findings:
        entry = entries.get(finding.fingerprint)
        if entry is None:
            out.append(finding)
            continue
        matched.add(entry.fingerprint)
        if finding.suppression is not None:
            out.append(finding)  # an inline or config suppression says more
            continue
        line = f":{entry.line}" if entry.line else ""
        suppression = Suppression(
            kind="external",
            reason=f"in baseline {entry.added}".rstrip(),
            source=f"{baseline.path.name}{line}",
        )
        out.append(replace(finding, suppression=suppression))
    notes = []
    unmatched = len(entries) - len(matched)
    if unmatched and not partial:
        notes.append(
            f"baseline {baseline.path.name}: {unmatched} of {len(entries)} entries match no "
            "finding any more (fixed, or the flagged line changed); "
            "`pipeline-guard baseline update` drops them"
        )
    return BaselineResult(out, notes)


def build(
    findings: Iterable[Finding], previous: Baseline | None, path: Path, today: dt.date
) -> BaselineChange:
    """The baseline accepting `findings` (unsuppressed ones); entries that were in
    `previous` keep their date, entries no finding matches are dropped."""
    kept_before = previous.by_fingerprint() if previous else {}
    date = today.isoformat()
    entries: dict[str, BaselineEntry] = {}
    for f in findings:
        if f.suppression is not None or f.fingerprint in entries:
            continue
        before = kept_before.get(f.fingerprint)
        entries[f.fingerprint] = BaselineEntry(
            fingerprint=f.fingerprint,
            rule_id=f.rule_id,
            path=f.location.path,
            scanner=f.scanner,
            added=before.added if before else date,
        )
    ordered = tuple(sorted(entries.values(), key=lambda e: (e.path, e.rule_id, e.fingerprint)))
    kept = sum(1 for fp in entries if fp in kept_before)
    return BaselineChange(
        baseline=Baseline(path, ordered, previous.created if previous else date),
        added=len(entries) - kept,
        dropped=len(kept_before) - kept,
        kept=kept,
    )


def render(baseline: Baseline, today: dt.date) -> str:
    """The file's text: a stable header, then one entry per line."""
    header = {
        "version": FORMAT_VERSION,
        "generated_by": f"pipeline-guard {__version__}",
        "created": baseline.created or today.isoformat(),
        "updated": today.isoformat(),
    }
    lines = ["{"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in header.items()]
    if not baseline.entries:
        lines.append('  "findings": []')
    else:
        lines.append('  "findings": [')
        rows = [
            "    "
            + json.dumps(
                {
                    "fingerprint": e.fingerprint,
                    "rule_id": e.rule_id,
                    "path": e.path,
                    "scanner": e.scanner,
                    "added": e.added,
                }
            )
            for e in baseline.entries
        ]
        lines.append(",\n".join(rows))
        lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(baseline: Baseline, today: dt.date) -> None:
    """Write the baseline file atomically."""
    atomic_write_text(baseline.path, render(baseline, today))
