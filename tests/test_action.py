"""action.yml and the example workflows: schema-valid, injection-safe, and the
action's shell steps run for real in a local harness that sets the environment
a GitHub runner sets (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH,
GITHUB_WORKSPACE, RUNNER_TEMP, ...), against the local GitHub API server.

The harness evaluates only the expressions the action uses (`inputs.x`,
`github.x.y`, `steps.id.outputs.x`, `runner.x`); anything else fails the test,
so the action cannot grow an expression the harness silently ignores. `uses:`
steps cannot run here: `actions/setup-python` is stood in for by this Python.
The install step finds pipeline-guard already installed (the test venv, linked
in as `$RUNNER_TEMP/pipeline-guard-venv`), as it would on a second use in a job.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import REPO, git, shared_dir, write_files
from github_server import GitHubServer

ACTION = REPO / "action.yml"
WORKFLOWS = sorted((REPO / "examples" / "workflows").glob("*.yml"))
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*")
OWNER_REPO = "octo/app"
PR = 12


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean True; GitHub means the string.
    if True in data:
        data["on"] = data.pop(True)
    return data  # type: ignore[no-any-return]


def schema(name: str) -> dict[str, Any]:
    return json.loads((shared_dir() / "schemas" / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# -- static checks ---------------------------------------------------------------


def test_action_matches_the_action_schema() -> None:
    validator = jsonschema.Draft7Validator(schema("github-action.json"))
    errors = sorted(validator.iter_errors(load_yaml(ACTION)), key=str)
    assert errors == []


def test_example_workflows_match_the_workflow_schema() -> None:
    assert [p.name for p in WORKFLOWS] == ["nightly.yml", "pr.yml", "release.yml"]
    validator = jsonschema.Draft7Validator(schema("github-workflow.json"))
    for path in WORKFLOWS:
        errors = [f"{path.name}: {e.message}" for e in validator.iter_errors(load_yaml(path))]
        assert errors == []


def test_schema_validation_catches_a_broken_workflow() -> None:
    broken = load_yaml(WORKFLOWS[1])
    broken["jobs"]["scan"]["permissions"]["pull-requests"] = "admin"
    validator = jsonschema.Draft7Validator(schema("github-workflow.json"))
    assert list(validator.iter_errors(broken)) != []


def test_inputs_reach_shell_steps_only_through_env() -> None:
    action = load_yaml(ACTION)
    declared = set(action["inputs"])
    assert declared >= {
        "stage",
        "config",
        "base",
        "images",
        "fail-on",
        "comment",
        "sarif-file",
        "github-token",
        "instance",
    }
    assert set(action["outputs"]) >= {"verdict", "findings", "critical", "high", "sarif-file"}
    ids = {s.get("id") for s in action["runs"]["steps"]}
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], f"expression interpolated into run: {step['name']}"
            assert step["shell"] == "bash"
        for value in (step.get("env") or {}).values():
            for expr in EXPRESSION.findall(str(value)):
                if expr.startswith("inputs."):
                    assert expr.removeprefix("inputs.") in declared
    for output in action["outputs"].values():
        (expr,) = EXPRESSION.findall(output["value"])
        assert expr.split(".")[1] in ids


def test_workflows_are_least_privilege_and_never_run_pr_code_with_secrets() -> None:
    for path in WORKFLOWS:
        flow = load_yaml(path)
        text = path.read_text(encoding="utf-8")
        assert flow["permissions"] == {}, path.name
        assert "pull_request_target" not in flow["on"], path.name
        assert "pull_request_target" in text  # the comment explaining why not
        for job in flow["jobs"].values():
            perms = job["permissions"]
            assert perms["contents"] == "read"
            assert perms["security-events"] == "write"
            assert set(perms) <= {"contents", "pull-requests", "security-events"}
            for step in job["steps"]:
                assert "${{" not in step.get("run", "")
                if step.get("uses", "").startswith("actions/checkout"):
                    assert step["with"]["persist-credentials"] is False
                    assert "ref" not in step["with"]
    pr = load_yaml(REPO / "examples" / "workflows" / "pr.yml")
    assert pr["jobs"]["scan"]["permissions"]["pull-requests"] == "write"
    assert list(pr["on"]) == ["pull_request"]


# -- the harness -----------------------------------------------------------------


class UnsupportedExpression(Exception):
    pass


@dataclass
class StepResult:
    name: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


@dataclass
class Run:
    steps: list[StepResult]
    outputs: dict[str, str]
    summary: str
    failed: bool
    runner_temp: Path

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)

    @property
    def stdout(self) -> str:
        return "".join(s.stdout for s in self.steps)


@dataclass
class Harness:
    """Runs a composite action's steps the way the runner does, locally."""

    workspace: Path
    runner_temp: Path
    event: dict[str, Any]
    env: dict[str, str]
    contexts: dict[str, Any] = field(default_factory=dict)

    def run(self, inputs: dict[str, str]) -> Run:
        action = load_yaml(ACTION)
        event_path = self.runner_temp / "event.json"
        event_path.write_text(json.dumps(self.event))
        github = {
            "action_path": str(REPO),
            "token": "default-token",
            "event": self.event,
            "workspace": str(self.workspace),
            "repository": OWNER_REPO,
            **{
                k.removeprefix("GITHUB_").lower(): v
                for k, v in self.env.items()
                if k.startswith("GITHUB_")
            },
        }
        self.contexts = {
            "github": github,
            "runner": {"temp": str(self.runner_temp), "os": "Linux"},
            "steps": {},
            "inputs": {},
        }
        self.contexts["inputs"] = {
            name: inputs.get(name, self.expand(str(spec.get("default", ""))))
            for name, spec in action["inputs"].items()
        }
        unknown = set(inputs) - set(action["inputs"])
        assert not unknown, f"inputs the action does not declare: {unknown}"
        results: list[StepResult] = []
        summary = ""
        failed = False
        for index, step in enumerate(action["runs"]["steps"]):
            if "if" in step:
                raise UnsupportedExpression(f"step condition {step['if']!r}")
            if "uses" in step:
                result = self.stand_in(step)
            else:
                result, step_summary = self.shell(index, step, event_path)
                summary += step_summary
            results.append(result)
            if step.get("id"):
                self.contexts["steps"][step["id"]] = {"outputs": result.outputs}
            if result.returncode != 0:
                failed = True
                break
        outputs = {k: self.expand(v["value"]) for k, v in action["outputs"].items()}
        return Run(results, outputs, summary, failed, self.runner_temp)

    def stand_in(self, step: dict[str, Any]) -> StepResult:
        if not step["uses"].startswith("actions/setup-python@"):
            raise UnsupportedExpression(f"no stand-in for {step['uses']}")
        return StepResult(step["name"], 0, "", "", {"python-path": sys.executable})

    def shell(self, index: int, step: dict[str, Any], event_path: Path) -> tuple[StepResult, str]:
        script = self.runner_temp / f"step-{index}.sh"
        script.write_text(step["run"])
        output = self.runner_temp / f"output-{index}"
        summary = self.runner_temp / f"summary-{index}.md"
        output.touch()
        summary.touch()
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.runner_temp / "home"),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION_PATH": str(REPO),
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "RUNNER_TEMP": str(self.runner_temp),
            "RUNNER_OS": "Linux",
            **self.env,
        }
        env.update({k: self.expand(str(v)) for k, v in (step.get("env") or {}).items()})
        # The runner's default for `shell: bash`.
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        result = StepResult(
            step["name"],
            proc.returncode,
            proc.stdout,
            proc.stderr,
            parse_outputs(output.read_text()),
        )
        return result, summary.read_text()

    def expand(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.lookup(m.group(1)), text)

    def lookup(self, expr: str) -> str:
        if not DOTTED.fullmatch(expr):
            raise UnsupportedExpression(expr)
        value: Any = self.contexts
        for part in expr.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT in both forms the runner accepts: `k=v` and `k<<DELIM`."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            outputs[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


