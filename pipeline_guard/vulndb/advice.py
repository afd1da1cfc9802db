"""Words for a vulnerable package: the summary, and what to do about it.

Shared by every scanner that turns OSV matches into findings (lockfiles, images).
"""

from __future__ import annotations

from pipeline_guard.sources.base import Dependency
from pipeline_guard.vulndb.matcher import VulnMatch

TITLE_MAX = 160
SUMMARY_MAX = 240


def advisory_summary(match: VulnMatch) -> str:
    """The advisory's one-line summary, else the first line of its details."""
    if match.summary.strip():
        return match.summary.strip()
    first = match.details.strip().split("\n", 1)[0].strip()
    return clip(first, SUMMARY_MAX) if first else "known vulnerability"


def clip(text: str, limit: int = TITLE_MAX) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def fix_advice(dep: Dependency, match: VulnMatch) -> str:
    """The lowest release that fixes every merged advisory, or why there is none."""
    fix = match.lowest_fix_above(dep.version)
    if fix:
        return f"Upgrade {dep.name} to {fix} or later."
    if match.fixed_versions:
        return (
            f"Fixed in {', '.join(match.fixed_versions)}, but not every advisory for it names "
            f"a release above {dep.version} that fixes it: check the advisory before upgrading."
        )
    return f"No fixed version is known: remove or replace {dep.name}, or accept the risk."
