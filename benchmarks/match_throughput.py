"""Matcher throughput on the shared OSV dumps: our matcher against a naive scan.

    .venv/bin/python benchmarks/match_throughput.py [--pairs 10000] [--osv-dir DIR]

A "check" is one (ecosystem, package, version) looked up against every advisory
for that package. The pairs are drawn (seeded) from the data itself: a package
some advisory names, and a version the advisories mention for it, so most
checks walk real ranges.

* matcher: advisories pre-grouped by package, the way the store hands them
  out, then `match_package`; run 1 starts cold (empty caches: every package
  index is built), runs 2 and 3 are warm, and the median of the three is
  reported. The loaded dumps are frozen out of the cyclic GC first, and the
  collector runs (untimed) before each run; see main.
* naive: for every check, scan all parsed advisories of the ecosystem, filter
  `affected[]` by package, sort each range's events with `compare()` and walk
  them; no grouping, no compiled ranges. Too slow for every pair, so it runs on
  a sample and is reported per second.

Both must give the same advisory ids on the naive sample.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable
from functools import cmp_to_key
from pathlib import Path
from typing import Any

from pipeline_guard.vulndb import matcher
from pipeline_guard.vulndb.names import canonical_ecosystem, normalize_name
from pipeline_guard.vulndb.versions import (
    InvalidVersion,
    UnknownEcosystem,
    VersionOrdering,
    ordering_for,
    semver_ordering_for,
)

SHARED = Path(
    os.environ.get("PIPELINE_GUARD_SHARED", Path(__file__).resolve().parents[2] / "shared")
)
DEFAULT_OSV = SHARED / "data" / "osv"
Package = tuple[str, str]  # (ecosystem, normalized name)
Check = tuple[str, str, str]  # (ecosystem, name, version)


def load(
    osv_dir: Path,
) -> tuple[dict[str, list[dict[str, Any]]], dict[Package, list[dict[str, Any]]]]:
    """All advisories by base ecosystem (for the naive scan) and grouped by package."""
    by_zip: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_package: dict[Package, list[dict[str, Any]]] = defaultdict(list)
    seen: set[str] = set()
    for path in sorted(osv_dir.glob("*-all.zip")):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                adv = json.loads(zf.read(name))
                if adv["id"] in seen:  # GHSA records repeat across zips
                    continue
                seen.add(adv["id"])
                packages = set()
                for entry in adv.get("affected", ()):
                    eco = canonical_ecosystem(entry["package"]["ecosystem"])
                    packages.add((eco, normalize_name(eco, entry["package"]["name"])))
                for pkg in sorted(packages):
                    by_package[pkg].append(adv)
                for base in {pkg[0].split(":", 1)[0] for pkg in packages}:
                    by_zip[base].append(adv)
    return by_zip, by_package


def draw_checks(by_package: dict[Package, list[dict[str, Any]]], count: int) -> list[Check]:
    """A random package (uniform over packages), then a random version the data names for it."""
    rng = random.Random(20240601)
    versions_of: list[tuple[Package, list[str]]] = []
    for (eco, name), advisories in by_package.items():
        try:
            ordering_for(eco)
        except UnknownEcosystem:
            continue
        versions: set[str] = set()
        for adv in advisories:
            for entry in adv.get("affected", ()):
                if normalize_name(eco, entry["package"]["name"]) != name:
                    continue
                versions.update(entry.get("versions", ()))
                for rng_ in entry.get("ranges", ()):
                    if rng_["type"] != "GIT":
                        versions.update(v for e in rng_["events"] for v in e.values() if v != "0")
        if versions:
            versions_of.append(((eco, name), sorted(versions)))
    checks: list[Check] = []
    for _ in range(count):
        (eco, name), listed = rng.choice(versions_of)
        checks.append((eco, name, rng.choice(listed)))
    return checks


def run_matcher(
    by_package: dict[Package, list[dict[str, Any]]], checks: list[Check]
) -> tuple[float, list[list[str]]]:
    """Seconds spent looking the checks up, and the advisory ids each check found.

    The clock covers the package lookup and `match_package`; turning the matches
    into sorted id lists for the comparison with the naive scan is not timed.
    """
    clock = time.perf_counter
    seconds = 0.0
    out = []
    for eco, name, version in checks:
        started = clock()
        found = matcher.match_package(by_package[(eco, name)], eco, name, version)
        seconds += clock() - started
        out.append(sorted(m.records[0] for m in found))
    return seconds, out


def _naive_in_range(version: str, events: list[dict[str, str]], ordering: VersionOrdering) -> bool:
    def order(a: dict[str, str], b: dict[str, str]) -> int:
        va, vb = next(iter(a.values())), next(iter(b.values()))
        if va == "0" or vb == "0":
            return (vb == "0") - (va == "0")
        return ordering.compare(va, vb)

    affected = False
    for event in sorted((e for e in events if "limit" not in e), key=cmp_to_key(order)):
        kind, value = next(iter(event.items()))
        if kind == "introduced" and (value == "0" or ordering.compare(version, value) >= 0):
            affected = True
        elif (kind == "fixed" and ordering.compare(version, value) >= 0) or (
            kind == "last_affected" and ordering.compare(version, value) > 0
        ):
            affected = False
    return affected


def _naive_affected(adv: dict[str, Any], eco: str, name: str, version: str) -> bool:
    for entry in adv.get("affected", ()):
        pkg = entry["package"]
        if canonical_ecosystem(pkg["ecosystem"]) != eco or normalize_name(eco, pkg["name"]) != name:
            continue
        if version in entry.get("versions", ()):
            return True
        for rng in entry.get("ranges", ()):
            if rng["type"] not in ("ECOSYSTEM", "SEMVER"):
                continue
            ordering = semver_ordering_for(eco) if rng["type"] == "SEMVER" else ordering_for(eco)
            try:
                if _naive_in_range(version, rng["events"], ordering):
                    return True
            except InvalidVersion:
                continue
    return False


def run_naive(by_zip: dict[str, list[dict[str, Any]]], checks: list[Check]) -> list[list[str]]:
    out = []
    for eco, name, version in checks:
        every = by_zip[eco.split(":", 1)[0]]
        hits = [
            adv["id"]
            for adv in every
            if not adv.get("withdrawn") and _naive_affected(adv, eco, name, version)
        ]
        out.append(sorted(hits))
    return out


def timed(fn: Callable[[], list[list[str]]]) -> tuple[float, list[list[str]]]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--naive-sample", type=int, default=300)
    parser.add_argument("--osv-dir", type=Path, default=DEFAULT_OSV)
    args = parser.parse_args(argv)

    by_zip, by_package = load(args.osv_dir)
    checks = draw_checks(by_package, args.pairs)
    # The parsed dumps are ~1M objects that live to the end. Frozen out of the
    # cyclic GC, a full collection of this fixture (0.5 s here) cannot land in a
    # timed run at random; a scan holds only the advisories it asked the store for.
    gc.collect()
    gc.freeze()
    ours: list[list[str]] = []
    advisories = sum(len(v) for v in by_zip.values())
    print(
        f"{len(by_package)} packages, {advisories} (advisory, ecosystem) rows, {len(checks)} checks"
    )

    evaluations = sum(len(by_package[(eco, name)]) for eco, name, _ in checks)
    print(f"{evaluations / len(checks):.1f} advisories per check on average")
    rates = []
    for run in range(3):
        # Untimed, like timeit keeping the collector out of its window: a collection
        # owed to what earlier runs left behind is not this run's cost.
        del ours
        gc.collect()
        seconds, ours = run_matcher(by_package, checks)
        rates.append(len(checks) / seconds)
        label = "cold" if run == 0 else "warm"
        print(f"matcher run {run + 1} ({label}): {seconds:.3f} s, {rates[-1]:,.0f} checks/s")
    matcher_rate = statistics.median(rates)
    affected = sum(1 for r in ours if r)

    sample = checks[: args.naive_sample]
    naive_rates = []
    for _ in range(3):
        seconds, naive = timed(lambda: run_naive(by_zip, sample))
        naive_rates.append(len(sample) / seconds)
    naive_rate = statistics.median(naive_rates)
    mismatches = [c for c, a, b in zip(sample, ours, naive, strict=False) if a != b]

    per_check = evaluations / len(checks)
    print(
        f"matcher: {matcher_rate:,.0f} checks/s (median of 3), "
        f"{matcher_rate * per_check:,.0f} advisory evaluations/s; {affected} checks affected"
    )
    print(f"naive:   {naive_rate:,.1f} checks/s (median of 3, {len(sample)} checks)")
    print(f"ratio:   {matcher_rate / naive_rate:,.0f}x")
    if mismatches:
        print(f"MISMATCH between matcher and naive scan: {mismatches[:5]}", file=sys.stderr)
        return 1
    print(f"matcher and naive scan agree on all {len(sample)} sampled checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
