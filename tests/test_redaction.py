"""Canary secrets never reach any output: console, JSON, SARIF, Markdown."""

from __future__ import annotations

from pathlib import Path

from conftest import run_cli, write_files

# Fake credentials in the real formats (none of them is a live key).
CANARIES = {
    "aws": "AKIAQ3EXR7PLM2VTZ9WD",
    "github": "ghp_R8mZq2Lw7Xc4Vb9Nn3Jt6Hy1Ka5Sd0Fg2Pe4",
    "password": "Zr8#qLw2!vX9mTc4",
}
PROJECT = {
    "config.py": (
        f'AWS_ACCESS_KEY_ID = "{CANARIES["aws"]}"\n'
        f'GITHUB_TOKEN = "{CANARIES["github"]}"\n'
        f'db_password = "{CANARIES["password"]}"\n'
    ),
    "deploy.sh": f'curl -H "Authorization: token {CANARIES["github"]}" https://api.github.com\n',
}


def test_no_output_contains_a_canary(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", PROJECT)
    out = tmp_path / "out"
    result = run_cli(
        "scan",
        project,
        "--format",
        "console,json,sarif,markdown",
        "--output",
        out,
    )
    assert result.returncode == 1, result.stderr
    outputs = {p.name: p.read_text() for p in out.iterdir()}
    outputs["console"] = result.stdout + result.stderr
    assert set(outputs) == {
        "pipeline-guard.json",
        "pipeline-guard.sarif",
        "pipeline-guard.md",
        "console",
    }
    for name, text in outputs.items():
        for kind, value in CANARIES.items():
            assert value not in text, f"{kind} canary leaked into {name}"
    # The findings are there, only the values are masked.
    assert outputs["console"].count("config.py") >= 2
    assert "AKIA" in outputs["pipeline-guard.json"]
