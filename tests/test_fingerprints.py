"""Fingerprints survive unrelated edits; two tools' reports of one issue merge."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli, write_files

CONFIG = "stages:\n  release:\n    scanners: [bandit, semgrep]\n"
BEFORE = """import subprocess


def helper(a,b):
    return a+b


def run(cmd):
    return subprocess.call(cmd, shell=True)
"""
AFTER = '''"""Module docstring added above everything."""
import logging
import subprocess

LOG = logging.getLogger(__name__)


def helper(a, b):
    """Reformatted, unrelated function."""
    return (
        a + b
    )


def run(cmd):
    return subprocess.call(cmd, shell=True)
'''


def scan(project: Path) -> list[dict[str, object]]:
    result = run_cli("scan", project, "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    findings: list[dict[str, object]] = json.loads(result.stdout)["findings"]
    return findings


def test_fingerprints_stable_and_semgrep_bandit_merged(tmp_path: Path) -> None:
    project = write_files(tmp_path, {"pipeline-guard.yml": CONFIG, "app.py": BEFORE})
    before = scan(project)
    shell = [f for f in before if f["location"]["start_line"] == 9]  # type: ignore[index]
    assert len(shell) == 1, before
    sources = {(s["scanner"], s["rule_id"]) for s in shell[0]["sources"]}  # type: ignore[attr-defined]
    assert ("bandit", "B602") in sources
    assert any(scanner == "semgrep" for scanner, _ in sources)

    (project / "app.py").write_text(AFTER)
    after = scan(project)
    moved = [f for f in after if f["location"]["start_line"] == 16]  # type: ignore[index]
    assert len(moved) == 1, after
    assert {f["fingerprint"] for f in after} >= {f["fingerprint"] for f in before}
    assert moved[0]["fingerprint"] == shell[0]["fingerprint"]
