"""What the scanners that match packages against the OSV database share:
opening it with a how-to-fix error, and reading their common options."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline_guard.model import Severity
from pipeline_guard.scanner import ScanFailure
from pipeline_guard.vulndb.store import VulnDB, VulnDBError

DEFAULT_MAX_DB_AGE_DAYS = 7.0


def open_db(path: Path) -> VulnDB:
    """The database, or a `config` failure that says how to get one."""
    try:
        return VulnDB.open(path)
    except VulnDBError as exc:
        raise ScanFailure("config", str(exc)) from None


def max_db_age_days(options: Mapping[str, Any], scanner: str) -> float:
    """`max_db_age_days` from a scanner's options (a number of days >= 0)."""
    value = options.get("max_db_age_days", DEFAULT_MAX_DB_AGE_DAYS)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ScanFailure(
            "config", f"{scanner}.max_db_age_days must be a number of days >= 0, not {value!r}"
        )
    return float(value)


def severity_overrides(options: Mapping[str, Any], scanner: str) -> dict[str, Severity]:
    """`severity:` from a scanner's options: rule, advisory id or alias -> Severity."""
    raw = options.get("severity") or {}
    if not isinstance(raw, Mapping):
        raise ScanFailure("config", f"{scanner}.severity must map ids to severities")
    try:
        return {str(k): Severity.parse(str(v)) for k, v in raw.items()}
    except ValueError as exc:
        raise ScanFailure("config", f"{scanner}.severity: {exc}") from None
