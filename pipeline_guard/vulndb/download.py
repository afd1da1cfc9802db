"""Fetching OSV dumps over HTTP(S): timeouts, retries with backoff, atomic writes, zip check.

Plain urllib on purpose: no extra dependency for one GET. Only `db update`
uses the network, so every failure names the host and the offline way out.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import IO
from urllib.parse import quote, urlsplit

from pipeline_guard import __version__
from pipeline_guard.vulndb.store import VulnDBError

#: Where OSV publishes one `<Ecosystem>/all.zip` per ecosystem.
OSV_BASE_URL = "https://osv-vulnerabilities.storage.googleapis.com/"

#: What `db update` fetches when no ecosystem is named: the ecosystems our
#: lockfile parsers and image analyzer understand.
DEFAULT_ECOSYSTEMS: tuple[str, ...] = (
    "PyPI",
    "npm",
    "Go",
    "crates.io",
    "Maven",
    "RubyGems",
    "NuGet",
    "Packagist",
    "Debian",
    "Ubuntu",
    "Alpine",
    "AlmaLinux",
)

#: A dump larger than this on the wire is refused (official npm is the largest, well below).
MAX_DOWNLOAD_BYTES = 2 * 1024**3
CHUNK = 1024 * 1024
OFFLINE_HINT = "for air-gapped sites use --source PATH"


class DownloadError(VulnDBError):
    """A dump could not be fetched or is not a zip; the message names the URL and what to do."""


class _Retryable(Exception):
    """A failure worth another attempt (connection trouble, 5xx, 429)."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


def dump_url(base: str, ecosystem: str) -> str:
    """`<base>/<Ecosystem>/all.zip`; works for OSV itself and for any mirror laid out the same."""
    return f"{base.rstrip('/')}/{quote(ecosystem, safe='.')}/all.zip"


def fetch(
    url: str,
    dest: Path,
    *,
    timeout: float = 30,
    retries: int = 3,
    backoff: float = 1.0,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
) -> Path:
    """Download `url` to `dest` atomically and check that it is a zip.

    `timeout` bounds connecting and each read; `retries` is how many more
    attempts follow the first after a connection error, a timeout, a 5xx or a
    429, waiting `backoff * 2**n` seconds (or the server's Retry-After, capped
    at 60 s) in between. Raises DownloadError.
    """
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise DownloadError(f"cannot download {url}: only http and https URLs are supported")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    attempt = 0
    while True:
        try:
            tmp = _download_once(url, dest, timeout=timeout, max_bytes=max_bytes)
            break
        except _Retryable as exc:
            if attempt >= retries:
                raise DownloadError(
                    f"{exc} (gave up after {attempt + 1} attempts); {OFFLINE_HINT}"
                ) from None
            wait = exc.wait if exc.wait is not None else backoff * 2**attempt
            time.sleep(min(wait, 60.0))
            attempt += 1
    try:
        _verify_zip(tmp, url)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return dest


def _download_once(url: str, dest: Path, *, timeout: float, max_bytes: int) -> Path:
    """One GET streamed into a temp file beside `dest`; returns the temp path."""
    host = urlsplit(url).netloc
    agent = {"User-Agent": f"pipeline-guard/{__version__}"}
    request = urllib.request.Request(url, headers=agent)  # noqa: S310 (fetch checked the scheme)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            # pipeline-guard: ignore[B310] fetch() accepts only http and https URLs
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                _copy_body(response, out, url, max_bytes)
            out.flush()
            os.fsync(out.fileno())
        return tmp
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        _raise_classified(exc, url, host)
        raise


def _copy_body(
    response: http.client.HTTPResponse, out: IO[bytes], url: str, max_bytes: int
) -> None:
    expected = response.headers.get("Content-Length")
    if expected is not None and expected.isdigit() and int(expected) > max_bytes:
        raise DownloadError(f"{url} is {int(expected)} bytes, over the {max_bytes} byte limit")
    written = 0
    while chunk := response.read(CHUNK):
        written += len(chunk)
        if written > max_bytes:
            raise DownloadError(f"{url} is over the {max_bytes} byte limit")
        out.write(chunk)
    # read(amt) returns short instead of raising when the server hangs up early.
    if expected is not None and expected.isdigit() and written < int(expected):
        raise http.client.IncompleteRead(b"", int(expected) - written)


def _raise_classified(exc: BaseException, url: str, host: str) -> None:
    """Turn a urllib/socket failure into DownloadError (final) or _Retryable."""
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code == 429 or exc.code >= 500:
            raise _Retryable(f"{url}: HTTP {exc.code} {exc.reason}", _retry_after(exc)) from None
        hint = " (is the ecosystem name spelled as OSV spells it?)" if exc.code == 404 else ""
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}{hint}") from None
    if isinstance(exc, urllib.error.URLError):
        raise _Retryable(f"cannot reach {host}: {exc.reason}") from None
    if isinstance(exc, TimeoutError):
        raise _Retryable(f"cannot reach {host}: timed out") from None
    if isinstance(exc, http.client.IncompleteRead):
        raise _Retryable(
            f"cannot reach {host}: connection closed {exc.expected} bytes before the end"
        ) from None
    if isinstance(exc, http.client.HTTPException | ConnectionError):
        raise _Retryable(f"cannot reach {host}: {type(exc).__name__}: {exc}") from None


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    value = exc.headers.get("Retry-After", "") if exc.headers else ""
    return float(value) if value.strip().isdigit() else None


def _verify_zip(path: Path, url: str) -> None:
    """A zip whose central directory reads; member CRCs are checked while importing."""
    problem = None
    if not zipfile.is_zipfile(path):
        problem = "not a zip file (truncated or an error page?)"
    else:
        try:
            with zipfile.ZipFile(path) as archive:
                archive.infolist()
        except (zipfile.BadZipFile, OSError) as exc:
            problem = f"unreadable zip ({exc})"
    if problem:
        raise DownloadError(f"download from {url} is {problem}; try again or {OFFLINE_HINT}")
