"""Where a run is: repository, pull request, head commit, from the Actions environment.

The runner sets `GITHUB_REPOSITORY`, `GITHUB_SHA`, `GITHUB_SERVER_URL`,
`GITHUB_RUN_ID` and `GITHUB_EVENT_PATH` (the webhook payload as JSON). On a
`pull_request` event `GITHUB_SHA` is the temporary merge commit, which nobody
can browse to, so links use the payload's `pull_request.head.sha` instead.
Explicit values (CLI flags) win over the environment.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from pipeline_guard.errors import UserError
from pipeline_guard.reporters.escape import is_web_url

DEFAULT_SERVER_URL: Final = "https://github.com"
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


class ContextError(UserError):
    """The environment or the flags do not say which repository or PR this is."""


@dataclass(frozen=True)
class RepoLinks:
    """Builds browsable links to files at one commit of one repository."""

    server_url: str
    repository: str
    commit: str

    def blob(self, path: str, line: int | None = None) -> str:
        """`https://github.com/OWNER/REPO/blob/SHA/PATH#L12` (path percent-encoded)."""
        url = f"{self.server_url}/{self.repository}/blob/{self.commit}/{quote(path)}"
        return f"{url}#L{line}" if line else url


@dataclass(frozen=True)
class GitHubContext:
    """The repository, PR and commit a run is about."""

    repository: str  # "owner/name"
    server_url: str = DEFAULT_SERVER_URL
    pr_number: int | None = None
    head_sha: str | None = None
    event_name: str | None = None
    run_id: str | None = None
    fork: bool = False  # the PR comes from a fork: GITHUB_TOKEN is read-only there

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repository.split("/", 1)[1]

    @property
    def run_url(self) -> str | None:
        """The workflow run page (its artifacts hold the full reports)."""
        if not self.run_id:
            return None
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    def links(self) -> RepoLinks | None:
        """Links to files at the head commit, when the commit is known."""
        if not self.head_sha:
            return None
        return RepoLinks(self.server_url, self.repository, self.head_sha)


def from_env(
    env: Mapping[str, str] | None = None,
    *,
    repository: str | None = None,
    pr_number: int | None = None,
    head_sha: str | None = None,
) -> GitHubContext:
    """The context from the Actions environment, explicit values taking precedence."""
    env = os.environ if env is None else env
    event = load_event(env.get("GITHUB_EVENT_PATH"))
    pull = _pull_request(event)
    repo = repository or env.get("GITHUB_REPOSITORY", "").strip() or _event_repo(event)
    if not repo:
        raise ContextError("which repository? set GITHUB_REPOSITORY=owner/name or pass --repo")
    if not _REPOSITORY.fullmatch(repo) or {".", ".."} & set(repo.split("/")):
        raise ContextError(f"repository {repo!r} is not of the form owner/name")
    number = pr_number if pr_number is not None else _pr_number(event, pull)
    sha = head_sha or _head_sha(pull) or env.get("GITHUB_SHA", "").strip() or None
    server = (env.get("GITHUB_SERVER_URL", "").strip() or DEFAULT_SERVER_URL).rstrip("/")
    if not is_web_url(server):
        raise ContextError(f"GITHUB_SERVER_URL {server!r} is not an http(s) URL")
    return GitHubContext(
        repository=repo,
        server_url=server,
        pr_number=number,
        head_sha=sha,
        event_name=env.get("GITHUB_EVENT_NAME") or None,
        run_id=run_id if (run_id := env.get("GITHUB_RUN_ID", "")).isdigit() else None,
        fork=_is_fork(pull),
    )


def load_event(path: str | None) -> Mapping[str, Any]:
    """The webhook payload at `path` (empty when unset); a broken file is an error."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContextError(f"GITHUB_EVENT_PATH {path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise ContextError(f"GITHUB_EVENT_PATH {path}: not a readable JSON file: {exc}") from None
    if not isinstance(data, dict):
        raise ContextError(f"GITHUB_EVENT_PATH {path}: expected a JSON object")
    return data


def _pull_request(event: Mapping[str, Any]) -> Mapping[str, Any]:
    pull = event.get("pull_request")
    return pull if isinstance(pull, dict) else {}


def _pr_number(event: Mapping[str, Any], pull: Mapping[str, Any]) -> int | None:
    # pull_request(_target) events carry `number`; issue_comment on a PR carries
    # `issue.number` with an `issue.pull_request` key.
    for value in (pull.get("number"), event.get("number") if pull else None):
        if isinstance(value, int) and value > 0:
            return value
    issue = event.get("issue")
    if isinstance(issue, dict) and "pull_request" in issue:
        number = issue.get("number")
        if isinstance(number, int) and number > 0:
            return number
    return None


def _head_sha(pull: Mapping[str, Any]) -> str | None:
    head = pull.get("head")
    sha = head.get("sha") if isinstance(head, dict) else None
    return sha if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{40,64}", sha) else None


def _event_repo(event: Mapping[str, Any]) -> str:
    repo = event.get("repository")
    name = repo.get("full_name") if isinstance(repo, dict) else None
    return name if isinstance(name, str) else ""


def _is_fork(pull: Mapping[str, Any]) -> bool:
    head = pull.get("head")
    base = pull.get("base")
    if not isinstance(head, dict) or not isinstance(base, dict):
        return False
    head_repo, base_repo = head.get("repo"), base.get("repo")
    if not isinstance(head_repo, dict) or not isinstance(base_repo, dict):
        return False
    return bool(head_repo.get("full_name") != base_repo.get("full_name"))
