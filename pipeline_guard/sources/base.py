"""The dependency model every manifest parser produces, and the parser contract.

A parser turns one manifest or lockfile into a `ParsedManifest`: the exact
versions it pins (`Dependency`), and every entry it could not pin down
(`NotChecked`), so the user learns what the vulnerability check skipped.
Malformed input raises `ManifestError` naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from packageurl import PackageURL

# OSV ecosystem name -> purl type (https://github.com/package-url/purl-spec).
PURL_TYPES = {
    "PyPI": "pypi",
    "npm": "npm",
    "Go": "golang",
    "crates.io": "cargo",
    "RubyGems": "gem",
    "Packagist": "composer",
    "Maven": "maven",
    "NuGet": "nuget",
}

# Ecosystems whose package names carry a namespace before the last separator.
_NAMESPACE_SEPARATORS = {"npm": "/", "Go": "/", "Packagist": "/", "Maven": ":"}


@dataclass(frozen=True)
class Dependency:
    """One package at one exact version, as a manifest declares it.

    `manifest` is the declaring file relative to the scan root and `line` the
    1-based line of the declaration in it. `direct` is None when the lockfile
    does not say whether the project asked for the package itself.
    """

    ecosystem: str  # OSV ecosystem name: PyPI, npm, Go, crates.io, ...
    name: str
    version: str
    manifest: str
    line: int
    direct: bool | None = None
    dev: bool = False
    optional: bool = False
    scope: str | None = None  # e.g. Maven scope, Gradle configurations, NuGet framework

    @property
    def purl(self) -> str:
        """The package URL, e.g. `pkg:pypi/django@3.2.0`."""
        return purl_for(self.ecosystem, self.name, self.version)


@dataclass(frozen=True)
class NotChecked:
    """A declared package the vulnerability check cannot cover, and why."""

    manifest: str
    line: int
    text: str  # the declaration as written, e.g. "flask>=2"
    reason: str  # e.g. "unpinned", "git dependency", "unresolved property ${x}"
    name: str | None = None

    def __str__(self) -> str:
        return f"{self.manifest}:{self.line} {self.text}: not checked ({self.reason})"


@dataclass(frozen=True)
class Include:
    """A reference from one manifest to another (pip `-r` / `-c`)."""

    line: int
    path: str  # relative to the scan root, already resolved against the including file
    constraint: bool = False  # `-c`: pins versions, installs nothing by itself


@dataclass
class ParsedManifest:
    """What one manifest declares."""

    path: str
    ecosystem: str
    dependencies: list[Dependency] = field(default_factory=list)
    not_checked: list[NotChecked] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # limits of the check, e.g. no transitive


class ManifestError(Exception):
    """A manifest that cannot be parsed: where, and what is wrong."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class DependencySource(Protocol):
    """One manifest format: which files it reads, and how."""

    #: short format name for messages, e.g. "package-lock.json"
    name: str
    ecosystem: str

    def matches(self, path: str) -> bool:
        """Does this parser read the file at `path` (relative, POSIX)?"""
        ...

    def parse(self, path: str, text: str) -> ParsedManifest:
        """Parse one file's text; raise ManifestError for malformed input."""
        ...


def basename(path: str) -> str:
    """The last component of a POSIX path."""
    return path.rsplit("/", 1)[-1]


def purl_for(ecosystem: str, name: str, version: str | None) -> str:
    """A package URL for a package in an OSV ecosystem."""
    ptype = PURL_TYPES.get(ecosystem, ecosystem.lower())
    namespace: str | None = None
    sep = _NAMESPACE_SEPARATORS.get(ecosystem)
    if sep and sep in name:
        namespace, name = name.rsplit(sep, 1)
    return str(PackageURL(type=ptype, namespace=namespace, name=name, version=version).to_string())
