"""NuGet versions, ordered like NuGet.Versioning's `VersionComparer.Default`.

Major.Minor[.Patch[.Revision]] (missing parts are 0, leading zeros allowed),
then a release sorts after its pre-releases; pre-release labels compare one by
one, numeric labels numerically and before alphanumeric ones, alphanumeric
labels case-insensitively; build metadata after "+" is ignored. There is no
.NET here, so tests/test_versions.py checks this against cases from
NuGet.Client's own comparer tests plus the invariants on the advisory versions.
"""

from __future__ import annotations

import functools
import re

from pipeline_guard.vulndb.versions.base import KEY_CACHE_SIZE, InvalidVersion, KeyOrdering

NAME = "NuGet"

_LABEL = r"[0-9A-Za-z-]+"
_NUGET = re.compile(
    r"^\s*(?P<core>[0-9]+(?:\.[0-9]+){0,3})"
    rf"(?:-(?P<pre>{_LABEL}(?:\.{_LABEL})*))?"
    rf"(?:\+(?P<meta>{_LABEL}(?:\.{_LABEL})*))?\s*$"
)
_RELEASE: tuple[object, ...] = (1,)


def _label_key(label: str) -> tuple[int, int, str]:
    if label.isdigit():
        return (0, int(label), "")
    # NuGet uses StringComparer.OrdinalIgnoreCase, which compares upper-cased text.
    return (1, 0, label.upper())


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def key(version: str) -> tuple[object, ...]:
    """(major, minor, patch, revision, pre-release key)."""
    m = _NUGET.match(version)
    if m is None:
        raise InvalidVersion(NAME, version)
    parts = [int(p) for p in m["core"].split(".")]
    parts += [0] * (4 - len(parts))
    pre = m["pre"]
    release = _RELEASE if pre is None else (0, tuple(_label_key(x) for x in pre.split(".")))
    return (*parts, release)


ORDERING = KeyOrdering(NAME, key)
