"""Go module and toolchain versions, ordered like golang.org/x/mod/semver.

Module versions carry a "v" prefix ("v1.2.3"); OSV ranges drop it ("1.2.3").
Pseudo-versions ("v0.0.0-20210101000000-abcdef123456") are ordinary SemVer
pre-releases, and "+incompatible" is build metadata, which precedence ignores.
Like x/mod/semver, "v1" and "v1.2" are shorthands for "v1.0.0" and "v1.2.0".

The `stdlib` and `toolchain` packages are versioned like the Go release:
"go1.21.3", "go1.21rc2", "go1.20"; they are mapped to the SemVer the Go vulnerability
database uses ("1.21.3", "1.21.0-rc.2", "1.20.0"). Verified against x/mod/semver
(tests/test_versions.py).
"""

from __future__ import annotations

import functools
import re

from pipeline_guard.vulndb.versions.base import KEY_CACHE_SIZE, InvalidVersion, KeyOrdering
from pipeline_guard.vulndb.versions.semver import SemverKey, prerelease_key

NAME = "Go"

_NUM = r"0|[1-9][0-9]*"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
_GO_SEMVER = re.compile(
    rf"^v?(?P<major>{_NUM})(?:\.(?P<minor>{_NUM})(?:\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_PRE_ID}(?:\.{_PRE_ID})*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?)?)?$"
)
# Go release names: go1, go1.21, go1.21.3, go1.21rc2, go1.9beta1.
_GO_RELEASE = re.compile(
    r"^go(?P<major>[0-9]+)(?:\.(?P<minor>[0-9]+))?(?:\.(?P<patch>[0-9]+))?"
    r"(?:(?P<kind>beta|rc)(?P<num>[0-9]+))?$"
)


def toolchain_semver(version: str) -> str | None:
    """ "go1.21rc2" -> "1.21.0-rc.2"; None if it is not a Go release name."""
    m = _GO_RELEASE.match(version)
    if m is None:
        return None
    core = f"{int(m['major'])}.{int(m['minor'] or 0)}.{int(m['patch'] or 0)}"
    return f"{core}-{m['kind']}.{int(m['num'])}" if m["kind"] else core


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def key(version: str) -> SemverKey:
    """(major, minor, patch, pre-release key) with Go's shorthands."""
    if version.startswith("go"):
        mapped = toolchain_semver(version)
        if mapped is None:
            raise InvalidVersion(NAME, version, "not a Go release name")
        version = mapped
    m = _GO_SEMVER.match(version)
    if m is None:
        raise InvalidVersion(NAME, version)
    if m["minor"] is None or m["patch"] is None:
        return (int(m["major"]), int(m["minor"] or 0), 0, prerelease_key(None))
    return (int(m["major"]), int(m["minor"]), int(m["patch"]), prerelease_key(m["pre"]))


ORDERING = KeyOrdering(NAME, key)
