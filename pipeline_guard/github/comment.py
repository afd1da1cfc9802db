"""The sticky pull-request comment: one per PR and instance key, updated in place.

A comment is ours when its first line is exactly `<!-- pipeline-guard:INSTANCE -->`
(an HTML comment GitHub does not display). Only the first line counts, and
everything from a scanner is escaped before it reaches the body (`<` becomes
`&lt;`), so a finding message that contains the marker cannot make us adopt or
overwrite anyone else's comment. Several pipeline-guard jobs on one PR use
different instance keys and each keep their own comment.

`publish_report_comment` is the one call for a CLI or the Action: it never
raises for an API failure. A read-only token (a pull request from a fork) or an
unreachable API makes it write the comment to the job summary instead, with a
note saying why, so the scan's result is never lost and the scan never crashes.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pipeline_guard.github.client import GitHubClient, GitHubConfigError, GitHubError
from pipeline_guard.github.context import ContextError, GitHubContext, from_env
from pipeline_guard.github.summary import append_step_summary
from pipeline_guard.model import ScanReport
from pipeline_guard.reporters import pr_comment
from pipeline_guard.reporters.escape import md
from pipeline_guard.reporters.pr_comment import comment_length

#: GitHub rejects a comment body longer than this (characters).
MAX_COMMENT_CHARS: Final = 65_536
DEFAULT_INSTANCE: Final = "default"
_INSTANCE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class OnClean(enum.StrEnum):
    """What to do with the comment when a scan leaves nothing to report."""

    UPDATE = "update"  # show the passing result (default)
    DELETE = "delete"  # remove the comment; post none
    RESOLVE = "resolve"  # replace it with a one-line "all clear"; post none if there was none


@dataclass(frozen=True)
class CommentResult:
    """What happened: created | updated | unchanged | deleted | resolved | skipped | fallback."""

    action: str
    comment_id: int | None = None
    url: str | None = None
    note: str | None = None


def marker(instance: str = DEFAULT_INSTANCE) -> str:
    """The hidden first line identifying our comment for `instance`."""
    if not _INSTANCE.fullmatch(instance):
        raise ValueError(f"instance key {instance!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return f"<!-- pipeline-guard:{instance} -->"


def is_ours(body: str, instance: str = DEFAULT_INSTANCE) -> bool:
    """True when the comment's first line is our marker for `instance`."""
    return body.split("\n", 1)[0].rstrip("\r") == marker(instance)


def body_budget(instance: str = DEFAULT_INSTANCE) -> int:
    """Characters left for the comment text after the marker line."""
    return MAX_COMMENT_CHARS - len(marker(instance)) - 1


def find_comment(
    client: GitHubClient, repository: str, number: int, instance: str
) -> Mapping[str, Any] | None:
    """Our comment on the PR for `instance`, or None (every page is searched)."""
    path = f"/repos/{repository}/issues/{number}/comments"
    for item in client.paginate(path):
        if isinstance(item, dict) and is_ours(str(item.get("body") or ""), instance):
            return item
    return None


def sticky_comment(
    client: GitHubClient,
    repository: str,
    number: int,
    text: str,
    *,
    instance: str = DEFAULT_INSTANCE,
    clean: bool = False,
    on_clean: OnClean = OnClean.UPDATE,
) -> CommentResult:
    """Create or update our comment with `text`; raises GitHubError on API failure.

    With `clean` (nothing left to report) `on_clean` decides: update as usual,
    delete the comment, or replace it with a short "resolved" note.
    """
    existing = find_comment(client, repository, number, instance)
    if clean and on_clean is OnClean.DELETE:
        if existing is None:
            return CommentResult("skipped", note="nothing to report and no comment to delete")
        client.request("DELETE", f"/repos/{repository}/issues/comments/{existing['id']}")
        return CommentResult("deleted", comment_id=int(existing["id"]))
    if clean and on_clean is OnClean.RESOLVE:
        if existing is None:
            return CommentResult("skipped", note="nothing to report and no earlier comment")
        text = pr_comment.resolved_text()
    body = f"{marker(instance)}\n{text}"
    if comment_length(body) > MAX_COMMENT_CHARS:
        raise ValueError(f"comment is {comment_length(body)} characters, over GitHub's limit")
    if existing is None:
        created = client.request(
            "POST", f"/repos/{repository}/issues/{number}/comments", body={"body": body}
        ).data
        return CommentResult("created", int(created["id"]), created.get("html_url"))
    action = "resolved" if clean and on_clean is OnClean.RESOLVE else "updated"
    if existing.get("body") == body:
        return CommentResult("unchanged", int(existing["id"]), existing.get("html_url"))
    updated = client.request(
        "PATCH", f"/repos/{repository}/issues/comments/{existing['id']}", body={"body": body}
    ).data
    return CommentResult(action, int(updated["id"]), updated.get("html_url"))


def publish_report_comment(
    report: ScanReport,
    *,
    instance: str = DEFAULT_INSTANCE,
    pr_number: int | None = None,
    on_clean: OnClean = OnClean.UPDATE,
    env: Mapping[str, str] | None = None,
    client: GitHubClient | None = None,
    context: GitHubContext | None = None,
) -> CommentResult:
    """Render the report as the sticky PR comment and post it; never raises for the API.

    Falls back to the job summary (with a note saying why) when the token may
    not comment (fork PR), GitHub cannot be reached, or no token is set.
    """
    env = os.environ if env is None else env
    marker(instance)  # a bad key is the caller's mistake: fail before any work
    try:
        ctx = context or from_env(env, pr_number=pr_number)
    except ContextError as exc:
        return CommentResult("skipped", note=f"no PR comment: {exc}")
    if ctx.pr_number is None:
        return CommentResult(
            "skipped", note="no PR comment: not a pull request (no PR number in the event)"
        )
    text = pr_comment.render_comment(
        report, links=ctx.links(), run_url=ctx.run_url, max_chars=body_budget(instance)
    )
    clean = report.verdict.passed and not report.active
    try:
        api = client or GitHubClient.from_env(env)
        return sticky_comment(
            api, ctx.repository, ctx.pr_number, text,
            instance=instance, clean=clean, on_clean=on_clean,
        )  # fmt: skip
    except (GitHubError, GitHubConfigError) as exc:
        return _fallback(ctx, text, exc, env)


def _fallback(
    ctx: GitHubContext, text: str, exc: Exception, env: Mapping[str, str]
) -> CommentResult:
    if isinstance(exc, GitHubError) and exc.forbidden:
        why = (
            f"the token may not comment on PR #{ctx.pr_number}"
            + (" (it comes from a fork, where GITHUB_TOKEN is read-only)" if ctx.fork else "")
            + "; the workflow needs `permissions: pull-requests: write`"
        )
    else:
        why = f"commenting on PR #{ctx.pr_number} failed: {exc}"
    note = (
        f"pipeline-guard could not post its PR comment: {why}. The comment is in the job summary."
    )
    written = append_step_summary(f"> [!NOTE]\n> {md(note)}\n\n{text}", env)
    if written is None:
        note = f"pipeline-guard could not post its PR comment: {why} (and no job summary is set)."
    return CommentResult("fallback", note=note)
