"""An OSV advisory's severity as a pipeline-guard `Severity`, with score and vector.

Sources, first usable one wins:

1. CVSS vectors in `affected[].severity` (per package), then top-level
   `severity`: CVSS_V3 first (what most advisories and scanners rate with, so
   gates stay comparable), then CVSS_V4, then CVSS_V2. The base score is
   computed with the `cvss` library and mapped by the CVSS qualitative scale
   (`SCORE_SCALE`). A malformed vector is skipped, not trusted.
2. A word rating: GHSA's `database_specific.severity` (LOW, MODERATE, HIGH,
   CRITICAL) or an `Ubuntu` severity entry (`WORD_SEVERITY`).
3. The vendor rating that Red Hat-style advisories (AlmaLinux, Rocky) put at
   the start of the summary: "Important: kernel security update"
   (`VENDOR_SEVERITY`).
4. RustSec informational notices (`affected[].database_specific.informational`):
   "notice" is info and "unmaintained" low, because they report no
   vulnerability; "unsound" is a possible memory-safety bug and falls through.
5. Otherwise `DEFAULT_SEVERITY`, medium: an advisory nobody rated (Go, Debian,
   Alpine) is still a known vulnerability, so it must not read as low, but a
   guess must not block a "high+" gate by itself either. `source` says
   "default" so reports can show it was not rated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4, CVSSError

from pipeline_guard.model import Severity

DEFAULT_SEVERITY = Severity.MEDIUM

# CVSS v3/v4 qualitative severity rating scale: (lowest score, severity).
SCORE_SCALE: tuple[tuple[Decimal, Severity], ...] = (
    (Decimal("9.0"), Severity.CRITICAL),
    (Decimal("7.0"), Severity.HIGH),
    (Decimal("4.0"), Severity.MEDIUM),
    (Decimal("0.1"), Severity.LOW),
    (Decimal("0.0"), Severity.INFO),
)

WORD_SEVERITY: Mapping[str, Severity] = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MODERATE": Severity.MEDIUM,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
    "NEGLIGIBLE": Severity.INFO,
}

VENDOR_SEVERITY: Mapping[str, Severity] = {
    "Critical": Severity.CRITICAL,
    "Important": Severity.HIGH,
    "Moderate": Severity.MEDIUM,
    "Low": Severity.LOW,
}

INFORMATIONAL_SEVERITY: Mapping[str, Severity] = {
    "notice": Severity.INFO,
    "unmaintained": Severity.LOW,
}

# Preference among vector types, most preferred first.
_CVSS_TYPES: tuple[tuple[str, Any], ...] = (
    ("CVSS_V3", CVSS3),
    ("CVSS_V4", CVSS4),
    ("CVSS_V2", CVSS2),
)
_VENDOR_PREFIX = re.compile(r"^(Critical|Important|Moderate|Low):")


@dataclass(frozen=True)
class SeverityInfo:
    """A severity and where it came from."""

    severity: Severity
    source: str  # CVSS_V3 | CVSS_V4 | CVSS_V2 | database | vendor | informational | default
    score: float | None = None
    vector: str | None = None


def score_to_severity(score: Decimal | float) -> Severity:
    """CVSS base score -> Severity by the qualitative scale (9.0+ critical ... 0 info)."""
    value = Decimal(str(score))
    for lowest, severity in SCORE_SCALE:
        if value >= lowest:
            return severity
    return Severity.INFO


def _from_vectors(entries: Sequence[Mapping[str, Any]]) -> SeverityInfo | None:
    by_type = {e.get("type"): e.get("score") for e in entries if isinstance(e, Mapping)}
    for kind, parser in _CVSS_TYPES:
        vector = by_type.get(kind)
        if not isinstance(vector, str):
            continue
        try:
            score = Decimal(str(parser(vector).base_score))
        except (CVSSError, ValueError, KeyError):
            continue
        return SeverityInfo(score_to_severity(score), kind, float(score), vector)
    word = by_type.get("Ubuntu")
    if isinstance(word, str) and word.upper() in WORD_SEVERITY:
        return SeverityInfo(WORD_SEVERITY[word.upper()], "database")
    return None


def _from_words(
    advisory: Mapping[str, Any], entry: Mapping[str, Any] | None
) -> SeverityInfo | None:
    word = (advisory.get("database_specific") or {}).get("severity")
    if isinstance(word, str) and word.upper() in WORD_SEVERITY:
        return SeverityInfo(WORD_SEVERITY[word.upper()], "database")
    vendor = _VENDOR_PREFIX.match(advisory.get("summary") or "")
    if vendor:
        return SeverityInfo(VENDOR_SEVERITY[vendor[1]], "vendor")
    informational = ((entry or {}).get("database_specific") or {}).get("informational")
    if isinstance(informational, str) and informational in INFORMATIONAL_SEVERITY:
        return SeverityInfo(INFORMATIONAL_SEVERITY[informational], "informational")
    return None


def advisory_severity(
    advisory: Mapping[str, Any], entry: Mapping[str, Any] | None = None
) -> SeverityInfo:
    """The severity of `advisory` for the package of `entry` (an `affected[]` item)."""
    for vectors in ((entry or {}).get("severity"), advisory.get("severity")):
        if vectors:
            found = _from_vectors(vectors)
            if found:
                return found
    return _from_words(advisory, entry) or SeverityInfo(DEFAULT_SEVERITY, "default")
