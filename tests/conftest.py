"""Shared test helpers: the real CLI, run as a subprocess, on real files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "vulnerable-app"
DEMO_OSV_ZIP = EXAMPLE / "osv-demo" / "PyPI-all.zip"
CLI = str(Path(sys.executable).parent / "pipeline-guard")


def shared_dir() -> Path:
    """../shared beside the checkout (CI lays a copy there too)."""
    return Path(os.environ.get("PIPELINE_GUARD_SHARED", REPO.parent / "shared"))


def run_cli(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed `pipeline-guard` console script for real."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [CLI, *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def copy_example(dest: Path) -> Path:
    """A private copy of the example project (tests write reports next to it)."""
    target = dest / "vulnerable-app"
    shutil.copytree(EXAMPLE, target)
    return target


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture(scope="session", autouse=True)
def _private_result_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read results cached by a developer's earlier runs."""
    os.environ["PIPELINE_GUARD_CACHE_DIR"] = str(tmp_path_factory.mktemp("result-cache"))


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's OSV advisories imported into a database, through the real CLI."""
    db = tmp_path_factory.mktemp("db") / "osv.sqlite3"
    result = run_cli("db", "update", "--db", db, "--source", DEMO_OSV_ZIP)
    assert result.returncode == 0, result.stderr
    return db


@pytest.fixture(scope="session")
def example_scan(tmp_path_factory: pytest.TempPathFactory, demo_db: Path) -> ExampleScan:
    """One full release scan of the example project with every report format."""
    base = tmp_path_factory.mktemp("example")
    project = copy_example(base)
    out = base / "reports"
    result = run_cli(
        "scan",
        project,
        "--stage",
        "release",
        "--db",
        demo_db,
        "--format",
        "console,json,sarif,markdown",
        "--output",
        out,
    )
    return ExampleScan(project, out, result)


class ExampleScan:
    def __init__(self, project: Path, out: Path, result: subprocess.CompletedProcess[str]) -> None:
        self.project = project
        self.out = out
        self.result = result

    def report(self) -> dict[str, object]:
        import json

        data: dict[str, object] = json.loads((self.out / "pipeline-guard.json").read_text())
        return data
