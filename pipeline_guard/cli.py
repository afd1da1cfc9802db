"""The `pipeline-guard` command line.

Exit codes: 0 the gate passed; 1 the gate failed; 2 usage or config error;
3 a scanner failed and the stage fails closed.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline_guard import __version__
from pipeline_guard.cli_db import db_app
from pipeline_guard.config import STAGES, Config, StagePolicy, find_config, load_config
from pipeline_guard.errors import UserError
from pipeline_guard.fsutil import atomic_write_text
from pipeline_guard.gate import EXIT_USAGE
from pipeline_guard.model import ScannerRun, ScanReport, Severity
from pipeline_guard.orchestrator import ProgressHook, ScanRequest
from pipeline_guard.registry import build_scanners, known_scanner_names, scanner_classes
from pipeline_guard.reporters import FORMATS, console, file_reporter
from pipeline_guard.scanner import ScanContext, Scanner

EXIT_HELP = """
Exit codes: 0 gate passed; 1 gate failed (findings over the stage's policy);
2 usage or configuration error; 3 a scanner failed (crash, timeout, missing tool)
and the stage fails closed (release by default).
"""

app = typer.Typer(
    name="pipeline-guard",
    help="Run the right security scanners for a stage (precommit, pr, release), "
    "normalize their findings and gate on a policy." + EXIT_HELP,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False)
app.add_typer(db_app, name="db")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pipeline-guard {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """pipeline-guard: CI/CD security scanning orchestrator."""


def _load(root: Path, config_path: Path | None) -> Config:
    path = config_path if config_path is not None else find_config(root)
    if config_path is not None and not config_path.is_file():
        raise UserError(f"{config_path}: no such config file")
    return load_config(path, known_scanner_names())


def _parse_formats(value: str) -> list[str]:
    formats = [f.strip() for f in value.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UserError(
            f"--format: unknown format(s) {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(FORMATS)}"
        )
    return formats


#: what the release stage writes to --output when --format is not given: the report
#: set of DESIGN.md (the CI-specific gitlab and pr-comment formats are opt-in)
RELEASE_FORMATS = "console,json,sarif,markdown,html,junit"


@app.command("scan")
def scan_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="The tree to scan (default: .), or files to scan in place (the pre-commit "
            "framework passes the staged files), relative to the current directory.",
            show_default=False,
            metavar="PATH | FILE",
        ),
    ] = None,
    stage: Annotated[
        str, typer.Option("--stage", "-s", help="precommit | pr | release.")
    ] = "release",
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Config file (default: PATH/pipeline-guard.yml)."),
    ] = None,
    formats: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help=f"Comma-separated: {', '.join(FORMATS)}. File formats go to --output DIR "
            "as pipeline-guard.<ext>; without --output a single file format goes to stdout. "
            f"Default: console; in the release stage with --output: {RELEASE_FORMATS}.",
            show_default=False,
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help="pr stage: the branch or commit the change is compared with (default: "
            "origin/$GITHUB_BASE_REF, else origin/HEAD); findings are new or unchanged "
            "against its merge base with HEAD.",
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help="Baseline file of accepted findings (default: the config's `baseline`, "
            "else .pipeline-guard-baseline.json when present).",
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Run every scanner for real; do not read or write the result cache."
        ),
    ] = False,
    images: Annotated[
        list[str] | None,
        typer.Option(
            "--image",
            help="Container image to scan (repeatable; default: the stage's `images`).",
        ),
    ] = None,
    platform: Annotated[
        str | None,
        typer.Option("--platform", help="Manifest of a multi-platform image (os/arch[/variant])."),
    ] = None,
    insecure_registry: Annotated[
        list[str] | None,
        typer.Option(
            "--insecure-registry",
            help="Registry host allowed over plain HTTP (repeatable; 'loopback' for any "
            "loopback host).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Directory for report files.")
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="OSV database (default: $PIPELINE_GUARD_DB or cache)."),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on", help="Override the stage's fail_on: critical|high|medium|low|info|none."
        ),
    ] = None,
    comment: Annotated[
        bool,
        typer.Option(
            "--comment",
            help="Post or update the sticky pull-request comment "
            "(GITHUB_TOKEN, GITHUB_EVENT_PATH).",
        ),
    ] = False,
    instance: Annotated[
        str, typer.Option("--instance", help="Sticky comment key, one per job on a PR.")
    ] = "default",
    pr: Annotated[
        int | None, typer.Option("--pr", help="Pull request number (default: from the event).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No console output.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Tracebacks for errors.")] = False,
) -> None:
    """Scan PATH (or FILES) with the scanners of a stage and gate on its policy.

    pr: reports every finding and gates on those the change introduces (against the
    merge base with --base). precommit: scans what is staged. release: the whole tree.
    """
    from pipeline_guard.cache import ResultCache
    from pipeline_guard.stages import run_stage

    if stage not in STAGES:
        raise UserError(f"--stage: unknown stage {stage!r}; choose from {', '.join(STAGES)}")
    path, files = _scan_target(paths or [])
    if formats is None:
        formats = RELEASE_FORMATS if stage == "release" and output is not None else "console"
    wanted = _parse_formats(formats)
    file_formats = [f for f in wanted if f != "console"]
    if output is None and len(file_formats) > 1:
        raise UserError("several file formats need --output DIR")
    cfg = _with_fail_on(_load(path, config), stage, fail_on)
    cfg = _with_image_options(cfg, platform, insecure_registry)
    request = ScanRequest(
        root=path,
        stage=stage,
        config=cfg,
        db_path=db,
        cache=None if no_cache else ResultCache(),
        baseline=baseline,
        images=tuple(images or ()),
    )
    report = _run_with_progress(
        lambda hook: run_stage(request, files=files, base=base, progress=hook), quiet
    )
    to_stdout = output is None and file_formats
    for fmt in file_formats:
        text = _render(fmt, report)
        if output is None:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        else:
            target = output / f"pipeline-guard{file_reporter(fmt).EXTENSION}"
            atomic_write_text(target, text)
            if not quiet:
                err.print(f"wrote {escape(str(target))}")
    if not quiet:
        out = sys.stderr if to_stdout else sys.stdout
        console.render(report, out)
    if comment:
        from pipeline_guard.github.comment import publish_report_comment

        result = publish_report_comment(report, instance=instance, pr_number=pr)
        err.print(escape(result.note or f"PR comment {result.action}: {result.url or ''}"))
    raise typer.Exit(report.verdict.exit_code)


def _scan_target(paths: list[Path]) -> tuple[Path, list[str] | None]:
    """(root, files): one directory is the tree to scan; files are scanned in place,
    relative to the current directory, which is then the root."""
    if not paths:
        return Path("."), None
    if len(paths) == 1 and not paths[0].exists():
        raise UserError(f"{paths[0]}: no such file or directory")
    if len(paths) == 1 and paths[0].is_dir():
        return paths[0], None
    root = Path(os.path.abspath("."))
    files = []
    for path in paths:
        if path.is_dir():
            raise UserError(f"{path}: give one directory to scan, or files, not both")
        if not path.is_file():
            raise UserError(f"{path}: no such file")
        full = Path(os.path.abspath(path))
        if not full.is_relative_to(root):
            raise UserError(f"{path}: outside the current directory {root}")
        files.append(full.relative_to(root).as_posix())
    return root, files


def _with_fail_on(cfg: Config, stage: str, fail_on: str | None) -> Config:
    if fail_on is None:
        return cfg
    try:
        threshold = None if fail_on == "none" else Severity.parse(fail_on)
    except ValueError as exc:
        raise UserError(f"--fail-on: {exc}") from None
    policy = replace(cfg.stage(stage), fail_on=threshold)
    return replace(cfg, stages={**cfg.stages, stage: policy})


def _with_image_options(cfg: Config, platform: str | None, insecure: list[str] | None) -> Config:
    """--platform and --insecure-registry override the `image:` scanner options."""
    options = dict(cfg.scanner_options("image"))
    if platform is not None:
        options["platform"] = platform
    if insecure:
        hosts = [h for h in insecure if h != "loopback"]
        options["insecure_registries"] = hosts if hosts else True
    if options == dict(cfg.scanner_options("image")):
        return cfg
    return replace(cfg, scanners={**cfg.scanners, "image": options})


def _render(fmt: str, report: ScanReport) -> str:
    module = file_reporter(fmt)
    if hasattr(module, "render_with_warnings"):
        text, warnings = module.render_with_warnings(report)
        for warning in warnings:
            err.print(f"[yellow]warning:[/] {escape(warning)}")
        return str(text)
    return str(module.render(report))


def _run_with_progress(run: Callable[[ProgressHook | None], ScanReport], quiet: bool) -> ScanReport:
    if quiet or not sys.stderr.isatty():
        return run(None)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        tasks: dict[str, Any] = {}

        def hook(name: str, run: ScannerRun | None) -> None:
            if run is None:
                tasks[name] = progress.add_task(f"{name}: running", total=1)
            else:
                state = "failed" if run.errors else f"{len(run.findings)} finding(s)"
                progress.update(tasks[name], description=f"{name}: {state}", completed=1)

        return run(hook)


@app.command("scanners")
def scanners_command(
    path: Annotated[Path, typer.Argument(help="Tree to check applicability against.")] = Path("."),
    config: Annotated[Path | None, typer.Option("--config", "-c")] = None,
    debug: Annotated[bool, typer.Option("--debug")] = False,
) -> None:
    """List every scanner: installed or not, version, and whether it applies here."""
    from pipeline_guard.config import DEFAULT_EXCLUDES
    from pipeline_guard.files import discover

    cfg = _load(path, config)
    files = discover(path.resolve(), (*DEFAULT_EXCLUDES, *cfg.exclude)).files
    ctx = ScanContext(root=path.resolve(), files=files)
    scanners = build_scanners(cfg)
    table = Table(title=f"Scanners ({len(files)} files under {escape(str(path))})")
    for column in ("scanner", "category", "installed", "applies here", "stages"):
        table.add_column(column)
    for scanner in scanners:
        version = scanner.version()
        stages = [s for s in STAGES if _in_stage(scanner, cfg.stage(s))]
        table.add_row(
            escape(scanner.name),
            scanner.category.value,
            escape(version) if version else "[red]not installed[/]",
            f"yes ({scanner.targets(ctx)} targets)" if scanner.applies(ctx) else "no",
            ", ".join(stages),
        )
    disabled = sorted(n for n in known_scanner_names() if not cfg.enabled(n))
    for name in disabled:
        table.add_row(escape(name), "", "", "disabled in config", "")
    for broken in scanner_classes()[1]:
        table.add_row(
            escape(broken.name), "", f"[red]failed to load: {escape(broken.error)}[/]", "", ""
        )
    Console(highlight=False).print(table)


def _in_stage(scanner: Scanner, policy: StagePolicy) -> bool:
    """Would the stage run this scanner where it applies?"""
    if policy.scanners is not None:
        return scanner.name in policy.scanners
    return not policy.fast_only or bool(scanner.fast)


@app.command("sbom")
def sbom_command(
    path: Annotated[Path, typer.Argument(help="Tree whose lockfiles are read.")] = Path("."),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    spec_version: Annotated[str, typer.Option("--spec-version", help="1.5 or 1.6.")] = "1.6",
    config: Annotated[Path | None, typer.Option("--config", "-c")] = None,
) -> None:
    """Write a CycloneDX JSON SBOM of the dependencies declared in PATH's lockfiles."""
    from pipeline_guard.config import DEFAULT_EXCLUDES
    from pipeline_guard.files import discover
    from pipeline_guard.sbom import sbom_for_tree

    if spec_version not in ("1.5", "1.6"):
        raise UserError(f"--spec-version: {spec_version!r} is not supported (1.5 or 1.6)")
    cfg = _load(path, config)
    files = discover(path.resolve(), (*DEFAULT_EXCLUDES, *cfg.exclude)).files
    text, collected = sbom_for_tree(path.resolve(), files, spec_version=spec_version)
    for error in collected.errors:
        err.print(f"[yellow]not read:[/] {escape(str(error))}")
    for item in collected.not_checked:
        err.print(f"[dim]{escape(str(item))}[/]")
    if output is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(output, text)
        err.print(f"wrote {escape(str(output))} ({len(collected.dependencies)} dependencies)")


STARTER_CONFIG = """\
# pipeline-guard configuration. Every key is optional; delete what you don't need.
# Reference: README.md "Configuration"; schema: pipeline_guard/schemas/config.schema.json
version: 1

# Paths never scanned (globs relative to this file's directory).
exclude:
  - "vendor/**"
  - "**/*.min.js"

scanners:
  semgrep:
    # rules: [".semgrep/"]        # your own rules, on top of the bundled pack
    exclude_rules: []
  bandit:
    skip: []                      # e.g. [B101] to allow assert
  checkov:
    skip_checks: []               # e.g. [CKV_DOCKER_2]
    # severity: {CKV_AWS_20: critical}   # override the curated severity map
  secrets:
    include_generic: true
  osv:
    max_db_age_days: 7

# Any tool that writes SARIF:
# custom_scanners:
#   - name: my-linter
#     command: ["my-linter", "--sarif", "--out", "{output}", "{root}"]
#     output: "{output}"
#     category: sast

stages:
  precommit:
    fail_on: high
    fail_on_category: {secret: info}     # any secret blocks a commit
  pr:
    fail_on: high
    new_only: true                       # gate only on what the change introduces
  release:
    fail_on: high
    fail_on_scanner_error: true
    fail_on_stale_db: true

# Findings accepted in bulk when adopting pipeline-guard on an existing codebase:
# `pipeline-guard baseline create` writes this file (used automatically when present).
# baseline: .pipeline-guard-baseline.json

# Accepted findings (each needs a reason; they stay visible as suppressed):
# ignore:
#   - rule: B101
#     path: "tests/**"
#     reason: asserts are fine in tests
#     owner: platform-team
#     expires: 2027-06-30
"""


@app.command("init")
def init_command(
    path: Annotated[Path, typer.Argument(help="Repository root.")] = Path("."),
    debug: Annotated[bool, typer.Option("--debug")] = False,
) -> None:
    """Write a commented starter pipeline-guard.yml (never overwrites)."""
    target = path / "pipeline-guard.yml"
    existing = find_config(path)
    if existing is not None:
        err.print(f"{escape(str(existing))} already exists; left unchanged")
        return
    atomic_write_text(target, STARTER_CONFIG)
    err.print(f"wrote {escape(str(target))}")


@app.command("install-hook")
def install_hook_command(
    path: Annotated[Path, typer.Argument(help="A directory in the repository.")] = Path("."),
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace a pre-commit hook that is not ours (kept as a backup)."
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug")] = False,
) -> None:
    """Install a git pre-commit hook that scans the staged content (no framework needed)."""
    from pipeline_guard.stages import install_hook

    result = install_hook(path, force=force)
    if result.backup is not None:
        err.print(f"moved the previous hook to {escape(str(result.backup))}")
    err.print(f"wrote {escape(str(result.path))}: `git commit` now runs the precommit stage")


baseline_app = typer.Typer(
    help="Accept the findings a repository has today; gate only on what comes after.",
    no_args_is_help=True,
)
app.add_typer(baseline_app, name="baseline")


def _baseline_command(
    path: Path,
    file: Path | None,
    stage: str,
    config: Path | None,
    db: Path | None,
    no_cache: bool,
    *,
    update: bool,
    force: bool = False,
) -> None:
    from pipeline_guard import baseline as bl
    from pipeline_guard.cache import ResultCache
    from pipeline_guard.orchestrator import scan

    if stage not in STAGES:
        raise UserError(f"--stage: unknown stage {stage!r}; choose from {', '.join(STAGES)}")
    if not path.is_dir():
        raise UserError(f"{path}: not a directory")
    cfg = _load(path, config)
    target = file or cfg.baseline or path / bl.DEFAULT_FILE
    previous = bl.load(target) if update else None
    if not update and target.exists() and not force:
        raise UserError(
            f"{target} already exists: `pipeline-guard baseline update` refreshes it "
            "(--force starts over)"
        )
    request = ScanRequest(
        root=path,
        stage=stage,
        config=cfg,
        db_path=db,
        cache=None if no_cache else ResultCache(),
        use_baseline=False,
    )
    report = scan(request)
    if report.errors:
        for e in report.errors:
            err.print(
                f"[bold red]scanner error:[/] {escape(e.scanner)} ({e.kind}): {escape(e.message)}"
            )
        err.print(
            f"{escape(str(target))} not written: a baseline made while a scanner fails would "
            "miss its findings. Fix the scanner, or disable it in pipeline-guard.yml"
        )
        raise typer.Exit(3)
    today = dt.date.today()
    change = bl.build(report.findings, previous, target, today)
    bl.write(change.baseline, today)
    err.print(
        f"wrote {escape(str(target))}: {len(change.baseline.entries)} finding(s) "
        f"({change.added} added, {change.dropped} dropped, {change.kept} kept)"
    )


_BASELINE_FILE = typer.Option(
    "--file",
    help="Baseline file (default: the config's `baseline`, else "
    "PATH/.pipeline-guard-baseline.json).",
)
_BASELINE_STAGE = typer.Option("--stage", "-s", help="Stage whose scanners run.")


@baseline_app.command("create")
def baseline_create(
    path: Annotated[Path, typer.Argument(help="Tree to scan.")] = Path("."),
    file: Annotated[Path | None, _BASELINE_FILE] = None,
    stage: Annotated[str, _BASELINE_STAGE] = "release",
    config: Annotated[Path | None, typer.Option("--config", "-c")] = None,
    db: Annotated[Path | None, typer.Option("--db", help="OSV database.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache")] = False,
    debug: Annotated[bool, typer.Option("--debug")] = False,
) -> None:
    """Scan PATH and write every current finding's fingerprint to the baseline file."""
    _baseline_command(path, file, stage, config, db, no_cache, update=False, force=force)


@baseline_app.command("update")
def baseline_update(
    path: Annotated[Path, typer.Argument(help="Tree to scan.")] = Path("."),
    file: Annotated[Path | None, _BASELINE_FILE] = None,
    stage: Annotated[str, _BASELINE_STAGE] = "release",
    config: Annotated[Path | None, typer.Option("--config", "-c")] = None,
    db: Annotated[Path | None, typer.Option("--db", help="OSV database.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache")] = False,
    debug: Annotated[bool, typer.Option("--debug")] = False,
) -> None:
    """Rescan: drop entries no finding matches any more, add the new findings."""
    _baseline_command(path, file, stage, config, db, no_cache, update=True)


cache_app = typer.Typer(
    help="The result cache ($PIPELINE_GUARD_CACHE_DIR, default ~/.cache/pipeline-guard).",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")


@cache_app.command("clear")
def cache_clear() -> None:
    """Remove every cached scanner result."""
    from pipeline_guard.cache import ResultCache

    cache = ResultCache()
    removed = cache.clear()
    err.print(
        f"removed {removed.entries} cached result(s), {removed.size / 1048576:.1f} MiB "
        f"({escape(str(cache.directory))})"
    )


@cache_app.command("status")
def cache_status() -> None:
    """Where the result cache is, how many entries and how big."""
    from pipeline_guard.cache import ResultCache

    cache = ResultCache()
    stats = cache.stats()
    typer.echo(
        f"{cache.directory}: {stats.entries} entries, {stats.size / 1048576:.1f} MiB "
        f"(limit {cache.max_bytes / 1048576:.0f} MiB)"
    )


def main() -> None:
    """Console-script entry point: user mistakes become one clear line and exit 2."""
    debug = "--debug" in sys.argv[1:]
    try:
        code = app(standalone_mode=False)
    except UserError as exc:
        if debug:
            traceback.print_exc()
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        code = EXIT_USAGE
    except (KeyboardInterrupt, typer.Abort):
        err.print("interrupted")
        code = 130
    except Exception as exc:
        # Usage errors: click's own classes, or the copy of click newer typer
        # releases carry (and click is then not installed at all).
        if not _is_click_error(exc):
            raise
        exc.show()  # type: ignore[attr-defined]
        code = exc.exit_code  # type: ignore[attr-defined]
    sys.exit(code if isinstance(code, int) else 0)


def _is_click_error(exc: BaseException) -> bool:
    """A click-style exception: `show()` prints it, `exit_code` says how to exit."""
    return any(c.__name__ == "ClickException" for c in type(exc).__mro__) and isinstance(
        getattr(exc, "exit_code", None), int
    )
