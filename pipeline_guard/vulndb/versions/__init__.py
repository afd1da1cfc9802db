"""Version orderings per OSV ecosystem.

`ordering_for("PyPI")` gives the ordering an advisory's `ECOSYSTEM` ranges use
for that ecosystem; `SEMVER` ranges use `semver_ordering_for`. An ecosystem
string may carry a suffix ("Debian:12", "Alpine:v3.18", "Maven:https://...");
only the part before the first ":" picks the ordering.

Each ordering either wraps a faithful library (PEP 440: `packaging`) or
reimplements the ecosystem's reference algorithm and is tested against the
reference tool on real advisory versions (tests/test_versions.py).
"""

from __future__ import annotations

from pipeline_guard.vulndb.versions import (
    apk,
    dpkg,
    golang,
    maven,
    nuget,
    packagist,
    pep440,
    rpm,
    rubygems,
    semver,
)
from pipeline_guard.vulndb.versions.base import InvalidVersion, KeyOrdering, VersionOrdering

__all__ = [
    "InvalidVersion",
    "KeyOrdering",
    "UnknownEcosystem",
    "VersionOrdering",
    "base_ecosystem",
    "ordering_for",
    "semver_ordering_for",
]

_BY_ECOSYSTEM: dict[str, VersionOrdering] = {
    "PyPI": pep440.ORDERING,
    "npm": semver.ORDERING,
    "crates.io": semver.ORDERING,
    "SwiftURL": semver.ORDERING,
    "Hex": semver.ORDERING,
    "Go": golang.ORDERING,
    "Maven": maven.ORDERING,
    "RubyGems": rubygems.ORDERING,
    "NuGet": nuget.ORDERING,
    "Packagist": packagist.ORDERING,
    "Debian": dpkg.ORDERING,
    "Ubuntu": dpkg.ORDERING,
    "Alpine": apk.ORDERING,
    "Wolfi": apk.ORDERING,
    "Chainguard": apk.ORDERING,
    "AlmaLinux": rpm.ORDERING,
    "Rocky Linux": rpm.ORDERING,
    "Red Hat": rpm.ORDERING,
    "openSUSE": rpm.ORDERING,
    "SUSE": rpm.ORDERING,
    "Mageia": rpm.ORDERING,
    "Photon OS": rpm.ORDERING,
    "openEuler": rpm.ORDERING,
}


class UnknownEcosystem(KeyError):
    """No ordering is known for this ecosystem."""

    def __str__(self) -> str:
        return f"no version ordering for ecosystem {self.args[0]!r}"


def base_ecosystem(ecosystem: str) -> str:
    """ "Debian:12" -> "Debian"; "PyPI" -> "PyPI"."""
    return ecosystem.split(":", 1)[0]


def ordering_for(ecosystem: str) -> VersionOrdering:
    """The ordering of `ECOSYSTEM` ranges; raises UnknownEcosystem."""
    try:
        return _BY_ECOSYSTEM[base_ecosystem(ecosystem)]
    except KeyError:
        raise UnknownEcosystem(ecosystem) from None


def semver_ordering_for(ecosystem: str) -> VersionOrdering:
    """The ordering of `SEMVER` ranges: SemVer 2.0, with Go's "v"/"go" prefixes for Go."""
    return golang.ORDERING if base_ecosystem(ecosystem) == "Go" else semver.ORDERING
