"""`pipeline-guard db update|status`: the offline OSV vulnerability database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline_guard.errors import UserError
from pipeline_guard.vulndb.paths import default_db_path
from pipeline_guard.vulndb.store import VulnDB, VulnDBError

if TYPE_CHECKING:  # the importer pulls in zip and HTTP code only `db update` needs
    from pipeline_guard.vulndb.importer import ImportProgress

db_app = typer.Typer(
    help="The offline OSV vulnerability database used by the sca and image scanners.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $PIPELINE_GUARD_DB or the user cache)."),
]


@db_app.command("update")
def update(
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            help="A zip (<Ecosystem>-all.zip), a directory of them, an OSV mirror base URL or a "
            "zip URL. Repeatable. Default: OSV's public per-ecosystem dumps.",
        ),
    ] = None,
    ecosystem: Annotated[
        list[str] | None,
        typer.Option("--ecosystem", "-e", help="Only these ecosystems (repeatable), e.g. PyPI."),
    ] = None,
    db: DbOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds per download attempt.")] = 30.0,
    retries: Annotated[int, typer.Option(help="Download retries, with backoff.")] = 3,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Download or import OSV advisories; the old database stays usable until the swap."""
    from pipeline_guard.vulndb.importer import import_sources

    path = db or default_db_path()

    def progress(event: ImportProgress) -> None:
        if not quiet:
            err.print(escape(str(event)), style="dim")

    try:
        result = import_sources(
            list(source or []), path, list(ecosystem) if ecosystem else None,
            progress=progress, timeout=timeout, retries=retries,
        )  # fmt: skip
    except VulnDBError as exc:
        raise UserError(str(exc)) from None
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}")
    if quiet:
        return
    for item in result.imported:
        err.print(
            f"{escape(item.ecosystem)}: {item.advisories} advisories, {item.packages} packages "
            f"from {escape(item.source)}"
        )
    if result.carried_over:
        err.print(f"kept unchanged: {escape(', '.join(result.carried_over))}")
    err.print(f"database {escape(str(result.db_path))} updated in {result.duration:.1f}s")


@db_app.command("status")
def status(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Ecosystems, advisory counts, sources, import times and age."""
    path = db or default_db_path()
    try:
        with VulnDB.open(path) as handle:
            info = handle.status()
    except VulnDBError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(info.to_dict(), indent=2, default=str))
        return
    table = Table(title=f"{escape(str(info.path))} ({info.size_bytes / 2**20:.1f} MiB)")
    for column in ("ecosystem", "advisories", "packages", "imported", "source"):
        table.add_column(column)
    for eco in info.ecosystems:
        table.add_row(
            escape(eco.name), str(eco.advisories), str(eco.packages),
            f"{eco.imported_at:%Y-%m-%d %H:%M}Z", escape(eco.source),
        )  # fmt: skip
    console = Console(highlight=False)
    console.print(table)
    days = info.age.total_seconds() / 86400
    console.print(f"{info.advisories} advisories; oldest import {days:.1f} days ago")
