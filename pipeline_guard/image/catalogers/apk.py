"""Alpine (and Wolfi) packages: `/lib/apk/db/installed`.

Each package is a block of `X:value` lines (P name, V version, A arch, o origin).
Alpine's security data is keyed on the origin (source) package, which all its
subpackages share with the same version: `libcrypto3` is matched as `openssl`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline_guard.image.catalogers.base import (
    Cataloger,
    CatalogResult,
    FoundPackage,
    attribute,
    os_ecosystem,
    os_purl,
)
from pipeline_guard.image.filesystem import Interest, MergedFS, Want
from pipeline_guard.image.osrelease import OSInfo

INSTALLED = "lib/apk/db/installed"


@dataclass(frozen=True)
class ApkEntry:
    name: str
    version: str
    arch: str
    origin: str


def parse_installed(data: bytes) -> list[ApkEntry]:
    """Every package block of an apk `installed` database."""
    out = []
    fields: dict[str, str] = {}
    for line in [*data.decode("utf-8", "replace").splitlines(), ""]:
        if not line.strip():
            if fields.get("P") and fields.get("V"):
                out.append(
                    ApkEntry(fields["P"], fields["V"], fields.get("A", ""), fields.get("o", ""))
                )
            fields = {}
            continue
        key, sep, value = line.partition(":")
        if sep and len(key) == 1 and key not in fields:
            fields[key] = value.strip()
    return out


def catalog(fs: MergedFS, os_info: OSInfo | None) -> CatalogResult:
    result = CatalogResult()
    found = attribute(fs, INSTALLED, parse_installed, lambda e: (e.name, e.version, e.arch))
    ecosystem, result.notes = os_ecosystem(os_info, "alpine", "apk", len(found))
    for entry, layer in found:
        result.packages.append(
            FoundPackage(
                kind="apk",
                ecosystem=ecosystem,
                name=entry.name,
                version=entry.version,
                path=INSTALLED,
                layer=layer,
                purl=os_purl(
                    "apk",
                    entry.name,
                    entry.version,
                    os_info,
                    arch=entry.arch,
                    upstream=entry.origin,
                ),
                source_name=entry.origin or None,
                arch=entry.arch or None,
            )
        )
    return result


CATALOGER = Cataloger(
    name="apk",
    interests=(Interest("apk-installed", INSTALLED.__eq__, Want.TRACK),),
    catalog=catalog,
)
