"""A small GitHub REST client on urllib: auth, pagination, retries, clear errors.

- Token from `GITHUB_TOKEN`, base URL from `GITHUB_API_URL` (GitHub Enterprise
  Server serves the API under `https://HOST/api/v3`), so the same code runs on
  github.com and on GHE.
- Every request sends `Accept: application/vnd.github+json` and
  `X-GitHub-Api-Version: 2022-11-28`, as GitHub's REST docs ask.
- Lists follow `Link: <...>; rel="next"`, and only to the API's own origin: the
  token is never sent to a host a response names.
- Retries, with GitHub's documented waits: 5xx and network errors back off
  exponentially; a secondary rate limit (403/429) waits `Retry-After` seconds,
  or until `x-ratelimit-reset` when `x-ratelimit-remaining` is 0, or a minute.
  A wait longer than `RetryPolicy.max_wait` is not slept through: the error
  says when to retry. `sleep` and `clock` are injectable so tests run fast.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from pipeline_guard import __version__
from pipeline_guard.errors import UserError

DEFAULT_API_URL: Final = "https://api.github.com"
API_VERSION: Final = "2022-11-28"
MEDIA_TYPE: Final = "application/vnd.github+json"
#: 5xx statuses worth retrying (a 501 will not get better).
RETRY_STATUSES: Final = frozenset({500, 502, 503, 504})
#: GitHub's advice when a secondary rate limit gives no header: wait a minute.
SECONDARY_LIMIT_WAIT: Final = 60.0
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="([^"]*)"')


class GitHubError(Exception):
    """An API call that failed for good: what was asked, what GitHub said, what to do."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        method: str = "",
        url: str = "",
        github_message: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.url = url
        self.github_message = github_message

    @property
    def forbidden(self) -> bool:
        """403 that is not a rate limit: the token may not do this (e.g. a fork PR)."""
        return self.status == 403 and "rate limit" not in self.github_message.lower()


class GitHubConfigError(UserError):
    """The environment does not say how to reach GitHub (no token, bad URL)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: `attempts` in all, backoff doubling from `backoff` seconds."""

    attempts: int = 4
    backoff: float = 1.0
    max_wait: float = 120.0  # never sleep longer than this for one retry


@dataclass(frozen=True)
class Response:
    """A successful response: status, headers (lower-case names) and decoded JSON."""

    status: int
    headers: Mapping[str, str]
    data: Any


