"""The pr stage on real git histories: every finding reported, the gate on new ones.

Each test builds a repository in a tmp dir with the real `git`, runs the real CLI
and reads its JSON (and SARIF) report.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import git, run_cli, write_files

APP = """import subprocess


def run(cmd):
    return subprocess.call(cmd, shell=True)
"""
PADDING = "".join(f"SETTING_{i} = {i}\n" for i in range(20))
NEW_HIGH = """

def spawn(cmd):
    return subprocess.Popen(cmd, shell=True)
"""
CONFIG = "version: 1\nstages:\n  pr:\n    scanners: [bandit, semgrep, secrets, osv]\n"


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def make_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    write_files(root, {"pipeline-guard.yml": CONFIG, **files})
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "base")
    return root


def pr_scan(
    repo: Path, tmp_path: Path, *args: str | Path, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    out = tmp_path / "reports"
    result = run_cli(
        "scan",
        repo,
        "--stage",
        "pr",
        "--format",
        "json,sarif",
        "--output",
        out,
        *args,
        env={"PIPELINE_GUARD_CACHE_DIR": str(tmp_path / "cache"), **(env or {})},
    )
    assert result.returncode in (0, 1), result.stderr + result.stdout
    report = json.loads((out / "pipeline-guard.json").read_text())
    sarif = json.loads((out / "pipeline-guard.sarif").read_text())
    return result.returncode, report, sarif


def states(report: dict[str, Any]) -> set[tuple[str, str, int, str]]:
    return {
        (f["rule_id"], f["location"]["path"], f["location"]["start_line"], f["baseline_state"])
        for f in report["findings"]
    }


def test_moved_finding_is_unchanged_and_only_the_added_one_is_new(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": APP, "README.md": "# app\n"})
    git(repo, "checkout", "-q", "-b", "feature")
    # X (shell=True in run) moves down 20 lines; Y (shell=True in spawn) is added.
    write_files(repo, {"app.py": APP.replace("\n\ndef run", PADDING + "\n\ndef run") + NEW_HIGH})
    commit_all(repo, "feature")

    code, report, sarif = pr_scan(repo, tmp_path, "--base", "main")

    assert states(report) == {
        ("B602", "app.py", 25, "unchanged"),  # X, 20 lines further down
        ("B404", "app.py", 1, "unchanged"),
        ("B602", "app.py", 29, "new"),  # Y
    }
    assert code == 1
    assert report["verdict"]["reasons"] == ["1 new finding(s) at or above high (1 high)"]
    merge_base = git(repo, "rev-parse", "main").strip()
    assert f"compared with the merge base {merge_base[:12]} of HEAD and main" in report["notes"][0]
    results = sarif["runs"][0]["results"]
    assert sorted(r["baselineState"] for r in results) == ["new", "unchanged", "unchanged"]


def test_readme_only_change_introduces_nothing(tmp_path: Path, demo_db: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {"app.py": APP, "README.md": "# app\n", "requirements.txt": "urllib3==1.24.1\n"},
    )
    git(repo, "checkout", "-q", "-b", "docs")
    write_files(repo, {"README.md": "# app\n\nHow to run it.\n"})
    commit_all(repo, "docs")

    code, report, _ = pr_scan(repo, tmp_path, "--base", "main", "--db", demo_db)

    assert code == 0, report["verdict"]
    assert report["summary"]["new"] == 0
    assert {f["baseline_state"] for f in report["findings"]} == {"unchanged"}
    # Everything is still reported: the shell=True call and urllib3's advisories.
    rules = {f["rule_id"] for f in report["findings"]}
    assert {"B602", "GHSA-v845-jxx5-vc9f"} <= rules
    assert "1 changed file(s)" in report["notes"][0]


def test_dependency_changed_into_a_vulnerable_version_is_new(tmp_path: Path, demo_db: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"requirements.txt": "PyYAML==5.3\nurllib3==2.2.2\n"})
    git(repo, "checkout", "-q", "-b", "deps")
    # Same PyYAML version under its normalized name; urllib3 moves to a vulnerable one.
    write_files(repo, {"requirements.txt": "pyyaml==5.3\nurllib3==1.24.1\n"})
    commit_all(repo, "deps")

    code, report, _ = pr_scan(repo, tmp_path, "--base", "main", "--db", demo_db)

    by_package: dict[str, set[str]] = {}
    for f in report["findings"]:
        by_package.setdefault(f["package"]["name"], set()).add(f["baseline_state"])
    assert by_package == {"pyyaml": {"unchanged"}, "urllib3": {"new"}}
    assert sum(1 for f in report["findings"] if f["package"]["name"] == "urllib3") == 7
    assert code == 1
    assert report["verdict"]["reasons"] == ["1 new finding(s) at or above high (1 high)"]


def test_renamed_file_keeps_its_findings_unchanged(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"src/app.py": APP})
    git(repo, "checkout", "-q", "-b", "move")
    git(repo, "mv", "src/app.py", "src/runner.py")
    commit_all(repo, "move")

    code, report, _ = pr_scan(repo, tmp_path, "--base", "main")

    assert code == 0
    assert states(report) == {
        ("B602", "src/runner.py", 5, "unchanged"),
        ("B404", "src/runner.py", 1, "unchanged"),
    }


def test_secret_added_in_a_changed_file_is_new_and_an_old_one_is_not(tmp_path: Path) -> None:
    old_key = 'AWS_KEY = "AKIAIOSFODNN7EXAMPLF"\n'
    new_key = 'STRIPE = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"\n'
    repo = make_repo(tmp_path / "repo", {"settings.py": old_key})
    git(repo, "checkout", "-q", "-b", "secret")
    write_files(repo, {"settings.py": "# settings\n" + old_key + new_key})
    commit_all(repo, "secret")

    code, report, _ = pr_scan(repo, tmp_path, "--base", "main")

    secrets = {
        (f["location"]["start_line"], f["baseline_state"])
        for f in report["findings"]
        if f["category"] == "secret"
    }
    assert secrets == {(2, "unchanged"), (3, "new")}
    assert code == 1
    raw = json.dumps(report)
    assert "AKIAIOSFODNN7EXAMPLF" not in raw and "sk_live_4eC39HqLyjWDarjtT1zdp7dc" not in raw


def shallow_setup(tmp_path: Path) -> Path:
    """An 'origin' where main moved on 12 commits after the branch point and the
    feature branch has 60 commits: a depth-1 clone of the feature branch has
    neither side's history."""
    origin = make_repo(tmp_path / "origin", {"app.py": APP})
    git(origin, "checkout", "-q", "-b", "feature")
    for i in range(60):
        write_files(origin, {f"notes/{i}.txt": f"note {i}\n"})
        commit_all(origin, f"feature {i}")
    write_files(origin, {"app.py": APP + NEW_HIGH})
    commit_all(origin, "add spawn")
    git(origin, "checkout", "-q", "main")
    for i in range(12):
        write_files(origin, {f"main/{i}.txt": f"main {i}\n"})
        commit_all(origin, f"main {i}")
    git(origin, "checkout", "-q", "feature")
    return origin


