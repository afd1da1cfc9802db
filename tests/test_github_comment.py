"""The GitHub client, sticky comment, job summary and annotations, over real HTTP
against the local GitHub-compatible server in tests/github_server.py."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from github_server import GitHubServer
from report_samples import (
    COMMIT,
    HOSTILE_MESSAGE,
    HOSTILE_PATH,
    blocked_report,
    finding,
    report,
)

from pipeline_guard.github.client import GitHubClient, GitHubError, RetryPolicy, next_link
from pipeline_guard.github.comment import (
    MAX_COMMENT_CHARS,
    OnClean,
    is_ours,
    marker,
    publish_report_comment,
    sticky_comment,
)
from pipeline_guard.github.context import ContextError, from_env
from pipeline_guard.github.summary import (
    annotate,
    append_step_summary,
    escape_data,
    escape_property,
)
from pipeline_guard.model import Category, Severity

REPO = "octo/app"
PR = 7
HEAD = "f" * 40


class Sleeps(list[float]):
    """An injectable sleep that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def gh() -> GitHubServer:
    with GitHubServer() as server:
        yield server


def client(server: GitHubServer, token: str = "rw-token", **kw: object) -> GitHubClient:
    kw.setdefault("sleep", Sleeps())
    return GitHubClient(token=token, api_url=server.url, **kw)  # type: ignore[arg-type]


def event_file(tmp_path: Path, *, fork: bool = False, number: int = PR) -> Path:
    head_repo = "someone/app" if fork else REPO
    event = {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": HEAD, "ref": "feature", "repo": {"full_name": head_repo}},
            "base": {"sha": "b" * 40, "ref": "main", "repo": {"full_name": REPO}},
        },
        "repository": {"full_name": REPO},
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return path


def actions_env(
    server: GitHubServer, tmp_path: Path, token: str = "rw-token", fork: bool = False
) -> dict[str, str]:
    summary = tmp_path / "step_summary.md"
    summary.touch()
    return {
        "GITHUB_TOKEN": token,
        "GITHUB_API_URL": server.url,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_SERVER_URL": "https://github.example.com",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event_file(tmp_path, fork=fork)),
        "GITHUB_SHA": "e" * 40,  # the merge commit: links must not use it
        "GITHUB_RUN_ID": "4242",
        "GITHUB_STEP_SUMMARY": str(summary),
    }


# -- client -------------------------------------------------------------------


def test_client_sends_github_headers_and_bearer_token(gh: GitHubServer) -> None:
    api = client(gh)
    api.request("POST", f"/repos/{REPO}/issues/{PR}/comments", body={"body": "hi"})
    sent = gh.requests[-1]
    headers = {k.lower(): v for k, v in sent.headers.items()}
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert headers["authorization"] == "Bearer rw-token"
    assert headers["user-agent"].startswith("pipeline-guard/")
    assert sent.body == {"body": "hi"}


def test_ghe_base_url_under_api_v3() -> None:
    with GitHubServer(prefix="/api/v3") as ghe:
        env = {"GITHUB_TOKEN": "rw-token", "GITHUB_API_URL": ghe.url + "/"}
        api = GitHubClient.from_env(env, sleep=Sleeps())
        created = api.request("POST", f"/repos/{REPO}/issues/1/comments", body={"body": "x"})
        assert created.status == 201
        assert gh_paths(ghe) == [f"/api/v3/repos/{REPO}/issues/1/comments"]


def gh_paths(server: GitHubServer) -> list[str]:
    return [r.path for r in server.requests]


def test_pagination_follows_link_next_across_pages(gh: GitHubServer) -> None:
    for i in range(250):
        gh.add_comment(REPO, PR, f"comment {i}")
    items = list(client(gh).paginate(f"/repos/{REPO}/issues/{PR}/comments"))
    assert [c["body"] for c in items] == [f"comment {i}" for i in range(250)]
    gets = gh.requests
    assert len(gets) == 3
    # GitHub's next links use the /repositories/{id}/ form; the client follows them as given.
    assert gets[1].path == f"/repositories/100/issues/{PR}/comments"
    assert gets[2].query == {"per_page": ["100"], "page": ["3"]}


def test_next_link_parsing() -> None:
    header = (
        '<https://api.github.com/repositories/1/issues/2/comments?page=2>; rel="next", '
        '<https://api.github.com/repositories/1/issues/2/comments?page=5>; rel="last"'
    )
    assert next_link(header) == "https://api.github.com/repositories/1/issues/2/comments?page=2"
    assert next_link('<https://x/?page=1>; rel="prev"') is None


