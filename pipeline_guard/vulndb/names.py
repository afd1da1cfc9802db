"""Ecosystem and package-name canonical forms, shared by the importer and every lookup.

Both sides of a lookup (the advisory database and a lockfile) go through
`normalize_name`, so two spellings a registry treats as one package meet on
one key. Each rule follows the registry's own notion of "the same name":

- PyPI: PEP 503, lowercase with runs of `-`, `_`, `.` made one `-`; pip and
  PyPI compare names this way (`jw.util` is `jw-util`).
- crates.io: lowercase, `-` made `_`; crates.io's `canon_crate_name`, which
  refuses a crate differing from another only in case or `-`/`_`.
- NuGet: lowercase; package ids are case-insensitive (advisories spell the same
  package `jQuery` and `jquery`).
- Packagist: lowercase; Composer names are case-insensitive, lowercase by rule.
- npm: as is. Legacy mixed-case packages (`JSONStream`) still exist beside
  lowercase ones, so lowercasing could hand one package another's advisories;
  lockfiles and OSV both carry the registry's exact spelling.
- Maven (`group:artifact`), Go module paths: as is; both are case-sensitive
  (the Go proxy escapes capitals as `!x`).
- Everything else (RubyGems, Debian, Alpine, ...): as is; names there are
  case-sensitive or lowercase by policy.

Surrounding whitespace is always stripped.
"""

from __future__ import annotations

import re

#: Ecosystem names as OSV spells them (https://ossf.github.io/osv-schema/#affectedpackage-field).
KNOWN_ECOSYSTEMS: tuple[str, ...] = (
    "AlmaLinux",
    "Alpine",
    "Android",
    "Bitnami",
    "CRAN",
    "Chainguard",
    "Debian",
    "GHC",
    "GIT",
    "GitHub Actions",
    "Go",
    "Hackage",
    "Hex",
    "Linux",
    "Mageia",
    "Maven",
    "MinimOS",
    "NuGet",
    "OSS-Fuzz",
    "Packagist",
    "Photon OS",
    "Pub",
    "PyPI",
    "Red Hat",
    "Rocky Linux",
    "RubyGems",
    "SUSE",
    "SwiftURL",
    "Ubuntu",
    "Wolfi",
    "crates.io",
    "npm",
    "openEuler",
    "openSUSE",
)

_CANONICAL = {name.lower(): name for name in KNOWN_ECOSYSTEMS}
_PEP503 = re.compile(r"[-_.]+")


def base_ecosystem(ecosystem: str) -> str:
    """The ecosystem without its release suffix: "Debian:12" -> "Debian", "PyPI" -> "PyPI"."""
    return ecosystem.split(":", 1)[0].strip()


def canonical_ecosystem(ecosystem: str) -> str:
    """OSV's spelling of an ecosystem in any case: "pypi" -> "PyPI", "debian:12" -> "Debian:12".

    Unknown names are returned stripped but otherwise unchanged, so a newer OSV
    ecosystem still works.
    """
    text = ecosystem.strip()
    base, sep, release = text.partition(":")
    canonical = _CANONICAL.get(base.strip().lower(), base.strip())
    return f"{canonical}{sep}{release}" if sep else canonical


def normalize_name(ecosystem: str, name: str) -> str:
    """The canonical form of a package name within `ecosystem` (see the module table)."""
    base = base_ecosystem(canonical_ecosystem(ecosystem))
    text = name.strip()
    if base == "PyPI":
        return _PEP503.sub("-", text).lower()
    if base == "crates.io":
        return text.lower().replace("-", "_")
    if base in ("NuGet", "Packagist"):
        return text.lower()
    return text