def test_shallow_clone_is_deepened_until_the_merge_base_is_found(tmp_path: Path) -> None:
    origin = shallow_setup(tmp_path)
    expected = git(origin, "merge-base", "main", "feature").strip()
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{origin}", "clone")
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"

    # The default base: origin/$GITHUB_BASE_REF, fetched because a single-branch
    # clone does not have it.
    code, report, _ = pr_scan(clone, tmp_path, env={"GITHUB_BASE_REF": "main"})

    notes = " ".join(report["notes"])
    assert f"found the merge base {expected[:12]}" in notes
    assert "the clone is shallow: fetched up to 150 more commits" in notes
    assert git(clone, "merge-base", "HEAD", "origin/main").strip() == expected
    assert states(report) == {
        ("B602", "app.py", 5, "unchanged"),
        ("B404", "app.py", 1, "unchanged"),
        ("B602", "app.py", 9, "new"),
    }
    assert code == 1


def test_unreachable_merge_base_says_what_to_change_and_scans_changed_files(
    tmp_path: Path,
) -> None:
    origin = shallow_setup(tmp_path)
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{origin}", "clone")
    clone = tmp_path / "clone"
    git(clone, "checkout", "-q", "feature")
    shutil.rmtree(origin)  # no more history to fetch

    code, report, _ = pr_scan(clone, tmp_path, "--base", "origin/main")

    notes = " ".join(report["notes"])
    assert "could not find the merge base of HEAD and origin/main" in notes
    assert "`with: fetch-depth: 0`" in notes
    # Files that differ from origin/main: app.py, the feature's notes and main's files
    # (missing here); the findings in them all count as new.
    assert {(f["rule_id"], f["location"]["start_line"]) for f in report["findings"]} == {
        ("B602", 5),
        ("B404", 1),
        ("B602", 9),
    }
    assert {f["baseline_state"] for f in report["findings"]} == {"new"}
    assert code == 1
    assert report["verdict"]["reasons"] == ["2 new finding(s) at or above high (2 high)"]


def test_outside_git_every_finding_counts(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", {"app.py": APP, "pipeline-guard.yml": CONFIG})
    code, report, _ = pr_scan(project, tmp_path)
    assert code == 1
    assert "not a git repository" in report["notes"][0]
    assert {f["baseline_state"] for f in report["findings"]} == {"new"}


@pytest.mark.parametrize("stage", ["release", "precommit"])
def test_base_is_refused_outside_the_pr_stage(tmp_path: Path, stage: str) -> None:
    result = run_cli("scan", tmp_path, "--stage", stage, "--base", "main")
    assert result.returncode == 2
    assert "--base applies to the pr stage only" in result.stderr
