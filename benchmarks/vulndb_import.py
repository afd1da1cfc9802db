"""Measure OSV database import and lookup speed on the shared dumps.

    .venv/bin/python benchmarks/vulndb_import.py [--data DIR] [--repeat N]

Targets (docs/DESIGN): PyPI dump import <= 10 s on a 2-core machine, and
`advisories_for` at thousands of lookups per second. Prints one line per
measurement; nothing is asserted (this is a measurement, not a test).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from pipeline_guard.vulndb.importer import import_sources
from pipeline_guard.vulndb.store import VulnDB

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "osv"


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def package_names(dump: Path, ecosystem: str) -> list[tuple[str, str]]:
    """(ecosystem as written, name) pairs the dump lists for its own ecosystem."""
    pairs: set[tuple[str, str]] = set()
    with zipfile.ZipFile(dump) as archive:
        for info in archive.infolist():
            for entry in json.loads(archive.read(info)).get("affected", []):
                pkg = entry.get("package", {})
                if pkg.get("ecosystem", "").split(":")[0] == ecosystem:
                    pairs.add((pkg["ecosystem"], pkg["name"]))
    return sorted(pairs)


def report(label: str, seconds: list[float], extra: str = "") -> None:
    print(
        f"{label:<44} median {statistics.median(seconds):7.3f} s  "
        f"min {min(seconds):7.3f} s  max {max(seconds):7.3f} s  {extra}"
    )


def bench_lookups(db_path: Path, data: Path) -> None:
    everything: list[tuple[str, str]] = []
    for eco in ("PyPI", "npm", "Debian", "Go", "AlmaLinux"):
        everything += package_names(data / f"{eco}-all.zip", eco)
    pypi = package_names(data / "PyPI-all.zip", "PyPI")
    misses = [("PyPI", f"no-such-package-{i}") for i in range(len(everything))]
    with VulnDB.open(db_path) as db:
        for label, batch in (
            ("lookups, hits, 5 ecosystems, cold cache", everything),
            ("lookups, hits, PyPI, first pass", pypi),
            ("lookups, hits, PyPI, warm cache", pypi * 5),
            ("lookups, misses", misses),
        ):
            started = time.perf_counter()
            found = sum(len(db.advisories_for(eco, name)) for eco, name in batch)
            took = time.perf_counter() - started
            print(
                f"{label:<44} {len(batch) / took:10.0f} lookups/s "
                f"({len(batch)} lookups, {found} advisories, {took:.3f} s)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("PIPELINE_GUARD_OSV_DATA", DEFAULT_DATA))
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data: Path = args.data
    print(f"cpus: {os.cpu_count()}  data: {data}")
    with tempfile.TemporaryDirectory() as work:
        db_path = Path(work) / "osv.sqlite3"

        def fresh(sources: list[Path]) -> None:
            db_path.unlink(missing_ok=True)
            import_sources(sources, db_path)

        report(
            "import PyPI-all.zip (2,661 advisories)",
            timed(lambda: fresh([data / "PyPI-all.zip"]), args.repeat),
        )
        report(
            "import all 11 dumps (35,783 advisories)",
            timed(lambda: fresh([data]), max(1, args.repeat // 2)),
            f"db {db_path.stat().st_size / 1024**2:.1f} MiB",
        )
        report(
            "re-import PyPI, carry the other 10 over",
            timed(lambda: import_sources([data / "PyPI-all.zip"], db_path), args.repeat),
        )
        bench_lookups(db_path, data)


if __name__ == "__main__":
    main()
