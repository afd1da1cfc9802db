"""A forward-only tar reader for layer streams: lean header parsing, data read or skipped in order.

Why not `tarfile`'s stream mode: for a layer of many small files its per-member
Python work costs about as much as decompressing the layer; image analysis
only needs each member's name, type, size, mode and link target, and the
content of a few. Formats read (what image builders write): POSIX ustar
(with its name prefix), pax extended headers (`path`, `linkpath`, `size`;
global headers are skipped), GNU long names and link names (`L`, `K`), GNU
base-256 sizes. Every header's checksum is verified, so a stream that is not a
tar fails at its first header.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

BLOCK = 512
CHUNK = 1 << 20
_ZERO_BLOCK = bytes(BLOCK)
_REGULAR = frozenset({b"0", b"\0", b"7"})
#: types whose size field counts data blocks that follow the header
_HAS_DATA = frozenset({b"0", b"\0", b"7", b"S"})
_KNOWN = frozenset({b"0", b"\0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"S"})
#: extended headers and long names larger than this are not honest
MAX_EXTENDED_BYTES = 1 << 20


class TarError(Exception):
    """The stream is not a (complete, valid) tar archive."""


@dataclass(frozen=True, slots=True)
class TarMember:
    name: str
    type: bytes  # the one-byte type flag
    size: int
    mode: int
    linkname: str

    @property
    def is_file(self) -> bool:
        return self.type in _REGULAR

    @property
    def is_dir(self) -> bool:
        return self.type == b"5"

    @property
    def is_symlink(self) -> bool:
        return self.type == b"2"

    @property
    def is_hardlink(self) -> bool:
        return self.type == b"1"


class TarStream:
    """Iterate members; `open_current()` reads the data of the member just yielded."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._left = 0  # data bytes of the current member not yet read
        self._pad = 0
        self.empty = True  # no byte at all: an empty layer blob
        self._scratch = memoryview(bytearray(CHUNK))

    def __iter__(self) -> Iterator[TarMember]:
        pax: dict[str, str] = {}
        long_name = long_link = None
        while True:
            self._skip_rest()
            header = self._stream.read(BLOCK)
            if header:
                self.empty = False
            if not header or header == _ZERO_BLOCK:
                return  # end-of-archive blocks (or a stream that just ends between members)
            if len(header) < BLOCK:
                raise TarError("truncated tar header")
            _check_sum(header)
            kind = header[156:157]
            size = _number(header[124:136])
            if kind in (b"x", b"g", b"L", b"K"):
                data = self._extended(size)
                if kind == b"x":
                    pax = _pax(data)
                elif kind == b"L":
                    long_name = _text(data.rstrip(b"\0"))
                elif kind == b"K":
                    long_link = _text(data.rstrip(b"\0"))
                continue
            size = int(pax.get("size", size))
            name = pax.get("path") or long_name or _ustar_name(header)
            member = TarMember(
                # As tarfile does: a directory's trailing slash goes ("/" is the root itself).
                name=name.rstrip("/") if kind == b"5" else name,
                type=kind,
                size=size,
                mode=_number(header[100:108]) & 0o7777,
                linkname=pax.get("linkpath") or long_link or _text(_field(header[157:257])),
            )
            pax, long_name, long_link = {}, None, None
            if kind in _HAS_DATA or kind not in _KNOWN:
                self._left, self._pad = size, -size % BLOCK
            yield member

    def open_current(self) -> BinaryIO:
        """The data of the member last yielded (valid until the iteration moves on)."""
        return io.BufferedReader(_MemberData(self), CHUNK)

    def _read_into(self, buffer: memoryview) -> int:
        n = min(len(buffer), self._left)
        if not n:
            return 0
        got = self._stream.readinto(buffer[:n])  # type: ignore[attr-defined]
        if not got:
            raise TarError("the tar stream ends inside a member's data")
        self._left -= got
        return int(got)

    def _skip_rest(self) -> None:
        todo = self._left + self._pad
        self._left = self._pad = 0
        while todo:
            # readinto a reused buffer: skipping must not allocate a bytes object per member
            got = self._stream.readinto(self._scratch[: min(todo, CHUNK)])  # type: ignore[attr-defined]
            if not got:
                raise TarError("the tar stream ends inside a member's data")
            todo -= got

    def _extended(self, size: int) -> bytes:
        if size > MAX_EXTENDED_BYTES:
            raise TarError(f"an extended header of {size} bytes")
        data = self._stream.read(size)
        if len(data) < size:
            raise TarError("the tar stream ends inside an extended header")
        self._left, self._pad = 0, -size % BLOCK
        return data


class _MemberData(io.RawIOBase):
    def __init__(self, tar: TarStream) -> None:
        super().__init__()
        self._tar = tar

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._tar._read_into(memoryview(buffer).cast("B"))


def _check_sum(header: bytes) -> None:
    stored = _number(header[148:156])
    unsigned = sum(header[:148]) + sum(header[156:]) + 8 * 32
    if stored != unsigned:
        signed = unsigned - 256 * sum(1 for b in (*header[:148], *header[156:]) if b > 127)
        if stored != signed:
            raise TarError("bad tar header checksum (not a tar stream, or a corrupt one)")


def _number(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:  # GNU base-256, for sizes over 8 GiB
        return int.from_bytes(field, "big") - (0x80 << (8 * (len(field) - 1)))
    digits = field.rstrip(b"\0 ").strip()
    try:
        return int(digits, 8) if digits else 0
    except ValueError:
        raise TarError(f"bad number {field!r} in a tar header") from None


def _field(raw: bytes) -> bytes:
    end = raw.find(b"\0")
    return raw if end < 0 else raw[:end]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _ustar_name(header: bytes) -> str:
    name = _field(header[0:100])
    if header[257:263] == b"ustar\0":  # POSIX: a prefix holds the leading directories
        prefix = _field(header[345:500])
        if prefix:
            name = prefix + b"/" + name
    return _text(name)


def _pax(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            raise TarError("malformed pax extended header") from None
        record = data[space + 1 : pos + length - 1]  # without the trailing newline
        key, _, value = record.partition(b"=")
        records[key.decode("utf-8", "replace")] = _text(value)
        if length <= 0:
            raise TarError("malformed pax extended header")
        pos += length
    return records