def test_refuses_to_send_token_to_another_origin(gh: GitHubServer) -> None:
    with pytest.raises(GitHubError, match="refusing to follow"):
        client(gh).request("GET", "http://evil.example/repos/x/y/issues/1/comments")
    assert gh.requests == []


def test_502_is_retried_with_backoff(gh: GitHubServer) -> None:
    sleeps = Sleeps()
    gh.fail("POST", r"/comments$", 502, times=2)
    api = client(gh, sleep=sleeps, retry=RetryPolicy(attempts=4, backoff=0.5))
    created = api.request("POST", f"/repos/{REPO}/issues/{PR}/comments", body={"body": "x"})
    assert created.status == 201
    assert sleeps == [0.5, 1.0]
    assert len(gh.comments(REPO, PR)) == 1


def test_5xx_gives_up_after_the_attempts(gh: GitHubServer) -> None:
    sleeps = Sleeps()
    gh.fail("GET", r"/comments$", 503, times=10, message="Service Unavailable")
    api = client(gh, sleep=sleeps, retry=RetryPolicy(attempts=3, backoff=1.0))
    with pytest.raises(GitHubError, match=r"HTTP 503: Service Unavailable") as info:
        api.request("GET", f"/repos/{REPO}/issues/{PR}/comments")
    assert info.value.status == 503
    assert sleeps == [1.0, 2.0]


def test_secondary_rate_limit_waits_retry_after(gh: GitHubServer) -> None:
    sleeps = Sleeps()
    gh.fail(
        "POST",
        r"/comments$",
        403,
        headers={"Retry-After": "3"},
        message="You have exceeded a secondary rate limit. Please wait a few minutes "
        "before you try again.",
    )
    api = client(gh, sleep=sleeps)
    created = api.request("POST", f"/repos/{REPO}/issues/{PR}/comments", body={"body": "x"})
    assert created.status == 201
    assert sleeps == [3.0]


def test_primary_rate_limit_waits_until_reset(gh: GitHubServer) -> None:
    sleeps = Sleeps()
    gh.fail(
        "GET",
        r"/comments$",
        403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000"},
        message="API rate limit exceeded for installation ID 1.",
    )
    api = client(gh, sleep=sleeps, clock=lambda: 990.0)
    assert api.request("GET", f"/repos/{REPO}/issues/{PR}/comments").status == 200
    assert sleeps == [11.0]  # until the reset, plus a second


def test_rate_limit_longer_than_the_cap_fails_with_when(gh: GitHubServer) -> None:
    sleeps = Sleeps()
    gh.fail("GET", r"/comments$", 429, headers={"Retry-After": "3600"}, message="slow down")
    api = client(gh, sleep=sleeps, retry=RetryPolicy(max_wait=60))
    with pytest.raises(GitHubError, match=r"wait 3600s, more than the 60s this run waits"):
        api.request("GET", f"/repos/{REPO}/issues/{PR}/comments")
    assert sleeps == []


def test_bad_token_is_a_clear_401(gh: GitHubServer) -> None:
    with pytest.raises(GitHubError, match=r"HTTP 401: Bad credentials \(the token is invalid"):
        client(gh, token="nope").request("GET", f"/repos/{REPO}/issues/{PR}/comments")


def test_unreachable_api_retries_then_says_so() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    api = GitHubClient(
        "rw-token",
        f"http://127.0.0.1:{port}",
        sleep=sleeps,
        retry=RetryPolicy(attempts=3, backoff=0.25),
        timeout=5,
    )
    with pytest.raises(GitHubError, match=rf"cannot reach 127\.0\.0\.1:{port}"):
        api.request("GET", "/repos/o/r/issues/1/comments")
    assert sleeps == [0.25, 0.5]


# -- context --------------------------------------------------------------------


def test_context_from_pull_request_event(tmp_path: Path) -> None:
    env = {
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_PATH": str(event_file(tmp_path, fork=True, number=31)),
        "GITHUB_SHA": "e" * 40,
        "GITHUB_SERVER_URL": "https://ghe.example.com",
        "GITHUB_RUN_ID": "77",
    }
    ctx = from_env(env)
    assert (ctx.repository, ctx.pr_number, ctx.head_sha, ctx.fork) == (REPO, 31, HEAD, True)
    assert ctx.run_url == "https://ghe.example.com/octo/app/actions/runs/77"
    links = ctx.links()
    assert links is not None
    assert links.blob("src/a b.py", 12) == (
        f"https://ghe.example.com/octo/app/blob/{HEAD}/src/a%20b.py#L12"
    )
    assert from_env(env, pr_number=5, head_sha="c" * 40).pr_number == 5


