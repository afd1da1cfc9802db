"""The one severity scale: our `Severity` <-> SARIF levels and CVSS-like scores.

Every reporter and every SARIF ingester uses these tables, so a finding reads as
the same severity in the terminal, the JSON report, the PR comment and GitHub
code scanning.

GitHub code scanning reads a rule's `properties["security-severity"]` (a string
holding a number in 0.1-10.0) and buckets it the way CVSS v3 does: 9.0-10.0
critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low; 0.0 (or anything else)
means "no security severity". The numbers below sit inside those buckets, away
from the edges, so rounding never moves a finding into a neighbouring bucket.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from pipeline_guard.model import Finding, Severity

#: SARIF `level` for each severity. SARIF has only three useful levels.
SARIF_LEVEL: Mapping[Severity, str] = MappingProxyType(
    {
        Severity.CRITICAL: "error",
        Severity.HIGH: "error",
        Severity.MEDIUM: "warning",
        Severity.LOW: "note",
        Severity.INFO: "note",
    }
)

#: Severity for each SARIF `level`, used when ingesting SARIF without a score.
#: "error" maps to high, not critical: SARIF "error" is also used for bugs that
#: are not security critical, and critical is reserved for evidence (a score).
SEVERITY_FOR_SARIF_LEVEL: Mapping[str, Severity] = MappingProxyType(
    {
        "error": Severity.HIGH,
        "warning": Severity.MEDIUM,
        "note": Severity.LOW,
        "none": Severity.INFO,
    }
)

#: GitHub `security-severity` number for each severity (the middle of its band).
#: INFO is 0.0, which GitHub reads as "no security severity".
SECURITY_SEVERITY: Mapping[Severity, float] = MappingProxyType(
    {
        Severity.CRITICAL: 9.5,
        Severity.HIGH: 8.0,
        Severity.MEDIUM: 5.5,
        Severity.LOW: 2.0,
        Severity.INFO: 0.0,
    }
)

#: Lowest score of each band (CVSS v3.x qualitative rating scale), most severe first.
_BAND_FLOOR: tuple[tuple[float, Severity], ...] = (
    (9.0, Severity.CRITICAL),
    (7.0, Severity.HIGH),
    (4.0, Severity.MEDIUM),
    (0.1, Severity.LOW),
)


def severity_from_score(score: float) -> Severity:
    """The severity band of a CVSS-like score in 0.0-10.0 (0.0 is INFO).

    Raises ValueError for a score outside 0.0-10.0 or not a number: such a value
    is a bug in the producer and must not be silently bucketed.
    """
    if not 0.0 <= score <= 10.0:  # also rejects NaN
        raise ValueError(f"score {score!r} is outside 0.0-10.0")
    for floor, severity in _BAND_FLOOR:
        if score >= floor:
            return severity
    return Severity.INFO


def severity_from_sarif_level(level: str | None) -> Severity:
    """The severity for a SARIF `level`; SARIF's default level is "warning"."""
    key = (level or "warning").strip().lower()
    try:
        return SEVERITY_FOR_SARIF_LEVEL[key]
    except KeyError:
        raise ValueError(
            f"unknown SARIF level {level!r} (expected one of: "
            f"{', '.join(SEVERITY_FOR_SARIF_LEVEL)})"
        ) from None


def sarif_level(severity: Severity) -> str:
    """SARIF `level` for a severity."""
    return SARIF_LEVEL[severity]


def security_severity(finding: Finding) -> float:
    """GitHub `security-severity` score for a finding.

    The finding's CVSS score is used when it falls in the band of the finding's
    severity; otherwise (the severity was overridden by config, or the tool's
    severity disagrees with the score) the table value is used, so GitHub never
    shows a different severity than the one our gate decided on.
    """
    score = finding.cvss_score
    if score is not None and 0.0 < score <= 10.0 and severity_from_score(score) is finding.severity:
        return round(score, 1)
    return SECURITY_SEVERITY[finding.severity]


def format_score(score: float) -> str:
    """A score as GitHub wants it: a string with one decimal ("9.5", "8.0")."""
    return f"{score:.1f}"


def severity_sort_key(finding: Finding) -> tuple[int, int, str, int, int, str, str]:
    """Sort key: most severe first, new before unchanged, then by place and rule."""
    loc = finding.location
    return (
        -int(finding.severity),
        0 if finding.baseline_state == "new" else 1,
        loc.path,
        loc.start_line or 0,
        loc.start_column or 0,
        finding.rule_id,
        finding.fingerprint,
    )


def most_severe_first(findings: Iterable[Finding]) -> list[Finding]:
    """Findings ordered most severe first, with a stable, deterministic tie-break."""
    return sorted(findings, key=severity_sort_key)


def severities_descending() -> list[Severity]:
    """All severities, critical first (column order for tables)."""
    return sorted(Severity, reverse=True)