@dataclass
class GitHubClient:
    """GitHub REST API client. `request` for one call, `paginate` for lists."""

    token: str
    api_url: str = DEFAULT_API_URL
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    log: Callable[[str], None] = lambda _message: None

    def __post_init__(self) -> None:
        self.api_url = self.api_url.rstrip("/")
        parts = urlsplit(self.api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise GitHubConfigError(
                f"GITHUB_API_URL {self.api_url!r} is not an http(s) URL "
                "(github.com: https://api.github.com; GHE: https://HOST/api/v3)"
            )
        if not self.token:
            raise GitHubConfigError("no GitHub token: set GITHUB_TOKEN")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> GitHubClient:
        """A client from `GITHUB_TOKEN` and `GITHUB_API_URL` (default api.github.com)."""
        env = os.environ if env is None else env
        token = env.get("GITHUB_TOKEN", "").strip()
        if not token:
            raise GitHubConfigError(
                "no GitHub token: set GITHUB_TOKEN (in a workflow: "
                "`env: GITHUB_TOKEN: ${{ github.token }}`)"
            )
        api_url = env.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL
        return cls(token=token, api_url=api_url, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Response:
        """One API call with retries; `path` is `/repos/...` or a same-origin URL."""
        url = self._url(path, params)
        payload = None if body is None else json.dumps(body).encode("utf-8")
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            try:
                return self._send(method, url, payload, attempt)
            except _Retryable as exc:
                if last or exc.wait > self.retry.max_wait:
                    raise exc.final(self.retry.max_wait) from None
                self.log(f"{method} {_path(url)}: {exc.reason}; retrying in {exc.wait:.0f}s")
                self.sleep(exc.wait)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def paginate(
        self, path: str, *, params: Mapping[str, str | int] | None = None, per_page: int = 100
    ) -> Iterator[Any]:
        """Every item of a list endpoint, following `Link: rel="next"` page by page."""
        url: str | None = self._url(path, {**(params or {}), "per_page": per_page})
        while url is not None:
            response = self.request("GET", url)
            if not isinstance(response.data, list):
                raise GitHubError(
                    f"GET {_path(url)}: expected a JSON list, got {type(response.data).__name__}",
                    status=response.status,
                    method="GET",
                    url=url,
                )
            yield from response.data
            url = next_link(response.headers.get("link", ""))

    def _url(self, path: str, params: Mapping[str, str | int] | None) -> str:
        if "://" in path:
            if not _same_origin(path, self.api_url):
                raise GitHubError(
                    f"refusing to follow {_path(path)!r} off the API host {self.api_url}",
                    url=path,
                )
            url = path
        else:
            url = self.api_url + "/" + path.lstrip("/")
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        return url

    def _send(self, method: str, url: str, payload: bytes | None, attempt: int) -> Response:
        req = urllib.request.Request(url, data=payload, method=method)  # noqa: S310 (http(s) checked)
        req.add_header("Accept", MEDIA_TYPE)
        req.add_header("X-GitHub-Api-Version", API_VERSION)
        req.add_header("User-Agent", f"pipeline-guard/{__version__}")
        # Unredirected: urllib would otherwise carry the token along a redirect.
        req.add_unredirected_header("Authorization", f"Bearer {self.token}")
        if payload is not None:
            req.add_header("Content-Type", "application/json")
        try:
            # pipeline-guard: ignore[B310] the base URL was checked to be http(s) in __init__
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                status, headers, raw = resp.status, _lower(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            headers, raw = _lower(exc.headers), exc.read()
            raise self._failure(method, url, exc.code, headers, raw, attempt) from None
        except OSError as exc:  # URLError, timeouts, connection resets
            reason = getattr(exc, "reason", exc)
            raise _Retryable(
                self._backoff(attempt),
                f"cannot reach {urlsplit(url).netloc}: {reason}",
                GitHubError(
                    f"{method} {_path(url)}: cannot reach {urlsplit(url).netloc}: {reason} "
                    "(offline? check GITHUB_API_URL)",
                    method=method,
                    url=url,
                ),
            ) from None
        return Response(status, headers, _decode(method, url, status, raw))

    def _failure(
        self,
        method: str,
        url: str,
        status: int,
        headers: Mapping[str, str],
        raw: bytes,
        attempt: int,
    ) -> Exception:
        message = _github_message(raw)
        error = GitHubError(
            f"{method} {_path(url)}: HTTP {status}: {message or 'no message'}"
            + _hint(status, message),
            status=status,
            method=method,
            url=url,
            github_message=message,
        )
        wait = self._retry_wait(status, headers, message, attempt)
        if wait is None:
            return error
        return _Retryable(wait, f"HTTP {status} {message}".strip(), error)

    def _retry_wait(
        self, status: int, headers: Mapping[str, str], message: str, attempt: int
    ) -> float | None:
        """Seconds to wait before retrying, or None when retrying cannot help."""
        retry_after = _number(headers.get("retry-after"))
        if status in RETRY_STATUSES:
            return retry_after if retry_after is not None else self._backoff(attempt)
        if status not in (403, 429):
            return None
        if retry_after is not None:
            return retry_after
        reset = _number(headers.get("x-ratelimit-reset"))
        if headers.get("x-ratelimit-remaining") == "0" and reset is not None:
            return max(0.0, reset - self.clock()) + 1.0
        if status == 429 or "rate limit" in message.lower():
            return SECONDARY_LIMIT_WAIT
        return None  # a plain 403: the token may not do this

    def _backoff(self, attempt: int) -> float:
        return min(self.retry.backoff * 2.0 ** (attempt - 1), self.retry.max_wait)


class _Retryable(Exception):
    """A failure worth retrying after `wait` seconds; `final` is the error if not."""

    def __init__(self, wait: float, reason: str, error: GitHubError) -> None:
        super().__init__(reason)
        self.wait = wait
        self.reason = reason
        self.error = error

    def final(self, max_wait: float) -> GitHubError:
        if self.wait > max_wait:
            self.error.args = (
                f"{self.error}; GitHub asks to wait {self.wait:.0f}s, more than the "
                f"{max_wait:.0f}s this run waits: try again later",
            )
        return self.error


def next_link(header: str) -> str | None:
    """The `rel="next"` URL of a `Link` header, if any."""
    for url, rels in _LINK.findall(header):
        if "next" in rels.split():
            return str(url)
    return None


def _decode(method: str, url: str, status: int, raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise GitHubError(
            f"{method} {_path(url)}: HTTP {status} but the body is not JSON "
            "(is GITHUB_API_URL the API endpoint, e.g. https://HOST/api/v3 on GHE?)",
            status=status,
            method=method,
            url=url,
        ) from None


def _github_message(raw: bytes) -> str:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw[:200].decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        return str(data.get("message", "")).strip()
    return ""


def _hint(status: int, message: str) -> str:
    if status == 401:
        return " (the token is invalid or expired: check GITHUB_TOKEN / the github-token input)"
    if status == 403 and "rate limit" not in message.lower():
        return (
            " (the token may not do this: the workflow needs `permissions: pull-requests: "
            "write`, and on a pull request from a fork GITHUB_TOKEN is read-only)"
        )
    if status == 404:
        return " (not found, or the token cannot see this repository)"
    return ""


def _lower(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers.items() if headers else ())}


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def _path(url: str) -> str:
    """The URL without scheme and host, for messages (never includes the token)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