def test_context_push_event_has_no_pr(tmp_path: Path) -> None:
    event = tmp_path / "push.json"
    event.write_text(json.dumps({"ref": "refs/heads/main", "repository": {"full_name": REPO}}))
    ctx = from_env({"GITHUB_EVENT_PATH": str(event), "GITHUB_SHA": "a" * 40})
    assert (ctx.repository, ctx.pr_number, ctx.head_sha) == (REPO, None, "a" * 40)


def test_context_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ContextError, match="set GITHUB_REPOSITORY"):
        from_env({})
    with pytest.raises(ContextError, match="no such file"):
        from_env({"GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_PATH": str(tmp_path / "nope")})
    with pytest.raises(ContextError, match="owner/name"):
        from_env({"GITHUB_REPOSITORY": "../../etc"})


# -- sticky comment ---------------------------------------------------------------


def test_first_run_creates_second_run_updates_in_place(gh: GitHubServer, tmp_path: Path) -> None:
    env = actions_env(gh, tmp_path)
    first = publish_report_comment(blocked_report(), env=env)
    assert first.action == "created"
    assert first.url == f"https://github.com/{REPO}/pull/{PR}#issuecomment-{first.comment_id}"
    fixed = report([finding(Severity.LOW, "B101", "app.py", 9, "assert used")])
    second = publish_report_comment(fixed, env=env)
    assert (second.action, second.comment_id) == ("updated", first.comment_id)
    comments = gh.comments(REPO, PR)
    assert len(comments) == 1
    assert comments[0]["body"].startswith(
        "<!-- pipeline-guard:default -->\n### ✅ pipeline-guard: passed"
    )
    third = publish_report_comment(fixed, env=env)
    assert third.action == "unchanged"
    assert [r.method for r in gh.requests].count("PATCH") == 1


def test_comment_links_to_head_commit_not_merge_commit(gh: GitHubServer, tmp_path: Path) -> None:
    publish_report_comment(blocked_report(), env=actions_env(gh, tmp_path))
    body = gh.comments(REPO, PR)[0]["body"]
    assert f"(https://github.example.com/{REPO}/blob/{HEAD}/app.py#L3)" in body
    assert "e" * 40 not in body
    assert f"[workflow run](https://github.example.com/{REPO}/actions/runs/4242)" in body


def test_marker_on_page_three_is_found(gh: GitHubServer, tmp_path: Path) -> None:
    for i in range(230):
        gh.add_comment(REPO, PR, f"review chatter {i}")
    ours = gh.add_comment(REPO, PR, marker() + "\nold body", user="github-actions[bot]")
    result = publish_report_comment(blocked_report(), env=actions_env(gh, tmp_path))
    assert (result.action, result.comment_id) == ("updated", ours)
    assert len(gh.comments(REPO, PR)) == 231
    assert [r.method for r in gh.requests] == ["GET", "GET", "GET", "PATCH"]


def test_instances_keep_separate_comments(gh: GitHubServer, tmp_path: Path) -> None:
    env = actions_env(gh, tmp_path)
    a = publish_report_comment(blocked_report(), env=env, instance="sast")
    b = publish_report_comment(blocked_report(), env=env, instance="images")
    assert a.action == b.action == "created"
    bodies = [c["body"].split("\n", 1)[0] for c in gh.comments(REPO, PR)]
    assert bodies == ["<!-- pipeline-guard:sast -->", "<!-- pipeline-guard:images -->"]
    again = publish_report_comment(report([]), env=env, instance="sast")
    assert (again.action, again.comment_id) == ("updated", a.comment_id)


def test_marker_inside_someone_elses_comment_is_not_adopted(
    gh: GitHubServer, tmp_path: Path
) -> None:
    other = gh.add_comment(REPO, PR, "look at this:\n<!-- pipeline-guard:default -->\n")
    quoted = gh.add_comment(REPO, PR, " <!-- pipeline-guard:default -->")
    result = publish_report_comment(report(), env=actions_env(gh, tmp_path))
    assert result.action == "created"
    assert result.comment_id not in (other, quoted)
    bodies = {c["id"]: c["body"] for c in gh.comments(REPO, PR)}
    assert bodies[other] == "look at this:\n<!-- pipeline-guard:default -->\n"
    # The hostile message carries the marker; escaped, it cannot become a second marker.
    ours = bodies[result.comment_id]
    assert ours.count("<!-- pipeline-guard:") == 1
    assert ours.startswith("<!-- pipeline-guard:default -->\n")
    assert is_ours(ours) and not is_ours(bodies[other]) and not is_ours(bodies[quoted])


