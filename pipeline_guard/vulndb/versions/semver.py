"""SemVer 2.0 precedence (section 11): npm, crates.io and every `SEMVER` range.

Build metadata is ignored, a release sorts after its pre-releases, numeric
pre-release identifiers sort numerically and before alphanumeric ones. Like
node-semver we accept a leading "v" or "=" and surrounding spaces; like it, we
reject leading zeros in numeric parts. Verified against node's `semver`
package (tests/test_versions.py).
"""

from __future__ import annotations

import functools
import re

from pipeline_guard.vulndb.versions.base import KEY_CACHE_SIZE, InvalidVersion, KeyOrdering

NAME = "SemVer"

_NUM = r"0|[1-9][0-9]*"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
_SEMVER = re.compile(
    rf"^\s*[v=]?\s*(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_PRE_ID}(?:\.{_PRE_ID})*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?\s*$"
)

# A release's last element sorts above any pre-release tuple `(0, ids)`.
RELEASE: tuple[int, ...] = (1,)

SemverKey = tuple[int, int, int, tuple[object, ...]]


def prerelease_key(pre: str | None) -> tuple[object, ...]:
    """Key of a dot-separated pre-release string (None for a release)."""
    if pre is None:
        return RELEASE
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (0, ids)


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def key(version: str) -> SemverKey:
    """(major, minor, patch, pre-release key)."""
    m = _SEMVER.match(version)
    if m is None:
        raise InvalidVersion(NAME, version)
    return (int(m["major"]), int(m["minor"]), int(m["patch"]), prerelease_key(m["pre"]))


ORDERING = KeyOrdering(NAME, key)
