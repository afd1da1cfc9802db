"""Go modules compiled into ELF binaries, from the Go build info.

Go 1.18+ embeds a `\\xff Go buildinf:` header (32 bytes: the magic, pointer
size, flags) in the `.go.buildinfo` data; with flag bit 2 set, the Go version
and the module info follow inline as varint-length-prefixed strings
(src/debug/buildinfo/buildinfo.go). The module info, between two 16-byte
sentinels, has tab-separated lines: `path`, `mod <path> <version> <sum>`,
`dep <path> <version> <sum>`, and `=> <path> <version> <sum>` replacing the
line before it.

Executables are scanned as their layer streams past, in chunks, and only the
build info is kept. Pre-1.18 binaries store pointers instead of inline
strings and are reported as not read. `(devel)` main modules (built from a
checkout) have no version to match and are listed only as the toolchain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from pipeline_guard.image.catalogers.base import Cataloger, CatalogResult, FoundPackage
from pipeline_guard.image.filesystem import Interest, LayerInfo, MergedFS, Want
from pipeline_guard.image.osrelease import OSInfo
from pipeline_guard.sources.base import purl_for

MAGIC = b"\xff Go buildinf:"
HEADER_SIZE = 32
FLAG_INLINE = 0x2
ELF_MAGIC = b"\x7fELF"
CHUNK = 1 << 20
#: module info larger than this is not a real build info block
MAX_INFO_BYTES = 4 * 1024 * 1024
MIN_SIZE = 1024
_SENTINEL_SIZE = 16


@dataclass(frozen=True)
class GoModule:
    path: str
    version: str
    main: bool = False


@dataclass
class BuildInfo:
    go_version: str = ""
    main_path: str = ""
    modules: list[GoModule] = field(default_factory=list)
    problem: str | None = None


def read_binary(path: str, stream: BinaryIO, size: int) -> BuildInfo | None:
    """The build info of a Go ELF binary, or None for anything else (STREAM reader)."""
    if size < MIN_SIZE:
        return None
    chunk = stream.read(CHUNK)
    if not chunk.startswith(ELF_MAGIC):
        return None
    tail = b""
    while chunk:
        # The magic may straddle two chunks: look across the seam, then in the chunk.
        seam = tail + chunk[: len(MAGIC) - 1]
        at = seam.find(MAGIC)
        if at >= 0:
            return _parse_from(seam[at:] + chunk[len(MAGIC) - 1 :], stream)
        at = chunk.find(MAGIC)
        if at >= 0:
            return _parse_from(chunk[at:], stream)
        tail = chunk[-(len(MAGIC) - 1) :]
        chunk = stream.read(CHUNK)
    return None


def _parse_from(block: bytes, stream: BinaryIO) -> BuildInfo:
    """Parse the header at the start of `block`, reading more of `stream` as needed."""
    reader = _Bytes(block, stream)
    header = reader.take(HEADER_SIZE)
    if header is None:
        return BuildInfo(problem="truncated Go build info header")
    if not header[15] & FLAG_INLINE:
        return BuildInfo(problem="built with Go older than 1.18 (build info not read)")
    version, info = reader.string(), reader.string()
    if version is None or info is None:
        return BuildInfo(problem="truncated Go build info")
    return parse_modinfo(version.decode("utf-8", "replace"), info)


def parse_modinfo(go_version: str, info: bytes) -> BuildInfo:
    """The modules listed in a module-info block (sentinels included or not)."""
    if len(info) >= 2 * _SENTINEL_SIZE + 1 and info[-_SENTINEL_SIZE - 1 : -_SENTINEL_SIZE] == b"\n":
        info = info[_SENTINEL_SIZE:-_SENTINEL_SIZE]
    result = BuildInfo(go_version=go_version)
    for raw in info.decode("utf-8", "replace").splitlines():
        parts = raw.split("\t")
        if parts[0] == "path" and len(parts) >= 2:
            result.main_path = parts[1]
        elif parts[0] in ("mod", "dep") and len(parts) >= 3:
            result.modules.append(GoModule(parts[1], parts[2], main=parts[0] == "mod"))
        elif parts[0] == "=>" and len(parts) >= 3 and result.modules:
            replaced = result.modules.pop()
            result.modules.append(GoModule(parts[1], parts[2], main=replaced.main))
    return result


class _Bytes:
    """The bytes after the magic, pulling more from the stream when a string runs past."""

    def __init__(self, block: bytes, stream: BinaryIO) -> None:
        self._data = block
        self._pos = 0
        self._stream = stream

    def take(self, n: int) -> bytes | None:
        while len(self._data) - self._pos < n and len(self._data) < MAX_INFO_BYTES:
            more = self._stream.read(CHUNK)
            if not more:
                break
            self._data += more
        if len(self._data) - self._pos < n:
            return None
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def string(self) -> bytes | None:
        length = self._uvarint()
        if length is None or length > MAX_INFO_BYTES:
            return None
        return self.take(length)

    def _uvarint(self) -> int | None:
        value, shift = 0, 0
        for _ in range(10):
            byte = self.take(1)
            if byte is None:
                return None
            value |= (byte[0] & 0x7F) << shift
            if byte[0] < 0x80:
                return value
            shift += 7
        return None


def catalog(fs: MergedFS, os_info: OSInfo | None) -> CatalogResult:
    result = CatalogResult()
    for path, info in fs.extracts("go-binary"):
        if info.problem:
            result.notes.append(f"/{path}: Go binary {info.problem}")
            continue
        layer = fs.layer_of(path)
        if info.go_version:
            toolchain = info.go_version.split()[0]  # "go1.21.3 X:boringcrypto"
            result.packages.append(_package("stdlib", toolchain, path, layer))
        for module in info.modules:
            if module.version == "(devel)" or not module.version:
                continue
            result.packages.append(_package(module.path, module.version, path, layer))
    return result


def _package(name: str, version: str, path: str, layer: LayerInfo | None) -> FoundPackage:
    return FoundPackage(
        kind="go",
        ecosystem="Go",
        name=name,
        version=version,
        path=path,
        layer=layer,
        purl=purl_for("Go", name, version),
    )


CATALOGER = Cataloger(
    name="go",
    interests=(
        Interest("go-binary", lambda path: True, Want.STREAM, read_binary, executable_only=True),
    ),
    catalog=catalog,
)