VULNERABLE_APP = {
    "app.py": (
        "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    ),
    "pipeline-guard.yml": (
        "version: 1\nstages:\n  pr:\n    scanners: [bandit]\n  release:\n    scanners: [bandit]\n"
    ),
}


def workspace(tmp_path: Path) -> Path:
    root = write_files(tmp_path / "workspace", VULNERABLE_APP)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "app")
    return root


def runner_temp(tmp_path: Path) -> Path:
    temp = tmp_path / "runner-temp"
    (temp / "home").mkdir(parents=True)
    # pipeline-guard "already installed": a view of this test venv, plus the stamp the
    # install step writes (same recipe as the step: action path + pyproject.toml).
    venv = temp / "pipeline-guard-venv"
    venv.mkdir()
    for name in ("bin", "lib", "include", "pyvenv.cfg"):
        if (Path(sys.prefix) / name).exists():
            (venv / name).symlink_to(Path(sys.prefix) / name)
    stamp = subprocess.run(
        [
            "bash",
            "-c",
            'printf "%s\\n" "$1" | cat - "$1/pyproject.toml" | sha256sum | cut -c1-16',
            "_",
            str(REPO),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (venv / ".pipeline-guard-stamp").write_text(stamp)
    return temp


def pr_event(head_sha: str, *, fork: bool = False) -> dict[str, Any]:
    return {
        "action": "synchronize",
        "number": PR,
        "pull_request": {
            "number": PR,
            "head": {"sha": head_sha, "repo": {"full_name": "fork/app" if fork else OWNER_REPO}},
            "base": {"sha": "", "repo": {"full_name": OWNER_REPO}},
        },
        "repository": {"full_name": OWNER_REPO},
    }


def harness(tmp_path: Path, server: GitHubServer, event: dict[str, Any]) -> Harness:
    ws = workspace(tmp_path)
    sha = git(ws, "rev-parse", "HEAD").strip()
    if "pull_request" in event:
        event["pull_request"]["head"]["sha"] = sha
    env = {
        "GITHUB_REPOSITORY": OWNER_REPO,
        "GITHUB_SHA": sha,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": server.url,
        "GITHUB_RUN_ID": "99",
        "GITHUB_EVENT_NAME": "pull_request" if "pull_request" in event else "push",
    }
    return Harness(ws, runner_temp(tmp_path), event, env)


@pytest.fixture
def gh() -> GitHubServer:
    with GitHubServer() as server:
        yield server


def test_pull_request_run_scans_comments_and_sets_outputs(tmp_path: Path, gh: GitHubServer) -> None:
    h = harness(tmp_path, gh, pr_event(""))
    run = h.run(
        {
            "stage": "release",
            "github-token": "rw-token",
            "update-db": "false",
            "sarif-file": "out/pipeline-guard.sarif",
            "instance": "ci",
        }
    )
    assert [s.name for s in run.steps] == [
        "Set up Python for pipeline-guard",
        "Install pipeline-guard",
        "Update the vulnerability database",
        "Scan",
        "Publish results",
        "Gate",
    ]
    assert "already installed" in run.step("Install pipeline-guard").stdout
    scan_lines = run.step("Scan").stdout.splitlines()
    (stop,) = [line for line in scan_lines if line.startswith("::stop-commands::")]
    token = stop.removeprefix("::stop-commands::")
    assert re.fullmatch(r"pipeline-guard-[0-9a-f]{32}", token)
    # Everything the CLI printed sits between stop-commands and the resume token.
    assert scan_lines.index(stop) == 0 and f"::{token}::" in scan_lines
    assert run.failed and run.steps[-1].returncode == 1  # the gate fails the job, last
    assert run.outputs["exit-code"] == "1"
    assert run.outputs["verdict"] == "failed"
    assert (run.outputs["findings"], run.outputs["high"], run.outputs["critical"]) == (
        "2",
        "1",
        "0",
    )
    sarif = h.workspace / "out" / "pipeline-guard.sarif"
    assert run.outputs["sarif-file"] == str(sarif)
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert run.outputs["report-dir"] == str(run.runner_temp / "pipeline-guard")
    (comment,) = gh.comments(OWNER_REPO, PR)
    assert comment["body"].startswith("<!-- pipeline-guard:ci -->\n### ❌ pipeline-guard: blocked")
    assert run.outputs["comment-url"] == comment["html_url"]
    token_used = {r.headers.get("Authorization") for r in gh.requests}
    assert token_used == {"Bearer rw-token"}
    assert "## pipeline-guard: FAILED" in run.summary
    annotations = [line for line in run.stdout.splitlines() if line.startswith("::error file=")]
    assert annotations[0].startswith("::error file=app.py,line=5,")


def test_read_only_token_falls_back_to_the_job_summary(tmp_path: Path, gh: GitHubServer) -> None:
    h = harness(tmp_path, gh, pr_event("", fork=True))
    run = h.run({"stage": "release", "github-token": "ro-token", "update-db": "false"})
    assert run.step("Publish results").returncode == 0
    assert run.outputs["exit-code"] == "1"
    assert gh.comments(OWNER_REPO, PR) == []
    assert "could not post its PR comment" in run.summary
    assert "fork, where GITHUB\\_TOKEN is read\\-only" in run.summary
    assert "::warning title=pipeline-guard comment::" in run.stdout


def test_push_run_has_no_comment_and_passes_clean_code(tmp_path: Path, gh: GitHubServer) -> None:
    event = {"ref": "refs/heads/main", "repository": {"full_name": OWNER_REPO}}
    h = harness(tmp_path, gh, event)
    (h.workspace / "app.py").write_text("def run(cmd):\n    return len(cmd)\n")
    run = h.run({"stage": "release", "update-db": "false", "comment": "true"})
    assert not run.failed
    assert run.outputs["verdict"] == "passed"
    assert (run.outputs["exit-code"], run.outputs["findings"]) == ("0", "0")
    assert "not a pull request" in run.stdout
    assert gh.requests == []


def test_hostile_input_is_data_not_shell(tmp_path: Path, gh: GitHubServer) -> None:
    h = harness(tmp_path, gh, {"repository": {"full_name": OWNER_REPO}})
    pwned = tmp_path / "pwned"
    run = h.run(
        {
            "path": f"$(touch {pwned})",
            "config": f"x; touch {pwned}",
            "update-db": "false",
            "comment": "false",
        }
    )
    assert not pwned.exists()
    assert run.outputs["exit-code"] == "2"  # the CLI says: no such directory
    assert run.outputs["verdict"] == "error"
    assert run.failed and run.steps[-1].name == "Gate"


def test_outputs_file_parser_reads_both_forms() -> None:
    text = "a=1\nb<<EOF_X\nline 1\nline=2\nEOF_X\nc=x<<y\n"
    assert parse_outputs(text) == {"a": "1", "b": "line 1\nline=2", "c": "x<<y"}


def cli_has(flag: str) -> bool:
    help_text = subprocess.run(
        [str(Path(sys.executable).parent / "pipeline-guard"), "scan", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    return flag in help_text


@pytest.mark.skipif(not cli_has("--base"), reason="the CLI has no `scan --base` yet (wiring)")
def test_pr_stage_gates_on_what_the_change_introduces(tmp_path: Path, gh: GitHubServer) -> None:
    h = harness(tmp_path, gh, pr_event(""))
    base = git(h.workspace, "rev-parse", "HEAD").strip()
    write_files(h.workspace, {"util.py": "def calc(expr):\n    return eval(expr)\n"})
    git(h.workspace, "add", ".")
    git(h.workspace, "commit", "-q", "-m", "add util")
    head = git(h.workspace, "rev-parse", "HEAD").strip()
    h.event["pull_request"]["base"]["sha"] = base
    h.event["pull_request"]["head"]["sha"] = head
    h.env["GITHUB_SHA"] = head
    run = h.run({"stage": "pr", "github-token": "rw-token", "update-db": "false"})
    # The existing high (B602) is reported but does not block: only the new eval (medium) is new.
    assert (run.outputs["verdict"], run.outputs["exit-code"]) == ("passed", "0")
    assert (run.outputs["findings"], run.outputs["new"]) == ("3", "1")
    (comment,) = gh.comments(OWNER_REPO, PR)
    assert "**1** new · 2 existing" in comment["body"]
    assert f"/blob/{head}/util.py#L2" in comment["body"]
