"""Our SARIF, checked by Microsoft's SARIF multitool (the SARIF SDK's validator),
with its SARIF rules and its GitHub-ingestion rules (`--rule-kind "Sarif;Gh"`).

The multitool exits 0 even when it finds errors, so the test reads its output
log (itself SARIF) and asserts on the results. A deliberately broken file is
the negative control: it proves the output is read, not just the exit code.

The tool comes from npm (`@microsoft/sarif-multitool`, a self-contained Linux
binary in `@microsoft/sarif-multitool-linux`), installed once into
`.pipeline-guard-cache/sarif-multitool/` (git-ignored).
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from report_samples import HOSTILE_MESSAGE, HOSTILE_PATH, blocked_report, finding, report

from pipeline_guard.model import Severity
from pipeline_guard.reporters import sarif

VERSION = "5.7.0"
CACHE = REPO / ".pipeline-guard-cache" / "sarif-multitool"
BINARY = CACHE / "node_modules" / "@microsoft" / "sarif-multitool-linux" / "Sarif.Multitool"

pytestmark = pytest.mark.xdist_group("sarif_multitool")  # one worker installs it


@pytest.fixture(scope="session")
def multitool() -> Path:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the npm sarif-multitool binary used here is for Linux x64")
    if not BINARY.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm not installed: apt-get install -y npm")
        CACHE.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(CACHE),
             f"@microsoft/sarif-multitool@{VERSION}"],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if result.returncode != 0 or not BINARY.is_file():
            pytest.skip(f"could not install @microsoft/sarif-multitool: {result.stderr[-500:]}")
    BINARY.chmod(0o755)  # npm may skip the package's chmod postinstall script
    return BINARY


def validate(tool: Path, document: dict[str, Any], tmp_path: Path) -> list[tuple[str, str, str]]:
    """(rule id, level, location) of every error and warning the multitool reports."""
    source = tmp_path / "input.sarif"
    source.write_text(json.dumps(document), encoding="utf-8")
    log = tmp_path / "validation.sarif"
    result = subprocess.run(
        [str(tool), "validate", str(source), "--output", str(log),
         "--level", "Error;Warning", "--rule-kind", "Sarif;Gh"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Analysis completed successfully" in result.stdout, result.stdout[-2000:]
    runs = json.loads(log.read_text(encoding="utf-8"))["runs"]
    return [
        (r["ruleId"], r.get("level", "warning"), str(r["message"].get("arguments", [""])[0]))
        for run in runs
        for r in run.get("results", [])
    ]


def test_blocked_report_sarif_is_clean(multitool: Path, tmp_path: Path) -> None:
    document = json.loads(sarif.render(blocked_report()))
    assert len(document["runs"]) == 3
    assert validate(multitool, document, tmp_path) == []


def test_hostile_and_edge_case_findings_stay_valid(multitool: Path, tmp_path: Path) -> None:
    findings = [
        finding(Severity.HIGH, "R<1>", HOSTILE_PATH, 4, HOSTILE_MESSAGE),
        finding(Severity.INFO, "FILE-LEVEL", "dir with space/ü.txt", None, "no line"),
        finding(Severity.CRITICAL, "R2", "a.py", 1, "multi\nline\r\nmessage"),
    ]
    document = json.loads(sarif.render(report(findings)))
    assert sum(len(run["results"]) for run in document["runs"]) == 3
    assert validate(multitool, document, tmp_path) == []


def test_empty_report_sarif_is_clean(multitool: Path, tmp_path: Path) -> None:
    document = json.loads(sarif.render(report([], versions={"semgrep": "1.185.0"})))
    assert [run["results"] for run in document["runs"]] == [[]]
    assert validate(multitool, document, tmp_path) == []


def test_multitool_output_is_read_not_its_exit_code(multitool: Path, tmp_path: Path) -> None:
    document = json.loads(sarif.render(blocked_report()))
    document["runs"][0]["results"][0]["ruleIndex"] = 99
    del document["runs"][1]["results"][0]["locations"]
    problems = validate(multitool, document, tmp_path)
    rules = sorted({rule for rule, _, _ in problems})
    assert "SARIF1009" in rules  # ruleIndex out of range
    assert "GH1015" in rules or "GH1017" in rules  # GitHub needs a location
    assert all(level == "error" for _, level, _ in problems)
