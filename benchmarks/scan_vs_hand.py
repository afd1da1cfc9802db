"""pipeline-guard vs running the same tools by hand, one after another.

Generates a corpus (copies of the example project's code, IaC and manifests,
with varied names), then, in one run, times
  - `pipeline-guard scan --stage release` (every scanner, in parallel), and
  - semgrep (same bundled pack), bandit, checkov and our secrets engine, each
    run by hand on the same tree, sequentially,
and prints both wall times, median of N runs, and the ratio.

    .venv/bin/python benchmarks/scan_vs_hand.py [--copies 40] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "vulnerable-app"
BIN = Path(sys.executable).parent
RULES = sorted(
    p for p in (REPO / "scanners/rules/semgrep").glob("*.yaml") if not p.name.endswith(".test.yaml")
)
OFFLINE = {"SEMGREP_ENABLE_VERSION_CHECK": "0", "BC_SKIP_MAPPING": "TRUE"}


def make_corpus(root: Path, copies: int) -> int:
    """`copies` copies of the example's sources under distinct directories."""
    for i in range(copies):
        target = root / f"svc{i:03d}"
        shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("osv-demo", "*.md"))
    shutil.copy(EXAMPLE / "osv-demo" / "PyPI-all.zip", root.parent / "PyPI-all.zip")
    return sum(1 for p in root.rglob("*") if p.is_file())


def run(argv: list[str], cwd: Path) -> None:
    result = subprocess.run(
        argv, cwd=cwd, env={**os.environ, **OFFLINE}, capture_output=True, check=False
    )
    if result.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({result.returncode}): {result.stderr[-500:]!r}")


def by_hand(root: Path) -> None:
    configs = [a for p in RULES for a in ("--config", str(p))]
    run([str(BIN / "semgrep"), "scan", "--json", "--metrics=off", "--disable-version-check",
         "--no-git-ignore", *configs, "."], root)  # fmt: skip
    run([str(BIN / "bandit"), "-r", "-f", "json", "-q", "."], root)
    run([str(BIN / "checkov"), "-d", ".", "-o", "json", "--skip-download",
         "--skip-framework", "secrets"], root)  # fmt: skip
    secrets = (
        "import sys; from pathlib import Path;"
        "from pipeline_guard.scanners.secrets import SecretsScanner;"
        "from pipeline_guard.scanner import ScanContext;"
        "root = Path(sys.argv[1]);"
        "files = tuple(p.relative_to(root).as_posix() for p in root.rglob('*') if p.is_file());"
        "SecretsScanner().scan(ScanContext(root=root, files=files))"
    )
    run([sys.executable, "-c", secrets, str(root)], root)


def with_pipeline_guard(root: Path, db: Path) -> None:
    run([str(BIN / "pipeline-guard"), "scan", ".", "--stage", "release", "--db", str(db),
         "--format", "json", "--output", str(root.parent / "out"), "--quiet", "--no-cache"],
        root)  # fmt: skip


def median_time(fn: Callable[[], None], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        files = make_corpus(root, args.copies)
        db = Path(tmp) / "osv.sqlite3"
        run([str(BIN / "pipeline-guard"), "db", "update", "--db", str(db), "--quiet",
             "--source", str(Path(tmp) / "PyPI-all.zip")], root)  # fmt: skip
        print(f"corpus: {files} files ({args.copies} copies of examples/vulnerable-app), "
              f"{os.cpu_count()} CPUs, median of {args.runs}")  # fmt: skip
        hand, hand_all = median_time(lambda: by_hand(root), args.runs)
        ours, ours_all = median_time(lambda: with_pipeline_guard(root, db), args.runs)
    print(f"by hand, sequential (semgrep, bandit, checkov, secrets): {hand:6.2f} s  "
          f"{[round(t, 2) for t in hand_all]}")  # fmt: skip
    print(f"pipeline-guard scan --stage release (all scanners):      {ours:6.2f} s  "
          f"{[round(t, 2) for t in ours_all]}")  # fmt: skip
    print(f"ratio pipeline-guard / by hand: {ours / hand:.2f}x (target <= 0.75x)")


if __name__ == "__main__":
    main()
