"""One scan from start to verdict: choose scanners, run them in parallel,
normalize, suppress, gate. Reporting is the caller's job."""

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
from pipeline_guard.config import DEFAULT_EXCLUDES, Config, StagePolicy
from pipeline_guard.files import discover
from pipeline_guard.gate import evaluate
from pipeline_guard.model import ScannerRun, ScanReport
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


@dataclass(frozen=True)
class Selection:
    run: list[Scanner]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (scanner, why)


ProgressHook = Callable[[str, ScannerRun | None], None]


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
            skipped.append((scanner.name, "no files it understands"))
        else:
            chosen.append(scanner)
    return Selection(chosen, skipped)


def run_scanners(
    scanners: Sequence[Scanner], ctx: ScanContext, progress: ProgressHook | None = None
) -> list[ScannerRun]:
    """Run scanners in parallel, at most one per CPU; results in scanner order."""
    if not scanners:
        return []
    workers = max(1, min(len(scanners), os.cpu_count() or 1))
    results: dict[str, ScannerRun] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scanner") as pool:
        futures = {pool.submit(s.scan, ctx): s for s in scanners}
        if progress:
            for s in scanners:
                progress(s.name, None)
        for future in as_completed(futures):
            run = future.result()  # Scanner.scan never raises
            results[futures[future].name] = run
            if progress:
                progress(run.scanner, run)
    return [results[s.name] for s in scanners]


def scan(request: ScanRequest, progress: ProgressHook | None = None) -> ScanReport:
    """Run the stage's scanners over the request's tree and decide the verdict."""
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
    notes: list[str] = []
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
        selection = select_scanners(build_scanners(config), ctx, policy)
        runs = run_scanners(selection.run, ctx, progress)

    source_files = SourceFiles(root)
    findings = normalize(runs, source_files)
    suppressed = apply_suppressions(findings, config.ignores, source_files)
    notes.extend(suppressed.notes)
    notes.extend(f"{r.scanner}: {n}" for r in runs for n in (*r.stale_data, *r.notes))
    if not selection.run:
        notes.append("no scanner applied to this tree (see `pipeline-guard scanners`)")
    stale = [f"{r.scanner}: {s}" for r in runs for s in r.stale_data]
    verdict = evaluate(policy, suppressed.findings, runs, stale if policy.fail_on_stale_db else ())
    return ScanReport(
        root=str(root),
        stage=request.stage,
        findings=tuple(suppressed.findings),
        runs=tuple(runs),
        verdict=verdict,
        started_at=started_at,
        duration=time.monotonic() - started,
        tool_version=__version__,
        notes=tuple(notes),
        commit=request.commit,
        skipped=tuple(f"{name}: {why}" for name, why in selection.skipped),
    )
