"""Bandit adapter: Python SAST.

Recipe: `bandit -f json -q -- <python files>` (explicit targets, in chunks), parse
the JSON report, turn every result into a `Finding`. Bandit exits 1 when it found
issues; that is a result, not a crash. Files bandit could not parse (syntax
errors, undecodable bytes) are listed in its `errors` array and become notes:
a file that was not scanned must never look like a clean file.

Severity table (bandit's `issue_severity` -> `Severity`):

    HIGH      -> high
    MEDIUM    -> medium
    LOW       -> low
    UNDEFINED -> info   (bandit's placeholder for a test that sets no severity)
    anything else -> medium (a level a future bandit might add)

The `severity` option (rule id -> level) overrides the table per test id.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline_guard.model import Category, Finding, Location, Severity
from pipeline_guard.scanner import (
    ARGV_BUDGET,
    RunOutput,
    ScanContext,
    ScanFailure,
    Scanner,
    argv_batches,
    load_json_report,
    run_tool,
    tool_version,
)

SEVERITY_TABLE: Mapping[str, Severity] = {
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
    "UNDEFINED": Severity.INFO,
}

CONFIDENCE_LEVELS = ("low", "medium", "high")
PYTHON_SUFFIXES = (".py", ".pyw")


class BanditScanner(Scanner):
    """Python security linter (bandit) over the Python files of the scan."""

    name = "bandit"
    category = Category.SAST
    description = "Python security linter (bandit)"
    fast = True
    file_local = True

    def applies(self, ctx: ScanContext) -> bool:
        return bool(python_files(ctx))

    def targets(self, ctx: ScanContext) -> int:
        return len(python_files(ctx))

    def version(self) -> str | None:
        return tool_version("bandit", distribution="bandit")

    def run(self, ctx: ScanContext) -> RunOutput:
        files = python_files(ctx)
        base = self._base_argv()
        output = RunOutput([])
        for chunk in argv_batches(files, ARGV_BUDGET):
            # "--" so a file named like an option is still a target
            result = run_tool(
                [*base, "--", *chunk], timeout=self.timeout, cwd=ctx.root, ok_codes=(0, 1)
            )
            report = parse_report(result.stdout)
            output.findings.extend(self._finding(ctx, item) for item in report.get("results", []))
            output.notes.extend(error_notes(ctx, report.get("errors", [])))
        return output

    def _base_argv(self) -> list[str]:
        # "--exclude=": ctx.files is already filtered by the user's excludes; bandit's
        # default excludes (.git, .tox, .eggs, ...) would silently drop files we name
        # "--ignore-nosec": `# nosec` would drop findings without a trace; the core
        # marks them suppressed instead, so they stay visible (pipeline_guard.suppress)
        argv = ["bandit", "-f", "json", "-q", "--exclude=", "--ignore-nosec"]
        confidence = str(self.options.get("confidence", "low")).lower()
        if confidence not in CONFIDENCE_LEVELS:
            raise ScanFailure(
                "config",
                f"bandit.confidence must be one of {', '.join(CONFIDENCE_LEVELS)}, "
                f"not {confidence!r}",
            )
        argv += ["--confidence-level", confidence]
        skip = [str(t) for t in self.options.get("skip") or []]
        if skip:
            argv += ["--skip", ",".join(skip)]
        return argv

    def _finding(self, ctx: ScanContext, item: Mapping[str, Any]) -> Finding:
        rule_id = str(item["test_id"])
        lines = item.get("line_range") or [item.get("line_number")]
        cwe = item.get("issue_cwe") or {}
        return Finding(
            scanner=self.name,
            category=self.category,
            rule_id=rule_id,
            title=str(item.get("test_name") or rule_id),
            message=str(item.get("issue_text", "")),
            severity=self._severity(rule_id, str(item.get("issue_severity", ""))),
            confidence=str(item.get("issue_confidence", "")).lower() or None,
            location=Location(
                path=ctx.relative(posixpath.normpath(str(item["filename"]))),
                start_line=item.get("line_number"),
                end_line=max(lines) if lines and None not in lines else None,
                start_column=_column(item.get("col_offset")),
                end_column=_column(item.get("end_col_offset")),
            ),
            cwes=(f"CWE-{cwe['id']}",) if cwe.get("id") else (),
            help_url=item.get("more_info"),
            tags=("python", "bandit"),
        )

    def _severity(self, rule_id: str, level: str) -> Severity:
        override = (self.options.get("severity") or {}).get(rule_id)
        if override is not None:
            return Severity.parse(str(override))
        return SEVERITY_TABLE.get(level.upper(), Severity.MEDIUM)


def python_files(ctx: ScanContext) -> list[str]:
    """The Python files among the scan's files."""
    return ctx.files_matching(suffixes=PYTHON_SUFFIXES)


def parse_report(stdout: str) -> dict[str, Any]:
    """Bandit's JSON report; ScanFailure("parse") when it is not one."""
    return load_json_report(stdout, "bandit")


def error_notes(ctx: ScanContext, errors: Sequence[Mapping[str, Any]]) -> list[str]:
    """One note per file bandit could not scan, naming the file and bandit's reason."""
    notes = []
    for error in errors:
        path = ctx.relative(posixpath.normpath(str(error.get("filename", "?"))))
        reason = error.get("reason", "unknown error")
        notes.append(f"bandit could not scan {path}: {reason}; it was not checked")
    return notes


def _column(offset: Any) -> int | None:
    # bandit's offsets are 0-based; Location columns are 1-based like SARIF's
    return offset + 1 if isinstance(offset, int) else None
