"""Content-addressed blobs: digest verification while streaming, and size-capped reads."""

from __future__ import annotations

import hashlib
import io
from typing import BinaryIO, Protocol, cast

from pipeline_guard.image.errors import ImageError
from pipeline_guard.image.reference import check_digest

CHUNK = 1 << 20


class DigestReader(io.RawIOBase):
    """Reads a blob and checks its digest when the stream ends.

    The check runs on the bytes the reader handed out, so a truncated or
    tampered blob fails at EOF instead of being analyzed. `what` names the blob
    in the error.
    """

    def __init__(self, raw: BinaryIO, digest: str, what: str) -> None:
        super().__init__()
        alg, _, self._expected = check_digest(digest).partition(":")
        self._raw = raw
        self._hash = hashlib.new(alg)
        self._digest = digest
        self._what = what
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self._hash.update(memoryview(buffer)[:n])
        elif not self._checked:
            self._checked = True
            actual = self._hash.hexdigest()
            if actual != self._expected:
                raise ImageError(
                    f"{self._what}: content does not match its digest {self._digest} "
                    f"(got {self._hash.name}:{actual}); the blob is corrupt or was tampered with"
                )
        return int(n or 0)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def verified(raw: BinaryIO, digest: str | None, what: str) -> BinaryIO:
    """A buffered reader over `raw`, digest-checked at EOF when `digest` is known."""
    inner = cast(io.RawIOBase, DigestReader(raw, digest, what) if digest else raw)
    return cast(BinaryIO, io.BufferedReader(inner, CHUNK))


def read_capped(stream: BinaryIO, limit: int, what: str) -> bytes:
    """All of `stream`, refusing more than `limit` bytes (manifests, configs, indexes).

    Reading past the end is what runs a DigestReader's check, and a short read
    here only happens at the end.
    """
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ImageError(f"{what} is larger than {limit} bytes: refusing to read it")
    return data


class BlobStore(Protocol):
    """Where a source keeps its blobs: a layout directory, a tarball, a registry."""

    def open_blob(self, digest: str, what: str) -> BinaryIO:
        """A digest-verified stream of one blob."""
        ...
