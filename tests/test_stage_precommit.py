"""The precommit stage: what is staged, through our own hook and the real pre-commit
framework, in real git repositories."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, git, run_cli, write_files

SECRET_LINE = 'AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLF"\n'
CLEAN = "def add(a, b):\n    return a + b\n"


def new_repo(root: Path) -> Path:
    write_files(root, {"README.md": "# demo\n"})
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


def cache_env(tmp_path: Path) -> dict[str, str]:
    return {"PIPELINE_GUARD_CACHE_DIR": str(tmp_path / "cache")}


def precommit_json(repo: Path, tmp_path: Path, *files: str) -> tuple[int, dict[str, Any]]:
    result = run_cli(
        "scan",
        *files,
        "--stage",
        "precommit",
        "--format",
        "json",
        cwd=repo,
        env=cache_env(tmp_path),
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_staged_secret_blocks_even_when_the_work_tree_no_longer_has_it(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo")
    write_files(repo, {"config.py": "# config\n" + SECRET_LINE})
    git(repo, "add", "config.py")
    write_files(repo, {"config.py": "# config\n"})  # unstaged edit: not what gets committed

    code, report = precommit_json(repo, tmp_path)

    assert code == 1
    (finding,) = report["findings"]
    assert (finding["category"], finding["location"]["path"]) == ("secret", "config.py")
    assert finding["location"]["start_line"] == 2
    assert "AKIAIOSFODNN7EXAMPLF" not in json.dumps(report)
    assert report["root"] == str(repo.resolve())
    assert "scanned the staged content of 1 file(s)" in report["notes"]
    assert report["verdict"]["reasons"] == [
        "1 finding(s) at or above high (1 high)",
        "1 secret finding(s) at or above info",
    ]


def test_unstaged_secret_does_not_block(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo")
    write_files(repo, {"util.py": CLEAN})
    git(repo, "add", "util.py")
    write_files(repo, {"util.py": CLEAN + SECRET_LINE, "notes.py": SECRET_LINE})  # not staged

    code, report = precommit_json(repo, tmp_path)

    assert code == 0, report["verdict"]
    assert report["findings"] == []
    assert "scanned the staged content of 1 file(s)" in report["notes"]


def test_files_named_on_the_command_line_are_scanned_in_place(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo")
    write_files(repo, {"a.py": SECRET_LINE, "b.py": SECRET_LINE, "sub/c.py": CLEAN})

    code, report = precommit_json(repo, tmp_path, "a.py", "sub/c.py")

    assert code == 1
    assert [f["location"]["path"] for f in report["findings"]] == ["a.py"]
    secrets_run = next(r for r in report["scanners"] if r["name"] == "secrets")
    assert secrets_run["targets"] == 2


def test_scan_path_still_scans_a_directory(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", {"a.py": SECRET_LINE})
    result = run_cli(
        "scan", project, "--stage", "precommit", "--format", "json", env=cache_env(tmp_path)
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [f["location"]["path"] for f in report["findings"]] == ["a.py"]
    assert "not a git repository: scanned the whole tree" in report["notes"][0]


def commit(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-m", "c"],
        cwd=repo,
        env={**os.environ, "NO_COLOR": "1", **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_install_hook_blocks_a_staged_secret_and_passes_a_clean_change(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo")
    installed = run_cli("install-hook", cwd=repo)
    assert installed.returncode == 0, installed.stderr
    hook = repo / ".git" / "hooks" / "pre-commit"
    assert os.access(hook, os.X_OK)
    env = cache_env(tmp_path)

    write_files(repo, {"config.py": SECRET_LINE})
    git(repo, "add", "config.py")
    blocked = commit(repo, env)
    assert blocked.returncode != 0
    assert "aws-access-key-id" in blocked.stdout + blocked.stderr
    assert "FAILED (precommit stage, exit 1)" in blocked.stdout + blocked.stderr
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"

    write_files(repo, {"config.py": "KEY_NAME = 'aws'\n"})
    git(repo, "add", "config.py")
    passed = commit(repo, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"


def test_install_hook_keeps_a_foreign_hook_unless_forced(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo")
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho team hook\n")

    refused = run_cli("install-hook", cwd=repo)
    assert refused.returncode == 2
    assert "is not pipeline-guard's: left unchanged" in refused.stderr
    assert hook.read_text() == "#!/bin/sh\necho team hook\n"

    forced = run_cli("install-hook", "--force", cwd=repo)
    assert forced.returncode == 0, forced.stderr
    backup = hook.with_name("pre-commit.pipeline-guard-backup")
    assert backup.read_text() == "#!/bin/sh\necho team hook\n"
    assert "scan --stage precommit" in hook.read_text()
    # Ours is replaced without --force.
    assert run_cli("install-hook", cwd=repo).returncode == 0


def hook_repo(tmp_path: Path) -> tuple[Path, str]:
    """A throwaway commit of this working tree: the hook files as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    target = tmp_path / "pipeline-guard-src"
    for rel in filter(None, listed.split("\0")):
        source = REPO / rel
        if source.is_file() and not source.is_symlink():
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(source.read_bytes())
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "snapshot")
    return target, git(target, "rev-parse", "HEAD").strip()


@pytest.mark.slow
def test_real_pre_commit_framework_blocks_a_secret_and_passes_a_clean_change(
    tmp_path: Path,
) -> None:
    source, sha = hook_repo(tmp_path)
    repo = new_repo(tmp_path / "repo")
    write_files(
        repo,
        {
            ".pre-commit-config.yaml": (
                f"repos:\n  - repo: {source}\n    rev: {sha}\n    hooks:\n"
                "      - id: pipeline-guard\n"
            )
        },
    )
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-q", "-m", "pre-commit config")
    pre_commit = str(Path(sys.executable).parent / "pre-commit")
    subprocess.run([pre_commit, "install"], cwd=repo, check=True, capture_output=True)
    # Our venv's bin is left off PATH: the hook runs from the venv pre-commit builds
    # (core package only), where semgrep and bandit are not installed.
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    env = {
        **cache_env(tmp_path),
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PIP_NO_BUILD_ISOLATION": "0",
        "PATH": path,
    }

    write_files(repo, {"config.py": SECRET_LINE, "util.py": CLEAN})
    git(repo, "add", "config.py", "util.py")
    blocked = commit(repo, env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "pipeline-guard (security scan of staged files)" in output
    assert "config.py:1" in output and "aws-access-key-id" in output
    # The core install has no semgrep or bandit: listed as such, not errors.
    assert re.search(r"semgrep .* skipped: not installed", output), output
    assert re.search(r"bandit .* skipped: not installed", output), output
    assert "scanner error" not in output
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"

    write_files(repo, {"config.py": "REGION = 'eu-west-1'\n"})
    git(repo, "add", "config.py")
    passed = commit(repo, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "3"
