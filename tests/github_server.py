"""A local GitHub-REST-compatible server for the issue-comment endpoints we use.

Runs on 127.0.0.1 (random port) in a thread. It answers like api.github.com:
JSON bodies with `message` and `documentation_url` on errors, 401 "Bad
credentials", 403 "Resource not accessible by integration" for a read-only
token (what a fork PR's GITHUB_TOKEN gets), 404 "Not Found", 422 "Validation
Failed", `x-ratelimit-*` headers on every response, `Link` pagination whose
next URLs use the `/repositories/{id}/...` form GitHub really emits, and a 400
for an unsupported `X-GitHub-Api-Version`. `prefix="/api/v3"` serves it the
way GitHub Enterprise Server does.

Faults are queued per request pattern (`fail(...)`): a 502, a secondary rate
limit with `Retry-After`, a primary limit with `x-ratelimit-remaining: 0`.
Every request is recorded (method, path, headers, JSON body) for assertions.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_VERSION = "2022-11-28"
DOCS = "https://docs.github.com/rest/issues/comments"
WRITE, READ = "write", "read"
MAX_BODY = 65_536


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    times: int = 1


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class State:
    prefix: str
    tokens: dict[str, str]
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    repo_ids: dict[str, int] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    next_id: int = 1001
    lock: threading.Lock = field(default_factory=threading.Lock)


class GitHubServer:
    """`with GitHubServer() as gh:` then point GITHUB_API_URL at `gh.url`."""

    def __init__(self, prefix: str = "", tokens: dict[str, str] | None = None) -> None:
        self.state = State(prefix.rstrip("/"), tokens or {"rw-token": WRITE, "ro-token": READ})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.state = self.state  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.state.prefix}"

    def __enter__(self) -> GitHubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- test controls ---------------------------------------------------------

    def add_comment(self, repo: str, number: int, body: str, user: str = "someone") -> int:
        """Seed a comment (as another user would have written it)."""
        with self.state.lock:
            return _create(self.state, repo, number, body, user, "http://seed")["id"]

    def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self.state.lock:
            return [
                dict(c)
                for c in sorted(self.state.comments.values(), key=lambda c: c["id"])
                if c["_issue"] == (repo, number)
            ]

    def fail(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        message: str = "Server Error",
        times: int = 1,
    ) -> None:
        """Answer the next `times` matching requests with `status` instead."""
        body = {"message": message, "documentation_url": DOCS, "status": str(status)}
        with self.state.lock:
            self.state.faults.append(
                Fault(method, re.compile(path_regex), status, headers or {}, body, times)
            )

    @property
    def requests(self) -> list[Recorded]:
        with self.state.lock:
            return list(self.state.requests)


def _create(
    state: State, repo: str, number: int, body: str, user: str, base: str
) -> dict[str, Any]:
    cid = state.next_id
    state.next_id += 1
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    comment = {
        "id": cid,
        "node_id": f"IC_{cid}",
        "url": f"{base}/repos/{repo}/issues/comments/{cid}",
        "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{cid}",
        "issue_url": f"{base}/repos/{repo}/issues/{number}",
        "body": body,
        "user": {"login": user, "type": "Bot" if user.endswith("[bot]") else "User"},
        "created_at": now,
        "updated_at": now,
        "author_association": "NONE",
        "_issue": (repo, number),
    }
    state.comments[cid] = comment
    return comment


def _public(comment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in comment.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    @property
    def state(self) -> State:
        return self.server.state  # type: ignore[attr-defined,no-any-return]

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(400, {"message": "Problems parsing JSON", "documentation_url": DOCS})
            return
        with self.state.lock:
            self.state.requests.append(
                Recorded(method, parts.path, parse_qs(parts.query), dict(self.headers), body)
            )
            status, payload, headers = self._route(method, parts.path, parse_qs(parts.query), body)
        self._send(status, payload, headers)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        state = self.state
        for fault in state.faults:
            if fault.method == method and fault.path.search(path) and fault.times > 0:
                fault.times -= 1
                return fault.status, fault.body, fault.headers
        if not path.startswith(state.prefix + "/"):
            return _not_found()
        path = path[len(state.prefix) :]
        version = self.headers.get("X-GitHub-Api-Version")
        if version is not None and version != API_VERSION:
            return 400, {"message": f"API version {version} is not supported."}, {}
        token = re.sub(r"^(Bearer|token)\s+", "", self.headers.get("Authorization", ""))
        access = state.tokens.get(token)
        if access is None:
            return 401, {"message": "Bad credentials", "documentation_url": DOCS}, {}
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path):
            return self._issue_comments(method, m.group(1), int(m.group(2)), query, body, access)
        if m := re.fullmatch(r"/repositories/(\d+)/issues/(\d+)/comments", path):
            repo = next((r for r, i in state.repo_ids.items() if i == int(m.group(1))), None)
            if repo is None:
                return _not_found()
            return self._issue_comments(method, repo, int(m.group(2)), query, body, access)
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path):
            return self._one_comment(method, m.group(1), int(m.group(2)), body, access)
        return _not_found()

    def _issue_comments(
        self,
        method: str,
        repo: str,
        number: int,
        query: dict[str, list[str]],
        body: Any,
        access: str,
    ) -> tuple[int, Any, dict[str, str]]:
        state = self.state
        repo_id = state.repo_ids.setdefault(repo, 100 + len(state.repo_ids))
        if method == "GET":
            per_page = min(100, max(1, int(query.get("per_page", ["30"])[0])))
            page = max(1, int(query.get("page", ["1"])[0]))
            items = [
                _public(c)
                for c in sorted(state.comments.values(), key=lambda c: c["id"])
                if c["_issue"] == (repo, number)
            ]
            last = max(1, -(-len(items) // per_page))
            chunk = items[(page - 1) * per_page : page * per_page]
            base = f"http://{self.headers['Host']}{state.prefix}"
            link = _link(
                f"{base}/repositories/{repo_id}/issues/{number}/comments", page, last, per_page
            )
            return 200, chunk, ({"Link": link} if link else {})
        if method == "POST":
            if access != WRITE:
                return _forbidden()
            problem = _validate(body)
            if problem:
                return problem
            base = f"http://{self.headers['Host']}{state.prefix}"
            comment = _create(state, repo, number, body["body"], "github-actions[bot]", base)
            return 201, _public(comment), {"Location": comment["url"]}
        return 404, {"message": "Not Found", "documentation_url": DOCS}, {}

    def _one_comment(
        self, method: str, repo: str, cid: int, body: Any, access: str
    ) -> tuple[int, Any, dict[str, str]]:
        state = self.state
        comment = state.comments.get(cid)
        if comment is None or comment["_issue"][0] != repo:
            return _not_found()
        if method == "GET":
            return 200, _public(comment), {}
        if access != WRITE:
            return _forbidden()
        if method == "PATCH":
            problem = _validate(body)
            if problem:
                return problem
            comment["body"] = body["body"]
            comment["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            return 200, _public(comment), {}
        if method == "DELETE":
            del state.comments[cid]
            return 204, None, {}
        return _not_found()

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-GitHub-Api-Version-Selected", API_VERSION)
        self.send_header("X-GitHub-Request-Id", f"0000:{id(self):x}")
        self.send_header("X-RateLimit-Limit", "5000")
        self.send_header("X-RateLimit-Resource", "core")
        for key, value in {
            "X-RateLimit-Remaining": "4999",
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Used": "1",
        }.items():
            if key.lower() not in {h.lower() for h in (headers or {})}:
                self.send_header(key, value)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def _link(url: str, page: int, last: int, per_page: int) -> str:
    rels = []
    if page < last:
        rels += [(page + 1, "next"), (last, "last")]
    if page > 1:
        rels += [(page - 1, "prev"), (1, "first")]
    return ", ".join(f'<{url}?per_page={per_page}&page={p}>; rel="{rel}"' for p, rel in rels)


def _validate(body: Any) -> tuple[int, Any, dict[str, str]] | None:
    if not isinstance(body, dict) or not isinstance(body.get("body"), str):
        return (
            422,
            {
                "message": 'Invalid request.\n\n"body" wasn\'t supplied.',
                "documentation_url": DOCS,
                "status": "422",
            },
            {},
        )
    if len(body["body"].encode("utf-16-le")) // 2 > MAX_BODY:
        return (
            422,
            {
                "message": "Validation Failed",
                "errors": [
                    {
                        "resource": "IssueComment",
                        "code": "custom",
                        "field": "body",
                        "message": "body is too long (maximum is 65536 characters)",
                    }
                ],
                "documentation_url": DOCS,
                "status": "422",
            },
            {},
        )
    return None


def _forbidden() -> tuple[int, Any, dict[str, str]]:
    return (
        403,
        {
            "message": "Resource not accessible by integration",
            "documentation_url": DOCS + "#create-an-issue-comment",
            "status": "403",
        },
        {},
    )


def _not_found() -> tuple[int, Any, dict[str, str]]:
    return (
        404,
        {
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest",
            "status": "404",
        },
        {},
    )
