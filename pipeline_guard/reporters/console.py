"""Human-readable terminal report (rich): findings table, scanners, verdict."""

from __future__ import annotations

from collections import Counter
from typing import IO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline_guard.model import Finding, ScanReport, Severity
from pipeline_guard.reporters.escape import redact_report

STYLES = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
MAX_ROWS = 200


def render(
    report: ScanReport, file: IO[str], *, color: bool | None = None, width: int = 140
) -> None:
    """Print the report; every value from a scanner is escaped from rich markup."""
    report = redact_report(report)
    console = Console(
        file=file,
        highlight=False,
        soft_wrap=False,
        width=width,
        force_terminal=color,
        no_color=color is False,
    )
    active = report.active
    if active:
        console.print(_findings_table(active))
        if len(active) > MAX_ROWS:
            console.print(f"... and {len(active) - MAX_ROWS} more (see the JSON/SARIF report)")
    else:
        console.print("No findings.")
    console.print(_scanners_table(report))
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    for error in report.errors:
        console.print(
            f"[bold red]scanner error:[/] {escape(error.scanner)} ({error.kind}): "
            f"{escape(error.message)}"
        )
        if error.detail:
            console.print(escape(_indent(error.detail)), style="dim")
    console.print(_summary(report))
    verdict = report.verdict
    if verdict.passed:
        console.print(f"[bold green]PASSED[/] ({escape(verdict.stage)} stage)")
    else:
        console.print(
            f"[bold red]FAILED[/] ({escape(verdict.stage)} stage, exit {verdict.exit_code})"
        )
        for reason in verdict.reasons:
            console.print(f"  - {escape(reason)}")


def _findings_table(findings: tuple[Finding, ...]) -> Table:
    table = Table(title="Findings", title_justify="left", show_lines=False)
    for column in ("severity", "category", "rule", "location", "title", "found by"):
        table.add_column(column, overflow="fold")
    for f in findings[:MAX_ROWS]:
        where = f.location.path + (f":{f.location.start_line}" if f.location.start_line else "")
        title = f.title
        if f.package is not None and f.package.fixed_versions:
            title += f" (fix: {', '.join(f.package.fixed_versions[:3])})"
        if f.baseline_state == "new":
            title = "[new] " + title
        scanners = ", ".join(dict.fromkeys(s.scanner for s in f.sources)) or f.scanner
        table.add_row(
            f"[{STYLES[f.severity]}]{f.severity.label}[/]",
            f.category.value,
            escape(f.rule_id),
            escape(where),
            escape(title),
            escape(scanners),
        )
    return table


def _scanners_table(report: ScanReport) -> Table:
    table = Table(title="Scanners", title_justify="left")
    for column in ("scanner", "version", "targets", "findings", "time", "status"):
        table.add_column(column)
    for run in report.runs:
        status = "[red]error[/]" if run.errors else "[green]ok[/]"
        table.add_row(
            escape(run.scanner),
            escape(run.tool_version or "-"),
            str(run.targets),
            str(len(run.findings)),
            f"{run.duration:.1f}s",
            status,
        )
    for line in report.skipped:
        name, _, why = line.partition(": ")
        table.add_row(escape(name), "", "", "", "", f"[dim]skipped: {escape(why)}[/]")
    return table


def _summary(report: ScanReport) -> str:
    counts = Counter(f.severity for f in report.active)
    parts = [f"{counts[s]} {s.label}" for s in sorted(Severity, reverse=True) if counts[s]]
    suppressed = len(report.findings) - len(report.active)
    text = f"{len(report.active)} finding(s)"
    if parts:
        text += f": {', '.join(parts)}"
    if suppressed:
        text += f"; {suppressed} suppressed"
    return text + f" in {report.duration:.1f}s"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
