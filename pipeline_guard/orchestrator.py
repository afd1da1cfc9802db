"""One scan from start to verdict: choose scanners, run them in parallel (through
the result cache), normalize, suppress, gate. Reporting is the caller's job.

Two steps, so a stage can work between them (the pr stage marks each finding new
or unchanged against the merge base): `collect` runs the scanners and returns
normalized findings; `conclude` applies suppressions and the baseline, and
decides the verdict. `scan` is both in a row.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from pipeline_guard import __version__
from pipeline_guard.baseline import apply_baseline, baseline_for
from pipeline_guard.cache import FileDigests, ResultCache
from pipeline_guard.config import DEFAULT_EXCLUDES, Config, StagePolicy
from pipeline_guard.files import discover
from pipeline_guard.gate import evaluate
from pipeline_guard.model import Category, Finding, ScannerRun, ScanReport
from pipeline_guard.normalize import SourceFiles, normalize
from pipeline_guard.registry import build_scanners
from pipeline_guard.scanner import ScanContext, Scanner
from pipeline_guard.suppress import apply_suppressions


@dataclass(frozen=True)
class ScanRequest:
    root: Path
    stage: str
    config: Config
    # A subset of files (staged or changed ones) instead of the whole tree.
    only_files: tuple[str, ...] | None = None
    images: tuple[str, ...] = ()
    db_path: Path | None = None
    commit: str | None = None
    # None: every scanner runs for real.
    cache: ResultCache | None = None
    # Baseline file; None: the config's `baseline`, else the default file if present.
    baseline: Path | None = None
    use_baseline: bool = True
    # Said by whoever prepared the scan (e.g. how the merge base was found).
    notes: tuple[str, ...] = ()
    # The tree the user knows, when `root` is a copy of it (staged content).
    display_root: Path | None = None
    # Categories not scanned (the pr stage's base scan compares dependencies itself).
    skip_categories: frozenset[Category] = frozenset()


@dataclass(frozen=True)
class Selection:
    run: list[Scanner]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (scanner, why)


@dataclass(frozen=True)
class Collected:
    """What the scanners found, normalized, before suppressions and the gate."""

    root: Path
    files: tuple[str, ...]
    runs: list[ScannerRun]
    findings: list[Finding]
    sources: SourceFiles
    notes: list[str]  # about the scan itself (links skipped, how files were chosen)
    run_notes: list[str]  # from the scanners
    skipped: list[tuple[str, str]]
    started: float
    started_at: str


ProgressHook = Callable[[str, ScannerRun | None], None]
Marker = Callable[[list[Finding]], list[Finding]]


def select_scanners(
    scanners: Sequence[Scanner], ctx: ScanContext, policy: StagePolicy
) -> Selection:
    """Which scanners run in this stage, and why each other one does not."""
    chosen: list[Scanner] = []
    skipped: list[tuple[str, str]] = []
    for scanner in scanners:
        if policy.scanners is not None and scanner.name not in policy.scanners:
            skipped.append((scanner.name, f"not in stages.{policy.name}.scanners"))
        elif policy.scanners is None and policy.fast_only and not scanner.fast:
            skipped.append((scanner.name, f"not a fast scanner ({policy.name} stage)"))
        elif not scanner.applies(ctx):
            if scanner.category is Category.IMAGE:
                why = f"no images given (--image or stages.{policy.name}.images)"
            elif scanner.version() is None:
                why = "not installed"
            else:
                why = "no files it understands"
            skipped.append((scanner.name, why))
        elif policy.scanners is None and policy.fast_only and not scanner.installed():
            # A developer machine need not have every tool; listing it beats an
            # error on every commit. A stage that names its scanners gets the error.
            skipped.append((scanner.name, "not installed"))
        else:
            chosen.append(scanner)
    return Selection(chosen, skipped)


def run_scanners(
    scanners: Sequence[Scanner],
    ctx: ScanContext,
    progress: ProgressHook | None = None,
    cache: ResultCache | None = None,
) -> list[ScannerRun]:
    """Run scanners in parallel, at most one per CPU; results in scanner order."""
    if not scanners:
        return []
    digests = FileDigests(ctx.root)
    workers = max(1, min(len(scanners), os.cpu_count() or 1))
    results: dict[str, ScannerRun] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scanner") as pool:
        futures = {pool.submit(_scan_one, s, ctx, cache, digests): s for s in scanners}
        if progress:
            for s in scanners:
                progress(s.name, None)
        for future in as_completed(futures):
            run = future.result()  # _scan_one never raises
            results[futures[future].name] = run
            if progress:
                progress(run.scanner, run)
    return [results[s.name] for s in scanners]


def _scan_one(
    scanner: Scanner, ctx: ScanContext, cache: ResultCache | None, digests: FileDigests
) -> ScannerRun:
    if cache is None:
        return scanner.scan(ctx)
    try:
        return cache.scan(scanner, ctx, digests)
    except Exception as exc:  # the cache is an optimization: never a reason to fail
        cache.warnings.append(f"result cache bypassed for {scanner.name}: {exc}")
        return scanner.scan(ctx)


def collect(request: ScanRequest, progress: ProgressHook | None = None) -> Collected:
    """Run the stage's scanners over the request's files; normalized findings."""
    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    config = request.config
    policy = config.stage(request.stage)
    root = request.root.resolve()
    fileset = discover(root, (*DEFAULT_EXCLUDES, *config.exclude))
    files = fileset.files
    if request.only_files is not None:
        wanted = set(request.only_files)
        files = tuple(f for f in files if f in wanted)
    notes = list(request.notes)
    if fileset.skipped_links:
        notes.append(f"{fileset.skipped_links} symbolic link(s) not followed")

    with tempfile.TemporaryDirectory(prefix="pipeline-guard-") as work:
        ctx = ScanContext(
            root=root,
            files=files,
            stage=request.stage,
            work_dir=Path(work),
            restricted=request.only_files is not None,
            images=request.images or policy.images,
            db_path=request.db_path or config.db,
        )
        scanners = [s for s in build_scanners(config) if s.category not in request.skip_categories]
        selection = select_scanners(scanners, ctx, policy)
        runs = run_scanners(selection.run, ctx, progress, request.cache)
    if request.cache is not None:
        notes.extend(request.cache.finish())

    source_files = SourceFiles(root)
    run_notes = [f"{r.scanner}: {n}" for r in runs for n in (*r.stale_data, *r.notes)]
    if not selection.run:
        run_notes.append("no scanner applied to this tree (see `pipeline-guard scanners`)")
    return Collected(
        root=root,
        files=files,
        runs=runs,
        findings=normalize(runs, source_files),
        sources=source_files,
        notes=notes,
        run_notes=run_notes,
        skipped=selection.skipped,
        started=started,
        started_at=started_at,
    )


def conclude(request: ScanRequest, collected: Collected, mark: Marker | None = None) -> ScanReport:
    """Suppressions, baseline, optional new/unchanged marking, and the verdict."""
    config = request.config
    policy = config.stage(request.stage)
    suppressed = apply_suppressions(collected.findings, config.ignores, collected.sources)
    findings = suppressed.findings
    notes = [*collected.notes, *suppressed.notes]
    if request.use_baseline:
        baseline = baseline_for(request.baseline, config, request.display_root or collected.root)
        if baseline is not None:
            applied = apply_baseline(findings, baseline, partial=request.only_files is not None)
            findings = applied.findings
            notes.extend(applied.notes)
    if mark is not None:
        findings = mark(findings)
    notes.extend(collected.run_notes)
    runs = collected.runs
    stale = [f"{r.scanner}: {s}" for r in runs for s in r.stale_data]
    verdict = evaluate(policy, findings, runs, stale if policy.fail_on_stale_db else ())
    return ScanReport(
        root=str(request.display_root.resolve() if request.display_root else collected.root),
        stage=request.stage,
        findings=tuple(findings),
        runs=tuple(runs),
        verdict=verdict,
        started_at=collected.started_at,
        duration=time.monotonic() - collected.started,
        tool_version=__version__,
        notes=tuple(notes),
        commit=request.commit,
        skipped=tuple(f"{name}: {why}" for name, why in collected.skipped),
    )


def scan(request: ScanRequest, progress: ProgressHook | None = None) -> ScanReport:
    """Run the stage's scanners over the request's tree and decide the verdict."""
    return conclude(request, collect(request, progress))