def test_bad_instance_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="instance key"):
        marker("a -->b")


def test_clean_scan_deletes_comment_when_asked(gh: GitHubServer, tmp_path: Path) -> None:
    env = actions_env(gh, tmp_path)
    created = publish_report_comment(blocked_report(), env=env)
    clean = report([])
    result = publish_report_comment(clean, env=env, on_clean=OnClean.DELETE)
    assert (result.action, result.comment_id) == ("deleted", created.comment_id)
    assert gh.comments(REPO, PR) == []
    again = publish_report_comment(clean, env=env, on_clean=OnClean.DELETE)
    assert again.action == "skipped"
    assert gh.comments(REPO, PR) == []


def test_clean_scan_marks_comment_resolved(gh: GitHubServer, tmp_path: Path) -> None:
    env = actions_env(gh, tmp_path)
    created = publish_report_comment(blocked_report(), env=env)
    result = publish_report_comment(report([]), env=env, on_clean=OnClean.RESOLVE)
    assert (result.action, result.comment_id) == ("resolved", created.comment_id)
    (comment,) = gh.comments(REPO, PR)
    assert comment["body"] == (
        "<!-- pipeline-guard:default -->\n### ✅ pipeline-guard: all clear\n\n"
        "No findings left to report.\n"
    )


def test_fork_pr_read_only_token_falls_back_to_job_summary(
    gh: GitHubServer, tmp_path: Path
) -> None:
    env = actions_env(gh, tmp_path, token="ro-token", fork=True)
    result = publish_report_comment(blocked_report(), env=env)
    assert result.action == "fallback"
    assert result.note is not None
    assert "fork, where GITHUB_TOKEN is read-only" in result.note
    assert gh.comments(REPO, PR) == []
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary.startswith("> [!NOTE]\n> pipeline\\-guard could not post its PR comment")
    assert "### ❌ pipeline-guard: blocked" in summary
    assert "| **critical** | [GHSA\\-9wx4\\-h78v\\-vm56]" in summary


def test_unreachable_github_falls_back_without_raising(tmp_path: Path) -> None:
    with GitHubServer() as gh:
        env = actions_env(gh, tmp_path)
    # The server is gone: connection refused on every attempt.
    result = publish_report_comment(
        blocked_report(),
        env=env,
        client=GitHubClient("rw-token", env["GITHUB_API_URL"], sleep=Sleeps()),
    )
    assert result.action == "fallback"
    assert result.note is not None and "cannot reach" in result.note


def test_no_pr_number_skips_with_a_note(tmp_path: Path) -> None:
    result = publish_report_comment(
        blocked_report(), env={"GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": "x"}
    )
    assert result.action == "skipped"
    assert result.note == "no PR comment: not a pull request (no PR number in the event)"


def test_huge_report_is_truncated_under_githubs_limit(gh: GitHubServer, tmp_path: Path) -> None:
    severities = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO]
    findings = [
        finding(severities[i % 5], f"R{i:04d}", f"src/module_{i:04d}.py", i + 1, "x" * 20)
        for i in range(800)
    ]
    result = publish_report_comment(report(findings), env=actions_env(gh, tmp_path))
    assert result.action == "created"  # the server enforces the 65,536 limit with a 422
    body = gh.comments(REPO, PR)[0]["body"]
    assert len(body) <= MAX_COMMENT_CHARS
    rows = re.findall(r"^\| \*\*(\w+)\*\* \|", body, flags=re.M)
    match = re.search(r"(\d+) lower-severity findings were left out", body)
    assert match is not None
    assert len(rows) + int(match.group(1)) == 800
    # Lowest severity goes first: the kept rows are the most severe, in order.
    kept_medium = len(rows) - 320
    assert 0 < kept_medium < 160
    assert rows == ["critical"] * 160 + ["high"] * 160 + ["medium"] * kept_medium


