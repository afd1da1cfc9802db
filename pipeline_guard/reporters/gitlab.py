"""GitLab code-quality report (`artifacts:reports:codequality`).

A JSON array of Code Climate issues, of which GitLab reads `description`,
`check_name`, `fingerprint`, `severity` and `location.path` +
`location.lines.begin`. GitLab uses the fingerprint to tell new issues from
fixed ones between the merge request's base and head, so it must be stable and
unique: ours is (see `Finding.fingerprint`), and two findings sharing one (same
rule on the same code in two places of a file) get the occurrence number
hashed in.

Suppressed findings are left out: GitLab has no notion of an accepted issue,
and listing them would make the merge-request widget show accepted risk as new.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any, Final

from pipeline_guard.model import Finding, ScanReport, Severity
from pipeline_guard.reporters.escape import redact_report
from pipeline_guard.severity_scale import most_severe_first

EXTENSION: Final = ".gitlab-codequality.json"

#: GitLab code-quality severity per severity.
SEVERITY: Final[Mapping[Severity, str]] = {
    Severity.CRITICAL: "blocker",
    Severity.HIGH: "critical",
    Severity.MEDIUM: "major",
    Severity.LOW: "minor",
    Severity.INFO: "info",
}


def render(report: ScanReport) -> str:
    """The code-quality JSON array."""
    return json.dumps(issues(report), indent=2, ensure_ascii=False) + "\n"


def issues(report: ScanReport) -> list[dict[str, Any]]:
    """One issue per active finding, most severe first."""
    report = redact_report(report)
    seen: Counter[str] = Counter()
    out = []
    for finding in most_severe_first(report.active):
        base = finding.fingerprint or _fallback_fingerprint(finding)
        seen[base] += 1
        out.append(_issue(finding, _unique(base, seen[base])))
    return out


def _issue(finding: Finding, fingerprint: str) -> dict[str, Any]:
    loc = finding.location
    begin = loc.start_line or 1  # GitLab requires a line; a file-level finding is line 1
    lines: dict[str, int] = {"begin": begin}
    if loc.end_line and loc.end_line > begin:
        lines["end"] = loc.end_line
    return {
        "type": "issue",
        "description": _description(finding),
        "check_name": finding.rule_id,
        "fingerprint": fingerprint,
        "severity": SEVERITY[finding.severity],
        "categories": ["Security"],
        "location": {"path": loc.path, "lines": lines},
        "engine_name": f"pipeline-guard/{finding.scanner}",
    }


def _description(finding: Finding) -> str:
    text = (
        finding.title if finding.title == finding.message else f"{finding.title}: {finding.message}"
    )
    pkg = finding.package
    if pkg is not None:
        fixed = f"fixed in {', '.join(pkg.fixed_versions)}" if pkg.fixed_versions else "no fix"
        text += f" ({pkg.name} {pkg.version}; {fixed})"
    return text


def _fallback_fingerprint(finding: Finding) -> str:
    # Only for reports built without the core (which always fills fingerprints).
    key = "\0".join(
        [finding.scanner, finding.rule_id, finding.location.path, str(finding.location.start_line)]
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _unique(fingerprint: str, occurrence: int) -> str:
    if occurrence == 1:
        return fingerprint
    return hashlib.sha256(f"{fingerprint}\0{occurrence}".encode()).hexdigest()[:32]
