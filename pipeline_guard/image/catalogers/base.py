"""What a cataloger produces, and the attribution helper the package-database ones share."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from packageurl import PackageURL

from pipeline_guard.image.filesystem import Interest, LayerInfo, MergedFS
from pipeline_guard.image.osrelease import OSInfo
from pipeline_guard.sources.base import purl_for

T = TypeVar("T")


@dataclass(frozen=True)
class FoundPackage:
    """One installed package, where it is recorded, and the layer that installed it."""

    kind: str  # deb, apk, rpm, python, npm, maven, go
    ecosystem: str | None  # OSV ecosystem to match in; None: listed, not matched
    name: str
    version: str
    path: str  # the file that records it, relative to the image root
    layer: LayerInfo | None
    purl: str
    #: the name and version advisories are keyed on, when not the package's own
    #: (Debian and Ubuntu: the source package; Alpine: the origin package)
    source_name: str | None = None
    source_version: str | None = None
    arch: str | None = None

    @property
    def match_name(self) -> str:
        return self.source_name or self.name

    @property
    def match_version(self) -> str:
        return self.source_version or self.version


@dataclass
class CatalogResult:
    packages: list[FoundPackage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cataloger:
    """One kind of package: the files it needs and how it reads them."""

    name: str
    interests: tuple[Interest, ...]
    catalog: Callable[[MergedFS, OSInfo | None], CatalogResult]


def attribute(
    fs: MergedFS,
    path: str,
    parse: Callable[[bytes], Sequence[T]],
    key: Callable[[T], Hashable],
) -> list[tuple[T, LayerInfo]]:
    """Entries of a package database with the layer that introduced each.

    A package is attributed to the oldest layer from which on every rewrite of
    the database still lists it with the same key (name, version, arch): an
    upgrade in a later layer is that later layer's doing.
    """
    introduced: dict[Hashable, LayerInfo] = {}
    current: dict[Hashable, T] = {}
    for layer, data in fs.versions(path):
        current = {key(item): item for item in parse(data)} if data is not None else {}
        introduced = {k: introduced.get(k, layer) for k in current}
    return [(item, introduced[k]) for k, item in current.items()]


def os_ecosystem(
    os_info: OSInfo | None, family: str, kind: str, count: int
) -> tuple[str | None, list[str]]:
    """The ecosystem an OS package database is matched in, and a note when there is none."""
    if os_info is not None and os_info.family == family and os_info.ecosystem:
        return os_info.ecosystem, []
    if not count:
        return None, []
    name = os_info.pretty_name if os_info else "no OS detected"
    return None, [
        f"{count} {kind} packages found but the OS ({name}) has no OSV ecosystem: not matched"
    ]


def os_purl(
    purl_type: str,
    name: str,
    version: str,
    os_info: OSInfo | None,
    *,
    arch: str = "",
    upstream: str | None = None,
    **extra: str,
) -> str:
    """`pkg:<type>/<os id>/<name>@<version>?arch=..&distro=<id>-<version>&upstream=..`."""
    qualifiers = {"arch": arch} if arch else {}
    qualifiers.update(extra)
    if os_info and os_info.version_id:
        qualifiers["distro"] = f"{os_info.id}-{os_info.version_id}"
    if upstream and upstream != name:
        qualifiers["upstream"] = upstream
    return str(
        PackageURL(
            type=purl_type,
            namespace=os_info.id if os_info else None,
            name=name,
            version=version,
            qualifiers=qualifiers,
        ).to_string()
    )


def metadata_packages(
    fs: MergedFS,
    match: Callable[[str], bool],
    parse: Callable[[bytes], tuple[str, str] | None],
    kind: str,
    ecosystem: str,
) -> CatalogResult:
    """Language packages recorded one per metadata file (name and version in it)."""
    result = CatalogResult()
    for path, data in fs.files(match):
        parsed = parse(data)
        if parsed is None:
            result.notes.append(f"/{path}: no package name and version in it: not checked")
            continue
        name, version = parsed
        result.packages.append(
            FoundPackage(
                kind=kind,
                ecosystem=ecosystem,
                name=name,
                version=version,
                path=path,
                layer=fs.layer_of(path),
                purl=purl_for(ecosystem, name, version),
            )
        )
    return result
