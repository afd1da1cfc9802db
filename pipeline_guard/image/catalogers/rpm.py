"""RPM packages from the SQLite rpm database (`rpmdb.sqlite`, RHEL 9 / AlmaLinux 9 / Fedora 33+).

The `Packages` table holds one rpm header per package (`blob` column). The
header format (https://rpm-software-management.github.io/rpm/manual/format_header.html
and rpm's `headerImport`): big-endian `il` (index entries) and `dl` (data
bytes), then `il` 16-byte entries (tag, type, offset, count), then the data
store. We read NAME (1000), VERSION (1001), RELEASE (1002), EPOCH (1003),
ARCH (1022) and SOURCERPM (1044); `gpg-pubkey` pseudo-packages are skipped.

AlmaLinux and Rocky advisories name binary packages, so packages are matched by
their own name at `[epoch:]version-release`. The older BerkeleyDB (`Packages`)
and NDB (`Packages.db`) formats are not read; finding one is reported.
"""

from __future__ import annotations

import sqlite3
import struct
from dataclasses import dataclass

from pipeline_guard.image.catalogers.base import (
    Cataloger,
    CatalogResult,
    FoundPackage,
    attribute,
    os_ecosystem,
    os_purl,
)
from pipeline_guard.image.errors import ImageError
from pipeline_guard.image.filesystem import Interest, LayerInfo, MergedFS, Want
from pipeline_guard.image.osrelease import OSInfo

DATABASES = ("var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite")
LEGACY = ("var/lib/rpm/Packages", "var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages.db")

TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH, TAG_SOURCERPM = (
    1000, 1001, 1002, 1003, 1022, 1044,
)  # fmt: skip
TYPE_INT32, TYPE_STRING, TYPE_STRING_ARRAY, TYPE_I18NSTRING = 4, 6, 8, 9
_ENTRY = struct.Struct(">iiii")
#: rpm's own sanity limits for an imported header (rpm/lib/header.c)
MAX_INDEX_ENTRIES = 0x0000FFFF
MAX_DATA_BYTES = 0x0FFFFFFF


@dataclass(frozen=True)
class RpmEntry:
    name: str
    version: str
    release: str
    epoch: int | None
    arch: str
    source_rpm: str

    @property
    def evr(self) -> str:
        """`[epoch:]version-release`, the form rpm advisories use."""
        base = f"{self.version}-{self.release}"
        return f"{self.epoch}:{base}" if self.epoch else base

    @property
    def source_name(self) -> str | None:
        """`openssl` from `openssl-3.0.7-24.el9.src.rpm`."""
        stem = self.source_rpm.removesuffix(".rpm").rsplit(".", 1)[0]
        parts = stem.rsplit("-", 2)
        return parts[0] if len(parts) == 3 else None


def parse_header(blob: bytes) -> dict[int, str | int | list[str]]:
    """The tags we read from one rpm header blob; ImageError when it is malformed."""
    if len(blob) < 8:
        raise ImageError("rpm header shorter than its preamble")
    il, dl = struct.unpack_from(">ii", blob)
    store = 8 + il * _ENTRY.size
    if not (0 < il <= MAX_INDEX_ENTRIES and 0 <= dl <= MAX_DATA_BYTES) or len(blob) < store + dl:
        raise ImageError(f"rpm header with impossible sizes (il={il}, dl={dl}, {len(blob)} bytes)")
    data = blob[store : store + dl]
    wanted = {TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH, TAG_SOURCERPM}
    out: dict[int, str | int | list[str]] = {}
    for i in range(il):
        tag, kind, offset, count = _ENTRY.unpack_from(blob, 8 + i * _ENTRY.size)
        if tag not in wanted:
            continue
        if not 0 <= offset < dl:
            raise ImageError(f"rpm header tag {tag} points outside the data store")
        if kind == TYPE_INT32 and count >= 1 and offset + 4 <= dl:
            out[tag] = struct.unpack_from(">i", data, offset)[0]
        elif kind in (TYPE_STRING, TYPE_I18NSTRING, TYPE_STRING_ARRAY):
            out[tag] = _string_at(data, offset)
    return out


def _string_at(data: bytes, offset: int) -> str:
    end = data.find(b"\0", offset)
    if end < 0:
        raise ImageError("rpm header string without its terminating NUL")
    return data[offset:end].decode("utf-8", "replace")


def parse_rpmdb(data: bytes) -> list[RpmEntry]:
    """Every package in an rpmdb.sqlite file's bytes (read in memory, never written)."""
    if len(data) < 100 or not data.startswith(b"SQLite format 3\0"):
        raise ImageError("rpmdb.sqlite is not an SQLite database")
    # WAL mode (header bytes 18/19 = 2) cannot be opened in memory; the content is the same.
    image = bytearray(data)
    image[18:20] = b"\x01\x01"
    conn = sqlite3.connect(":memory:")
    try:
        conn.deserialize(bytes(image))
        rows = conn.execute("SELECT blob FROM Packages").fetchall()
    except sqlite3.Error as exc:
        raise ImageError(f"rpmdb.sqlite cannot be read: {exc}") from None
    finally:
        conn.close()
    out = []
    for (blob,) in rows:
        tags = parse_header(bytes(blob))
        name = str(tags.get(TAG_NAME, ""))
        if not name or name == "gpg-pubkey":
            continue
        epoch = tags.get(TAG_EPOCH)
        out.append(
            RpmEntry(
                name=name,
                version=str(tags.get(TAG_VERSION, "")),
                release=str(tags.get(TAG_RELEASE, "")),
                epoch=epoch if isinstance(epoch, int) else None,
                arch=str(tags.get(TAG_ARCH, "")),
                source_rpm=str(tags.get(TAG_SOURCERPM, "")),
            )
        )
    return out


def catalog(fs: MergedFS, os_info: OSInfo | None) -> CatalogResult:
    result = CatalogResult()
    for legacy in LEGACY:
        if fs.exists(legacy):
            result.notes.append(
                f"/{legacy} is an rpm database in the BerkeleyDB/NDB format, which is not "
                "read: its packages are not listed or checked"
            )
    for path in DATABASES:
        try:
            found = attribute(fs, path, parse_rpmdb, lambda e: (e.name, e.evr, e.arch))
        except ImageError as exc:
            result.notes.append(f"/{path}: {exc}: its packages are not listed or checked")
            continue
        ecosystem, notes = os_ecosystem(os_info, "rhel", "rpm", len(found))
        result.notes.extend(notes)
        result.packages.extend(_package(e, layer, path, ecosystem, os_info) for e, layer in found)
    return result


def _package(
    entry: RpmEntry, layer: LayerInfo, path: str, ecosystem: str | None, os_info: OSInfo | None
) -> FoundPackage:
    epoch = {"epoch": str(entry.epoch)} if entry.epoch else {}
    return FoundPackage(
        kind="rpm",
        ecosystem=ecosystem,
        name=entry.name,
        version=entry.evr,
        path=path,
        layer=layer,
        purl=os_purl(
            "rpm",
            entry.name,
            f"{entry.version}-{entry.release}",
            os_info,
            arch=entry.arch,
            upstream=entry.source_rpm or None,
            **epoch,
        ),
        arch=entry.arch or None,
    )


CATALOGER = Cataloger(
    name="rpm",
    interests=(Interest("rpmdb", DATABASES.__contains__, Want.TRACK),),
    catalog=catalog,
)
