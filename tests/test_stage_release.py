"""The release stage: whole tree, strict gate, stale database and scanner errors fail."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import DEMO_OSV_ZIP, copy_example, run_cli, write_files

from pipeline_guard.vulndb.importer import import_sources


def cache_env(tmp_path: Path) -> dict[str, str]:
    return {"PIPELINE_GUARD_CACHE_DIR": str(tmp_path / "cache")}


def test_stale_database_fails_the_release_and_a_fresh_one_passes(
    tmp_path: Path, demo_db: Path
) -> None:
    stale_db = tmp_path / "stale.sqlite3"
    month_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    import_sources([DEMO_OSV_ZIP], stale_db, now=month_ago)
    project = write_files(tmp_path / "p", {"requirements.txt": "urllib3==2.2.2\n"})

    stale = run_cli("scan", project, "--format", "json", "--db", stale_db, env=cache_env(tmp_path))
    report = json.loads(stale.stdout)
    assert stale.returncode == 1, stale.stderr
    assert report["findings"] == []
    (reason,) = report["verdict"]["reasons"]
    assert reason.startswith("osv: vulnerability database is stale (PyPI 30.0 days old; limit 7")

    # The same scan, cached, must not hide the stale database either.
    again = run_cli("scan", project, "--format", "json", "--db", stale_db, env=cache_env(tmp_path))
    assert again.returncode == 1
    assert json.loads(again.stdout)["verdict"]["reasons"] == [reason]

    fresh = run_cli("scan", project, "--db", demo_db, env=cache_env(tmp_path))
    assert fresh.returncode == 0, fresh.stdout


def test_scanner_error_fails_closed_in_release_but_not_in_pr(tmp_path: Path) -> None:
    project = write_files(
        tmp_path / "p",
        {
            "app.py": "x = 1\n",
            ".semgrep/broken.yaml": "rules:\n  - id: broken\n    pattern: print(\n",
            "pipeline-guard.yml": (
                "version: 1\nscanners:\n  semgrep:\n    rules: [.semgrep/]\n"
                "stages:\n  release:\n    scanners: [semgrep]\n  pr:\n    scanners: [semgrep]\n"
            ),
        },
    )

    release = run_cli("scan", project, "--format", "json", env=cache_env(tmp_path))

    assert release.returncode == 3, release.stderr
    report = json.loads(release.stdout)
    assert report["verdict"]["exit_code"] == 3
    assert report["verdict"]["reasons"][0].startswith("scanner semgrep failed (config)")
    assert run_cli("scan", project, "--stage", "pr", env=cache_env(tmp_path)).returncode == 0


def test_release_with_output_writes_the_full_report_set(tmp_path: Path, demo_db: Path) -> None:
    project = copy_example(tmp_path)
    out = tmp_path / "reports"

    result = run_cli(
        "scan", project, "--stage", "release", "--db", demo_db, "--output", out,
        env=cache_env(tmp_path),
    )  # fmt: skip

    assert result.returncode == 1, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "pipeline-guard.html",
        "pipeline-guard.json",
        "pipeline-guard.junit.xml",
        "pipeline-guard.md",
        "pipeline-guard.sarif",
    ]
    report = json.loads((out / "pipeline-guard.json").read_text())
    categories = {f["category"] for f in report["findings"]}
    assert categories == {"sast", "sca", "iac", "secret"}
    assert {r["name"] for r in report["scanners"]} == {
        "semgrep",
        "bandit",
        "checkov",
        "secrets",
        "osv",
    }
    sarif = json.loads((out / "pipeline-guard.sarif").read_text())
    assert sum(len(run["results"]) for run in sarif["runs"]) == len(report["findings"])
    suite = ET.parse(out / "pipeline-guard.junit.xml").getroot()
    assert suite.iter("testcase")
    assert "FAILED" in (out / "pipeline-guard.md").read_text().upper()
    assert "<html" in (out / "pipeline-guard.html").read_text().lower()
    assert "FAILED (release stage, exit 1)" in result.stdout
