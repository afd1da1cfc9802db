"""Shared OSV test helpers: where the real dumps are, and a real HTTP server for them.

`OsvServer` serves the shared dumps on 127.0.0.1 in OSV's bucket layout
(`/<Ecosystem>/all.zip` -> `<data>/<Ecosystem>-all.zip`), plus failure routes
that exercise the download path for real:

- `/flaky/<n>/<Ecosystem>/all.zip`: 503 for the first n requests, then the zip
- `/ratelimited/<n>/<Ecosystem>/all.zip`: 429 (Retry-After: 0) n times, then the zip
- `/hang/<Ecosystem>/all.zip`: accepts the request and never answers (until stop)
- `/truncated/<Ecosystem>/all.zip`: the first half of the zip, honestly labelled
- `/cut/<Ecosystem>/all.zip`: announces the full length, sends half, closes
- `/notzip/<Ecosystem>/all.zip`: 200 with an HTML error page
- anything added with `add_file(path, data)`, e.g. a crafted zip

Use it as `with OsvServer(require_osv_data()) as server: ... server.url ...`;
`server.requests` lists the paths asked for, in order.
"""

from __future__ import annotations

import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote

import pytest

DATA_ENV = "PIPELINE_GUARD_OSV_DATA"
_ROUTE = re.compile(
    r"^/(?:(?P<mode>flaky|ratelimited)/(?P<n>\d+)/|(?P<plain>hang|truncated|cut|notzip)/)?"
    r"(?P<eco>[^/]+)/all\.zip$"
)


def osv_data_dir() -> Path | None:
    """The shared dumps: `$PIPELINE_GUARD_OSV_DATA`, else `<repo>/../shared/data/osv`."""
    env = os.environ.get(DATA_ENV, "").strip()
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "osv"
    return path if (path / "PyPI-all.zip").is_file() else None


def require_osv_data() -> Path:
    """The shared dumps directory, or skip the test saying where they were looked for."""
    path = osv_data_dir()
    if path is None:
        pytest.skip(
            f"OSV test data not found (set {DATA_ENV} or put the dumps in ../shared/data/osv)"
        )
    return path


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, data_dir: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.data_dir = data_dir
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.requests: list[str] = []
        self.failures: dict[str, int] = {}
        self.extra: dict[str, bytes] = {}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        path = unquote(self.path.split("?", 1)[0])
        with self.server.lock:
            self.server.requests.append(path)
            extra = self.server.extra.get(path)
        if extra is not None:
            self._send(200, extra)
            return
        match = _ROUTE.match(path)
        zip_path = self.server.data_dir / f"{match['eco']}-all.zip" if match else None
        if match is None or zip_path is None or not zip_path.is_file():
            self._send(404, b"not found", "text/plain")
            return
        mode = match["mode"] or match["plain"]
        if mode in ("flaky", "ratelimited") and self._fail_first(path, int(match["n"]), mode):
            return
        self._serve(mode, zip_path.read_bytes())

    def _fail_first(self, path: str, n: int, mode: str) -> bool:
        with self.server.lock:
            seen = self.server.failures.get(path, 0)
            self.server.failures[path] = seen + 1
        if seen >= n:
            return False
        if mode == "flaky":
            self._send(503, b"try later", "text/plain")
        else:
            self._send(429, b"slow down", "text/plain", {"Retry-After": "0"})
        return True

    def _serve(self, mode: str | None, data: bytes) -> None:
        if mode == "hang":
            self.server.stopping.wait(60)
            self.close_connection = True
        elif mode == "truncated":
            self._send(200, data[: len(data) // 2])
        elif mode == "notzip":
            self._send(200, b"<html><body>Service unavailable</body></html>", "text/html")
        elif mode == "cut":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
        else:
            self._send(200, data)

    def _send(
        self,
        code: int,
        body: bytes,
        ctype: str = "application/zip",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


class OsvServer:
    """A real HTTP server on 127.0.0.1 (random port) serving OSV dumps; stop it or use `with`."""

    def __init__(self, data_dir: Path) -> None:
        self._server = _Server(data_dir)
        # A short poll interval keeps `stop` (shutdown) from adding 0.5 s to every test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}/"
        self.host = f"{host!s}:{port}"

    @property
    def requests(self) -> list[str]:
        with self._server.lock:
            return list(self._server.requests)

    def add_file(self, path: str, data: bytes) -> str:
        """Serve `data` at `path`; returns its full URL."""
        with self._server.lock:
            self._server.extra[path] = data
        return self.url.rstrip("/") + path

    def start(self) -> OsvServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> OsvServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
