"""Reading one layer as a tar stream: decompress, check, and list its entries in order.

Nothing is extracted to disk. Compression is recognised by its magic bytes
(gzip, including multi-member streams; zstd when the `zstandard` package is
installed; uncompressed tar), not by the media type, which archives omit.

Hostile content is refused, naming the layer and the member:

- a member name that is absolute or has a `..` component;
- a symlink whose relative target climbs above the image root, a hard link to
  an absolute or `..` name;
- more decompressed bytes than `Limits.max_uncompressed_bytes` over the whole
  image (gzip bombs: decompression runs in bounded steps, so memory stays flat);
- more members than `Limits.max_members` over the whole image.

The uncompressed bytes are hashed while they stream and must equal the layer's
diff id from the image config: what is analyzed is what the config names.
"""

from __future__ import annotations

import enum
import hashlib
import importlib
import io
import posixpath
import queue
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from pipeline_guard.image.errors import HostileImage, ImageError
from pipeline_guard.image.limits import Limits
from pipeline_guard.image.tarstream import TarError, TarMember, TarStream

CHUNK = 1 << 20
MAX_STEP = 8 * CHUNK
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class EntryKind(enum.StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    OTHER = "other"  # devices, fifos
    WHITEOUT = "whiteout"  # `path` is deleted from the layers below
    OPAQUE = "opaque"  # everything below `path` in the layers below is hidden


@dataclass(frozen=True)
class LayerEntry:
    """One member of a layer. Paths are relative to the image root, no leading `/`."""

    path: str
    kind: EntryKind
    size: int = 0
    mode: int = 0
    linkname: str = ""  # symlink target as written; hard link: the member it names


class Budget:
    """What is left of the per-image caps while layers are read one after another."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.uncompressed = 0
        self.members = 0

    def add_bytes(self, n: int, what: str) -> None:
        self.uncompressed += n
        if self.uncompressed > self.limits.max_uncompressed_bytes:
            raise HostileImage(
                f"{what}: more than {self.limits.max_uncompressed_bytes} bytes once "
                "decompressed (a compression bomb, or raise image.max_uncompressed_bytes)"
            )

    def add_member(self, what: str) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise HostileImage(
                f"{what}: more than {self.limits.max_members} files "
                "(raise image.max_members if the image is honest)"
            )


class LayerReader:
    """Iterate a layer's entries; `open_current()` reads the file just yielded.

    After the loop, `finish()` drains the stream and checks the diff id.
    """

    def __init__(self, blob: BinaryIO, diff_id: str | None, what: str, budget: Budget) -> None:
        self.what = what
        self._diff_id = diff_id
        self._inflated = _Inflated(_decompressed(blob, what), budget, what)
        self._tar_bytes = _TarBytes(self._inflated)
        self._buffer = io.BufferedReader(self._tar_bytes, CHUNK)
        self._tar = TarStream(cast(BinaryIO, self._buffer))
        self._budget = budget

    def __iter__(self) -> Iterator[LayerEntry]:
        try:
            for member in self._tar:
                self._budget.add_member(self.what)
                entry = _entry(member, self.what)
                if entry is not None:
                    yield entry
        except TarError as exc:
            raise ImageError(f"{self.what}: not a valid tar stream: {exc}") from None

    def open_current(self) -> BinaryIO:
        """The content of the regular file most recently yielded."""
        return self._tar.open_current()

    def close(self) -> None:
        """Stop reading ahead (the blob may be closed after this)."""
        self._inflated.close()

    def __enter__(self) -> LayerReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def finish(self) -> None:
        """Read to the end (so blob digests are checked) and compare the diff id."""
        while self._buffer.read(CHUNK):
            pass
        if self._tar.empty:
            return  # an empty blob: some tools write them for metadata-only steps
        actual = "sha256:" + self._tar_bytes.sha256.hexdigest()
        if self._diff_id and self._diff_id.startswith("sha256:") and actual != self._diff_id:
            raise ImageError(
                f"{self.what}: the uncompressed layer is {actual}, but the image config "
                f"says {self._diff_id}: the image is corrupt or was tampered with"
            )


def _entry(member: TarMember, what: str) -> LayerEntry | None:
    path = _clean_name(member.name, what)
    if not path:
        return None  # the root directory itself
    base = posixpath.basename(path)
    if base.startswith(WHITEOUT_PREFIX):
        parent = posixpath.dirname(path)
        if base == OPAQUE_MARKER:
            return LayerEntry(parent, EntryKind.OPAQUE)
        target = posixpath.join(parent, base[len(WHITEOUT_PREFIX) :])
        return LayerEntry(_clean_name(target, what), EntryKind.WHITEOUT)
    if member.is_symlink:
        _check_symlink(path, member.linkname, what)
        return LayerEntry(path, EntryKind.SYMLINK, 0, member.mode, member.linkname)
    if member.is_hardlink:
        target = _clean_name(member.linkname, what, "hard link target")
        return LayerEntry(path, EntryKind.HARDLINK, 0, member.mode, target)
    if member.is_file:
        return LayerEntry(path, EntryKind.FILE, member.size, member.mode)
    kind = EntryKind.DIR if member.is_dir else EntryKind.OTHER
    return LayerEntry(path, kind, 0, member.mode)


def _clean_name(name: str, what: str, role: str = "member") -> str:
    if name.startswith("/") or ".." in name.split("/"):
        raise HostileImage(f"{what}: {role} {name!r} has an absolute or '..' path")
    cleaned = posixpath.normpath(name)
    return "" if cleaned == "." else cleaned


def _check_symlink(path: str, target: str, what: str) -> None:
    # Absolute targets resolve inside the image root, as a container runtime reads them.
    if target.startswith("/"):
        return
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if resolved == ".." or resolved.startswith("../"):
        raise HostileImage(f"{what}: symlink {path!r} -> {target!r} points outside the image")


class _Inflated:
    """The uncompressed tar bytes as chunks, produced up to `DEPTH` chunks ahead by a thread.

    zlib and hashlib release the GIL, so decompressing a layer (and hashing the
    compressed blob) overlaps with parsing its tar headers and hashing the tar for
    the diff id on the reading thread: on two cores the work splits about evenly.
    The worker counts bytes against the budget, so a bomb stops `DEPTH` chunks
    after the cap at most.
    Errors in the worker are raised to the reader; `close()` stops and joins it.
    """

    DEPTH = 4

    def __init__(self, chunks: Iterator[bytes], budget: Budget, what: str) -> None:
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(self.DEPTH)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(
            target=self._run, args=(chunks, budget, what), name="layer-inflate", daemon=True
        )
        self._thread.start()

    def _run(self, chunks: Iterator[bytes], budget: Budget, what: str) -> None:
        try:
            for chunk in chunks:
                budget.add_bytes(len(chunk), what)
                if not self._put(chunk):
                    return
            self._put(None)
        except BaseException as exc:  # handed to the reading thread, raised there
            self._put(exc)

    def _put(self, item: bytes | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def next_chunk(self) -> bytes | None:
        """The next chunk, or None at the end of the stream."""
        if self._done:
            return None
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._done = True
            raise item
        if item is None:
            self._done = True
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class _TarBytes(io.RawIOBase):
    """A raw stream over the inflated chunks, for a BufferedReader; hashes them for the diff id."""

    def __init__(self, inflated: _Inflated) -> None:
        super().__init__()
        self._inflated = inflated
        self._chunk = memoryview(b"")
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._chunk:
            data = self._inflated.next_chunk()
            if data is None:
                return 0
            self.sha256.update(data)
            self._chunk = memoryview(data)
        n = min(len(buffer), len(self._chunk))
        buffer[:n] = self._chunk[:n]
        self._chunk = self._chunk[n:]
        return n


def _decompressed(blob: BinaryIO, what: str) -> Iterator[bytes]:
    head = blob.read(4)
    if head.startswith(_GZIP_MAGIC):
        return _gunzip(blob, head, what)
    if head == _ZSTD_MAGIC:
        return _unzstd(blob, head, what)
    return _plain(blob, head)


def _plain(blob: BinaryIO, head: bytes) -> Iterator[bytes]:
    if head:
        yield head
    while data := blob.read(CHUNK):
        yield data


def _gunzip(blob: BinaryIO, head: bytes, what: str) -> Iterator[bytes]:
    decoder = zlib.decompressobj(wbits=31)
    pending = head
    while True:
        if not pending:
            pending = blob.read(CHUNK)
            if not pending:
                if not decoder.eof:
                    raise ImageError(f"{what}: the gzip stream ends early (truncated blob)")
                return
        try:
            # max_length bounds each step: a bomb cannot expand a chunk into gigabytes at
            # once. It is a few times the input chunk, so honest data (2-4x) needs one step
            # per chunk and no copy of an unconsumed tail.
            out = decoder.decompress(pending, MAX_STEP)
        except zlib.error as exc:
            raise ImageError(f"{what}: corrupt gzip data: {exc}") from None
        pending = decoder.unconsumed_tail
        if out:
            yield out
        if decoder.eof:
            pending = decoder.unused_data or blob.read(CHUNK)
            if not pending.strip(b"\0"):
                _expect_padding(blob, what)
                return
            decoder = zlib.decompressobj(wbits=31)  # concatenated gzip members


def _expect_padding(blob: BinaryIO, what: str) -> None:
    """Only zero padding may follow the last gzip member."""
    while rest := blob.read(CHUNK):
        if rest.strip(b"\0"):
            raise ImageError(f"{what}: unexpected data after the end of the gzip stream")


def _unzstd(blob: BinaryIO, head: bytes, what: str) -> Iterator[bytes]:
    try:
        zstandard: Any = importlib.import_module("zstandard")
    except ImportError:
        raise ImageError(
            f"{what} is zstd-compressed: install the `zstandard` package "
            "(pip install 'pipeline-guard[zstd]') to read it",
            "missing",
        ) from None
    stream = zstandard.ZstdDecompressor().stream_reader(
        _Prefixed(head, blob), read_across_frames=True, closefd=False
    )
    try:
        while data := stream.read(CHUNK):
            yield data
    except zstandard.ZstdError as exc:
        raise ImageError(f"{what}: corrupt zstd data: {exc}") from None


class _Prefixed(io.RawIOBase):
    """`head` followed by the rest of `blob` (the magic bytes were already read)."""

    def __init__(self, head: bytes, blob: BinaryIO) -> None:
        super().__init__()
        self._head = head
        self._blob = blob

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            out, self._head = self._head, b""
            return out
        return self._blob.read(size)