def test_existing_findings_are_dropped_before_new_ones(gh: GitHubServer, tmp_path: Path) -> None:
    new = [finding(Severity.LOW, f"N{i}", f"n{i}.py", 1, "n" * 150) for i in range(150)]
    old = [
        finding(Severity.CRITICAL, f"O{i}", f"o{i}.py", 1, "o" * 150, state="unchanged")
        for i in range(300)
    ]
    publish_report_comment(report(new + old), env=actions_env(gh, tmp_path))
    body = gh.comments(REPO, PR)[0]["body"]
    assert len(body) <= MAX_COMMENT_CHARS
    assert len(re.findall(r"^\| \*\*low\*\* \| N\d+", body, flags=re.M)) == 150
    kept_old = len(re.findall(r"^\| \*\*critical\*\* \| O\d+", body, flags=re.M))
    assert 0 < kept_old < 300
    assert f"{300 - kept_old} lower-severity findings were left out" in body


# -- job summary and annotations -----------------------------------------------------


def test_step_summary_appends(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_text("# earlier step\n")
    env = {"GITHUB_STEP_SUMMARY": str(target)}
    assert append_step_summary("## ours", env) == target
    assert target.read_text() == "# earlier step\n## ours\n\n"
    assert append_step_summary("x", {}) is None


def test_workflow_command_escaping() -> None:
    assert escape_data("100%\r\n::add-mask::x") == "100%25%0D%0A::add-mask::x"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_annotation_for_hostile_finding_stays_one_command() -> None:
    hostile = finding(Severity.HIGH, "R1", "dir,x/a:b.py", 4, "bad\n::error::forged 50%")
    (line,) = annotate(report([hostile])).lines
    assert line == (
        "::error file=dir%2Cx/a%3Ab.py,line=4,endLine=4,title=pipeline-guard%3A R1 (high)"
        "::bad%0A::error::forged 50%25"
    )


def test_annotations_only_new_and_capped_per_level() -> None:
    findings = (
        [finding(Severity.HIGH, f"H{i}", "h.py", i + 1) for i in range(25)]
        + [finding(Severity.MEDIUM, f"M{i}", "m.py", i + 1) for i in range(3)]
        + [finding(Severity.LOW, f"L{i}", "l.py", i + 1) for i in range(15)]
        + [finding(Severity.CRITICAL, "OLD", "o.py", 1, state="unchanged")]
    )
    result = annotate(report(findings), path_prefix="svc")
    levels = [line.split(" ", 1)[0] for line in result.lines]
    assert levels.count("::error") == 10
    assert levels.count("::warning") == 3
    assert levels.count("::notice") == 10  # 9 findings + the "N more" notice
    assert result.omitted == 15 + 6
    assert result.lines[0].startswith("::error file=svc/h.py,line=1,")
    assert "OLD" not in "".join(result.lines)
    assert result.lines[-1] == (
        "::notice title=pipeline-guard::21 more new finding(s) not annotated (GitHub shows at "
        "most 10 annotations of each level per step); see the job summary and the report "
        "artifacts."
    )


def test_annotations_without_overflow_have_no_extra_notice() -> None:
    findings = [finding(Severity.LOW, "L", "a.py", 1), finding(Severity.INFO, "I", "b.py", None)]
    result = annotate(report(findings))
    assert result.omitted == 0
    assert result.lines == (
        "::notice file=a.py,line=1,endLine=1,title=pipeline-guard%3A L (low)::L in a.py",
        "::notice file=b.py,title=pipeline-guard%3A I (info)::I in b.py",
    )


def test_sticky_comment_rejects_oversized_body(gh: GitHubServer) -> None:
    with pytest.raises(ValueError, match="over GitHub's limit"):
        sticky_comment(client(gh), REPO, PR, "x" * MAX_COMMENT_CHARS)


def test_hostile_values_reach_the_comment_escaped(gh: GitHubServer, tmp_path: Path) -> None:
    publish_report_comment(report(), env=actions_env(gh, tmp_path))
    body = gh.comments(REPO, PR)[0]["body"]
    assert "<img" not in body and "<script" not in body
    assert "](javascript:" not in body
    assert "@org/team" not in body and "@&#8203;org/team" in body
    assert HOSTILE_MESSAGE not in body and HOSTILE_PATH not in body
    row = next(line for line in body.splitlines() if "B101" in line)
    # Exactly the table's 6 column pipes: none injected by the message.
    assert len(re.findall(r"(?<!\\)\|", row)) == 6
    assert COMMIT[:12] in body
    assert Category.SCA.value in body
