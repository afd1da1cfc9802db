"""Debian and Ubuntu packages: `/var/lib/dpkg/status` and distroless `status.d/*`.

Advisories for Debian and Ubuntu are written against the *source* package, so
each binary package is matched by its `Source:` name and version
(`Source: glibc (2.36-9)` when the binary version differs, e.g. after a binNMU;
no `Source:` field means the source is named and versioned like the binary).
Only packages dpkg considers present are listed: `Status` of `installed`,
`half-installed`, `unpacked`, `half-configured`, `triggers-awaited` or
`triggers-pending` (not `config-files` or `not-installed`); distroless
`status.d/` entries have no `Status` and are all installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline_guard.image.catalogers.base import (
    Cataloger,
    CatalogResult,
    FoundPackage,
    attribute,
    os_ecosystem,
    os_purl,
)
from pipeline_guard.image.filesystem import Interest, LayerInfo, MergedFS, Want
from pipeline_guard.image.osrelease import OSInfo

STATUS = "var/lib/dpkg/status"
STATUS_D = "var/lib/dpkg/status.d/"
_ABSENT = frozenset({"not-installed", "config-files"})
_SOURCE = re.compile(r"^(?P<name>\S+)(?:\s+\((?P<version>[^)]+)\))?")


@dataclass(frozen=True)
class DpkgEntry:
    name: str
    version: str
    arch: str
    source_name: str
    source_version: str


def parse_status(data: bytes) -> list[DpkgEntry]:
    """The present packages in a dpkg status file (or one status.d entry)."""
    text = data.decode("utf-8", "replace")
    out = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields = _fields(paragraph)
        name, version = fields.get("Package"), fields.get("Version")
        if not name or not version:
            continue
        status = fields.get("Status", "install ok installed").split()
        if status and status[-1] in _ABSENT:
            continue
        source = _SOURCE.match(fields.get("Source", ""))
        out.append(
            DpkgEntry(
                name=name,
                version=version,
                arch=fields.get("Architecture", ""),
                source_name=source.group("name") if source else name,
                source_version=(source.group("version") if source else None) or version,
            )
        )
    return out


def _fields(paragraph: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in paragraph.splitlines():
        if not line or line[0] in " \t#":
            continue  # continuation lines belong to fields we do not read
        key, sep, value = line.partition(":")
        if sep:
            fields[key] = value.strip()
    return fields


def _in_status_d(path: str) -> bool:
    return path.startswith(STATUS_D) and not path.endswith(".md5sums")


def catalog(fs: MergedFS, os_info: OSInfo | None) -> CatalogResult:
    result = CatalogResult()
    found: list[tuple[DpkgEntry, LayerInfo | None, str]] = [
        (entry, layer, STATUS)
        for entry, layer in attribute(
            fs, STATUS, parse_status, lambda e: (e.name, e.arch, e.version)
        )
    ]
    for path, data in fs.files(_in_status_d):
        found.extend((e, fs.layer_of(path), path) for e in parse_status(data))
    ecosystem, result.notes = os_ecosystem(os_info, "debian", "dpkg", len(found))
    for entry, layer, path in found:
        result.packages.append(
            FoundPackage(
                kind="deb",
                ecosystem=ecosystem,
                name=entry.name,
                version=entry.version,
                path=path,
                layer=layer,
                purl=os_purl(
                    "deb",
                    entry.name,
                    entry.version,
                    os_info,
                    arch=entry.arch,
                    upstream=entry.source_name,
                ),
                source_name=entry.source_name,
                source_version=entry.source_version,
                arch=entry.arch or None,
            )
        )
    return result


CATALOGER = Cataloger(
    name="dpkg",
    interests=(
        Interest("dpkg-status", STATUS.__eq__, Want.TRACK),
        Interest("dpkg-status.d", _in_status_d),
    ),
    catalog=catalog,
)
