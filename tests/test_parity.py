"""Nothing lost in normalization: every finding a wrapped tool reports when run
by hand (its own CLI, its own JSON) on the example project appears in
pipeline-guard's output with the same rule, path and line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, ExampleScan

BIN = Path(sys.executable).parent
RULES = REPO / "scanners" / "rules" / "semgrep"
Report = set[tuple[str, str, int]]


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return result.stdout


def reported(example_scan: ExampleScan, scanner: str) -> Report:
    """(rule, path, line) of every source report of `scanner` in our JSON."""
    out: Report = set()
    for f in example_scan.report()["findings"]:  # type: ignore[attr-defined]
        for source in f["sources"]:
            if source["scanner"] == scanner:
                out.add((source["rule_id"], f["location"]["path"], source["start_line"]))
    return out


@pytest.mark.xdist_group("example")
def test_bandit_parity(example_scan: ExampleScan) -> None:
    data = json.loads(
        run([str(BIN / "bandit"), "-r", "-f", "json", "-q", "."], example_scan.project)
    )
    direct = {
        (r["test_id"], r["filename"].removeprefix("./"), r["line_number"]) for r in data["results"]
    }
    assert direct, "bandit found nothing: the example project lost its Python issues"
    assert direct <= reported(example_scan, "bandit")


@pytest.mark.xdist_group("example")
def test_semgrep_parity(example_scan: ExampleScan) -> None:
    configs = [
        arg
        for p in sorted(RULES.glob("*.yaml"))
        if not p.name.endswith(".test.yaml")
        for arg in ("--config", str(p))
    ]
    data = json.loads(
        run(
            [
                str(BIN / "semgrep"),
                "scan",
                "--json",
                "--metrics=off",
                "--disable-version-check",
                "--no-rewrite-rule-ids",
                "--no-git-ignore",
                *configs,
                ".",
            ],
            example_scan.project,
            {"SEMGREP_ENABLE_VERSION_CHECK": "0"},
        )
    )
    direct = {(r["check_id"], r["path"], r["start"]["line"]) for r in data["results"]}
    assert len(direct) >= 10
    assert direct <= reported(example_scan, "semgrep")


@pytest.mark.xdist_group("example")
def test_checkov_parity(example_scan: ExampleScan) -> None:
    text = run(
        [
            str(BIN / "checkov"),
            "-d",
            ".",
            "-o",
            "json",
            "--skip-download",
            "--skip-framework",
            "secrets",
        ],
        example_scan.project,
        {"BC_SKIP_MAPPING": "TRUE"},
    )
    data = json.loads(text)
    reports = data if isinstance(data, list) else [data]
    direct = {
        (c["check_id"], c["file_path"].lstrip("/"), c["file_line_range"][0])
        for rep in reports
        for c in rep.get("results", {}).get("failed_checks", [])
    }
    assert len(direct) >= 20
    assert direct <= reported(example_scan, "checkov")
