"""Stages and cache benchmark: a cold full scan, a warm rescan of the unchanged
tree, and the pr stage for a one-file change, on a generated repository of about
1,000 files (Python, JavaScript, Terraform, Kubernetes YAML, a workflow, a
requirements.txt). Not a test: it prints times and ratios.

    .venv/bin/python benchmarks/stages.py [--files 1000] [--keep DIR]

Targets (issue 5): warm rescan <= 5% of the cold scan; 1-file pr <= 15% of the
full scan. Every run goes through the real CLI (process start included), with a
private result cache and the example's demo OSV database.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).parent / "pipeline-guard")
DEMO_ZIP = REPO / "examples" / "vulnerable-app" / "osv-demo" / "PyPI-all.zip"
TERRAFORM = (REPO / "examples" / "vulnerable-app" / "infra" / "main.tf").read_text()
K8S = (REPO / "examples" / "vulnerable-app" / "k8s" / "deployment.yaml").read_text()
WORKFLOW = (REPO / "examples" / "vulnerable-app" / ".github" / "workflows" / "ci.yml").read_text()


def python_module(i: int) -> str:
    """Plain code; one module in 50 runs a shell command (a finding or two)."""
    risky = (
        "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
        if i % 50 == 0
        else "import shlex\n\n\ndef run(cmd):\n    return shlex.split(cmd)\n"
    )
    body = "".join(
        f"\n\ndef helper_{i}_{n}(values):\n"
        f'    """Sum the values of batch {n}."""\n'
        "    total = 0\n"
        "    for value in values:\n"
        f"        total += value * {n}\n"
        "    return total\n"
        for n in range(8)
    )
    return f'"""Module {i}."""\n{risky}{body}'


def js_module(i: int) -> str:
    risky = "  return eval(expr);\n" if i % 40 == 0 else "  return Number(expr);\n"
    funcs = "".join(
        f"\nexport function part{i}_{n}(items) {{\n"
        f"  return items.map((x) => x * {n}).filter((x) => x > {i});\n}}\n"
        for n in range(8)
    )
    return f"// module {i}\nexport function parse(expr) {{\n{risky}}}\n{funcs}"


def generate(root: Path, files: int) -> None:
    """About `files` files: 60% Python, 35% JavaScript, the rest IaC and config."""
    n_py = int(files * 0.6)
    n_js = int(files * 0.35)
    for i in range(n_py):
        write(root / f"src/pkg{i // 50}/mod_{i}.py", python_module(i))
    for i in range(n_js):
        write(root / f"web/src/part{i // 50}/mod_{i}.js", js_module(i))
    for i in range(2):
        write(root / f"infra/env{i}/main.tf", TERRAFORM.replace("vulnerable-app", f"env{i}"))
    for i in range(3):
        write(root / f"deploy/k8s/app{i}.yaml", K8S.replace("name: web", f"name: web{i}"))
    write(root / ".github/workflows/ci.yml", WORKFLOW)
    write(root / "requirements.txt", "flask==0.12.2\nrequests==2.19.1\nurllib3==2.2.2\n")
    write(root / "README.md", "# generated benchmark repository\n")
    remaining = files - sum(1 for p in root.rglob("*") if p.is_file())
    for i in range(max(0, remaining)):
        write(root / f"docs/page_{i}.md", f"# Page {i}\n\nNothing to see.\n")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def timed_scan(root: Path, env: dict[str, str], *args: str) -> tuple[float, dict[str, object]]:
    out = Path(tempfile.mkdtemp(prefix="pg-stages-bench-out-"))
    started = time.perf_counter()
    proc = subprocess.run(
        [CLI, "scan", str(root), "--format", "json", "--output", str(out), "--quiet", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"scan failed ({proc.returncode}): {proc.stderr}")
    report: dict[str, object] = json.loads((out / "pipeline-guard.json").read_text())
    shutil.rmtree(out)
    return elapsed, report


def fingerprints(report: dict[str, object]) -> list[str]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return sorted(str(f["fingerprint"]) for f in findings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="generate here and keep it")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pg-stages-bench-"))
    root = args.keep or work / "repo"
    root.mkdir(parents=True, exist_ok=True)
    generate(root, args.files)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    count = sum(1 for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)

    db = work / "osv.sqlite3"
    subprocess.run([CLI, "db", "update", "--db", str(db), "--source", str(DEMO_ZIP)], check=True,
                   capture_output=True)  # fmt: skip
    env = {**os.environ, "PIPELINE_GUARD_CACHE_DIR": str(work / "cache"), "NO_COLOR": "1"}
    common = ("--stage", "release", "--db", str(db))

    cold, cold_report = timed_scan(root, env, *common)
    warm, warm_report = timed_scan(root, env, *common)
    uncached, uncached_report = timed_scan(root, env, *common, "--no-cache")
    same = fingerprints(cold_report) == fingerprints(warm_report) == fingerprints(uncached_report)

    git(root, "checkout", "-q", "-b", "feature")
    changed = root / "src/pkg3/mod_170.py"
    changed.write_text(changed.read_text() + "\n\ndef calc(expr):\n    return eval(expr)\n")
    git(root, "commit", "-q", "-am", "one-file change")
    pr_args = ("--stage", "pr", "--base", "main", "--db", str(db))
    pr_warm, pr_report = timed_scan(root, env, *pr_args)
    cold_env = {**env, "PIPELINE_GUARD_CACHE_DIR": str(work / "cache-cold")}
    pr_cold, _ = timed_scan(root, cold_env, *pr_args)
    findings = pr_report["findings"]
    assert isinstance(findings, list)
    new = [f["rule_id"] for f in findings if f["baseline_state"] == "new"]

    print(f"repository: {count} files ({len(fingerprints(cold_report))} findings), "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(f"cold full scan (release, empty cache)    {cold:7.2f} s")
    print(f"full scan without cache (--no-cache)     {uncached:7.2f} s")
    print(f"warm rescan, unchanged tree              {warm:7.2f} s  {warm / cold:6.1%} of cold")
    print(
        f"pr stage, 1-file change, warm cache      {pr_warm:7.2f} s  {pr_warm / cold:6.1%} of full"
    )
    print(
        f"pr stage, 1-file change, empty cache     {pr_cold:7.2f} s  {pr_cold / cold:6.1%} of full"
    )
    print(f"identical findings cold/warm/uncached: {same}; new in the pr: {new}")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
