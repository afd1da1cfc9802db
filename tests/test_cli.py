"""The command line end to end: real scanners, real files, real exit codes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from conftest import ExampleScan, git, run_cli, write_files

CRASHING_TOOL = "import sys\nsys.stderr.write('tool exploded\\n')\nsys.exit(7)\n"
GARBAGE_TOOL = "print('{this is not json')\n"


def custom_tool_config(script: Path) -> str:
    return (
        "custom_scanners:\n"
        "  - name: flaky-linter\n"
        f"    command: [{json.dumps(sys.executable)}, {json.dumps(str(script))}, '{{root}}']\n"
        "    category: sast\n"
    )


def test_clean_tree_passes_with_exit_0(tmp_path: Path) -> None:
    write_files(tmp_path, {"hello.py": "def add(a, b):\n    return a + b\n"})
    result = run_cli("scan", tmp_path, "--stage", "release")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout


def test_example_project_fails_with_exit_1(example_scan: ExampleScan) -> None:
    result = example_scan.result
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stdout
    report = example_scan.report()
    categories = {f["category"] for f in report["findings"]}  # type: ignore[attr-defined]
    assert categories == {"sast", "iac", "secret", "sca"}
    assert report["verdict"]["exit_code"] == 1  # type: ignore[index]
    for name in ("pipeline-guard.json", "pipeline-guard.sarif", "pipeline-guard.md"):
        assert (example_scan.out / name).stat().st_size > 0


def test_bad_config_exits_2_with_file_line_and_no_traceback(tmp_path: Path) -> None:
    write_files(tmp_path, {"pipeline-guard.yml": "version: 1\nstages:\n  relase: {}\n"})
    result = run_cli("scan", tmp_path)
    assert result.returncode == 2
    assert "pipeline-guard.yml:3: unknown key 'relase'" in result.stderr
    assert "did you mean 'release'?" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli("scan", tmp_path, "--format", "pdf").returncode == 2
    assert run_cli("scan", tmp_path, "--stage", "nightly").returncode == 2
    assert run_cli("scan", tmp_path / "missing").returncode == 2


def test_crashing_scanner_fails_closed_in_release_with_exit_3(tmp_path: Path) -> None:
    script = tmp_path / "tool.py"
    script.write_text(CRASHING_TOOL)
    project = write_files(tmp_path / "p", {"a.py": "x = 1\n"})
    write_files(project, {"pipeline-guard.yml": custom_tool_config(script)})
    result = run_cli("scan", project, "--stage", "release", "--format", "json")
    assert result.returncode == 3, result.stderr
    report = json.loads(result.stdout)
    (run,) = [r for r in report["scanners"] if r["name"] == "flaky-linter"]
    assert run["errors"][0]["kind"] == "crash"
    assert "tool exploded" in run["errors"][0]["detail"]
    assert "scanner flaky-linter failed (crash)" in report["verdict"]["reasons"][0]
    # The pr stage reports the failure but does not fail closed by default.
    assert run_cli("scan", project, "--stage", "pr").returncode == 0


def test_garbage_output_is_a_reported_error_not_zero_findings(tmp_path: Path) -> None:
    script = tmp_path / "tool.py"
    script.write_text(GARBAGE_TOOL)
    project = write_files(tmp_path / "p", {"a.py": "x = 1\n"})
    write_files(project, {"pipeline-guard.yml": custom_tool_config(script)})
    result = run_cli("scan", project, "--stage", "release")
    assert result.returncode == 3
    assert "scanner error: flaky-linter (parse)" in result.stdout


def test_non_utf8_file_empty_repo_and_symlink_loop(tmp_path: Path) -> None:
    project = tmp_path / "repo"
    project.mkdir()
    git(project, "init", "-q")
    assert run_cli("scan", project, "--stage", "release").returncode == 0  # empty repo
    write_files(
        project,
        {
            "latin1.py": "# caf\xe9\nname = 'x'\n".encode("latin-1"),
            "ok.py": "import os\n",
        },
    )
    (project / "sub").mkdir()
    os.symlink(project / "sub", project / "sub" / "loop")
    result = run_cli("scan", project, "--stage", "release", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"]["passed"] is True
    assert all(not r["errors"] for r in report["scanners"])


def test_scanners_command_says_what_applies(tmp_path: Path) -> None:
    write_files(tmp_path, {"main.tf": 'resource "aws_s3_bucket" "b" {}\n'})
    result = run_cli("scanners", tmp_path)
    assert result.returncode == 0, result.stderr
    lines = {
        line.split()[1]: line
        for line in result.stdout.splitlines()
        if line.startswith("│ ") and len(line.split()) > 2
    }
    assert "yes" in lines["checkov"]
    assert "no" in lines["bandit"]
    assert "semgrep" in lines


def test_init_writes_once(tmp_path: Path) -> None:
    assert run_cli("init", tmp_path).returncode == 0
    written = (tmp_path / "pipeline-guard.yml").read_text()
    (tmp_path / "pipeline-guard.yml").write_text("version: 1\n")
    result = run_cli("init", tmp_path)
    assert result.returncode == 0
    assert "already exists" in result.stderr
    assert (tmp_path / "pipeline-guard.yml").read_text() == "version: 1\n"
    assert "stages:" in written


def test_custom_scanner_with_unknown_placeholder_is_a_config_error(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "a.py": "x = 1\n",
            "pipeline-guard.yml": "custom_scanners:\n  - name: bandit\n"
            "    command: [tool, '{rooot}']\n",
        },
    )
    result = run_cli("scan", tmp_path)
    assert result.returncode == 2
    assert "custom_scanners[0]" in result.stderr
    assert "already a built-in scanner" in result.stderr
    assert "{rooot}" in result.stderr


def test_nosec_comment_suppresses_visibly(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pipeline-guard.yml": "stages:\n  release:\n    scanners: [bandit, semgrep]\n",
            "run.py": "import subprocess\n\n\ndef run(cmd):\n"
            "    return subprocess.call(cmd, shell=True)  # nosec B602 cmd is a constant\n",
        },
    )
    result = run_cli("scan", tmp_path, "--format", "json")
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    [shell] = [f for f in report["findings"] if f["location"]["start_line"] == 5]
    assert {s["scanner"] for s in shell["sources"]} == {"bandit", "semgrep"}
    assert shell["suppression"]["kind"] == "inSource"
    assert "cmd is a constant" in shell["suppression"]["reason"]


def test_image_flag_scans_an_image_archive(tmp_path: Path, demo_db: Path) -> None:
    from image_fixtures import ImageSpec, Layer, dist_info

    layer = Layer(created_by="RUN pip install jinja2==2.10")
    layer.file(
        "usr/lib/python3/dist-packages/Jinja2-2.10.dist-info/METADATA", dist_info("Jinja2", "2.10")
    )
    archive = ImageSpec([layer]).write_docker_archive(tmp_path / "app.tar")
    project = write_files(tmp_path / "p", {"README.md": "nothing to scan here\n"})
    result = run_cli(
        "scan",
        project,
        "--stage",
        "release",
        "--db",
        demo_db,
        "--image",
        f"docker-archive:{archive}",
        "--format",
        "json",
        "--fail-on",
        "medium",
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    jinja = [f for f in report["findings"] if (f.get("package") or {}).get("name") == "Jinja2"]
    assert {f["rule_id"] for f in jinja} >= {"GHSA-g3rq-g295-4j3m"}
    assert all(f["category"] == "image" for f in jinja)
    assert "RUN pip install jinja2==2.10" in jinja[0]["message"]
    rules = {f["rule_id"] for f in report["findings"]}
    assert "IMAGE-ROOT-USER" in rules
