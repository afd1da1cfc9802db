"""Any tool that writes SARIF, plugged in from pipeline-guard.yml alone.

One `SarifCommandScanner` per entry of `custom_scanners:`:

    custom_scanners:
      - name: gitleaks
        command: [gitleaks, detect, --no-git, --source, "{root}",
                  --report-format, sarif, --report-path, "{output}"]
        output: "{output}"
        category: secret
        version_command: [gitleaks, version]

Options (one entry):

- `name` (str, required): the scanner's name in reports and in `severity`/suppression keys.
- `command` (list of str, required): the argv, run without a shell in the scan root.
  Placeholders: `{root}` the scan root, `{output}` a temporary SARIF path, and `{files}`
  (a whole item) which expands to one item per file in scope that matches `file_patterns`.
  With `{files}`, a long file list is split over several runs (about 100 000 characters of
  paths per run) so the argument list never exceeds the system limit.
- `output` ("stdout" or "{output}", default "stdout"): where the tool writes its SARIF.
- `category` (sast|iac|secret|sca|image, default sast). For `secret`, the SARIF snippet is
  taken as the secret's value: masked in the finding and scrubbed from every output.
- `file_patterns` (list of globs, default all files), with the same rules as the config's
  excludes (`pipeline_guard.files.glob_regex`): a pattern without "/" matches a name in
  any directory ("*.py"), one with "/" matches from the root, `**` spans directories
  ("src/**/*.tf"). The scanner applies when any file matches.
- `ok_exit_codes` (list of int, default [0, 1]): other exit codes are a crash.
- `version_command` (list of str, optional): its first line of output is the version.
- `timeout` (seconds, default 600): per run of the command.
- `severity` (map rule id -> critical|high|medium|low|info): overrides the SARIF table in
  `pipeline_guard.sarif_ingest`.

In a restricted scan (staged or changed files only), a command without `{files}` still
scans the whole root; its findings outside the files in scope are left out, with a note.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_guard.files import matches_any
from pipeline_guard.model import Category, Severity
from pipeline_guard.sarif_ingest import IngestResult, ingest_sarif, parse_sarif
from pipeline_guard.scanner import (
    RunOutput,
    ScanContext,
    ScanFailure,
    Scanner,
    argv_batches,
    find_tool,
    run_tool,
)

OPTION_KEYS = (
    "name",
    "command",
    "output",
    "category",
    "file_patterns",
    "ok_exit_codes",
    "version_command",
    "timeout",
    "severity",
    "enabled",
)
PLACEHOLDERS = ("{root}", "{output}", "{files}")
DEFAULT_OK_EXIT_CODES = (0, 1)
#: characters of file paths per run of a `{files}` command (Linux allows 2 MiB in all)
ARGV_BUDGET = 100_000
VERSION_TIMEOUT = 60.0
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_PLACEHOLDER_LIKE = re.compile(r"\{[a-z_]+\}")


@dataclass(frozen=True)
class CommandSpec:
    """One `custom_scanners` entry, checked."""

    name: str
    command: tuple[str, ...]
    output_file: bool  # the tool writes to {output} rather than stdout
    category: Category
    file_patterns: tuple[str, ...]  # empty: every file
    ok_exit_codes: tuple[int, ...]
    version_command: tuple[str, ...] | None
    severity: Mapping[str, Severity]

    @property
    def takes_files(self) -> bool:
        return "{files}" in self.command


class SarifCommandScanner(Scanner):
    """Runs a configured command and reads the SARIF it writes."""

    description = "a SARIF-producing tool configured under custom_scanners"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        options = options or {}
        problems = validate_options(options)
        # A bad entry must not stop the other scanners: it becomes a config error in `run`.
        safe = {k: v for k, v in options.items() if k != "timeout" or _is_timeout(v)}
        super().__init__(safe)
        self.name = str(options.get("name") or "custom")
        self._problems = problems
        self.spec = None if problems else read_spec(options)
        self.category = self.spec.category if self.spec else Category.SAST

    def applies(self, ctx: ScanContext) -> bool:
        # Misconfigured: "applies", so the run reports the problem instead of skipping.
        return self.spec is None or bool(self.matching_files(ctx))

    def targets(self, ctx: ScanContext) -> int:
        return len(self.matching_files(ctx))

    def matching_files(self, ctx: ScanContext) -> list[str]:
        """The files in scope that match `file_patterns` (all of them without patterns)."""
        patterns = self.spec.file_patterns if self.spec else ()
        if not patterns:
            return list(ctx.files)
        return [f for f in ctx.files if matches_any(f, patterns)]

    def version(self) -> str | None:
        if self.spec is None:
            return None
        if self.spec.version_command is None:
            # No way to ask; say whether the tool is there at all.
            return "unknown" if _executable(self.spec.command[0]) else None
        try:
            result = run_tool(self.spec.version_command, timeout=min(self.timeout, VERSION_TIMEOUT))
        except ScanFailure:
            return None
        lines = (result.stdout.strip() or result.stderr.strip()).splitlines()
        return lines[0].strip()[:100] if lines else None

    def run(self, ctx: ScanContext) -> RunOutput:
        spec = self._checked_spec()
        files = self.matching_files(ctx)
        if spec.takes_files and not files:
            return RunOutput([], notes=[f"{spec.name}: no files match {list(spec.file_patterns)}"])
        ctx.work_dir.mkdir(parents=True, exist_ok=True)
        total = IngestResult()
        with tempfile.TemporaryDirectory(prefix=f"pg-{spec.name}-", dir=ctx.work_dir) as tmp:
            output = Path(tmp) / "output.sarif"
            for batch in argv_batches(files, ARGV_BUDGET) if spec.takes_files else [[]]:
                part = self._run_once(spec, ctx, output, batch)
                total.findings += part.findings
                total.notes += part.notes
                total.redact += part.redact
        if ctx.restricted and not spec.takes_files:
            _keep_in_scope(total, ctx.files, spec.name)
        return RunOutput(total.findings, notes=total.notes, redact=total.redact)

    def _checked_spec(self) -> CommandSpec:
        if self.spec is None:
            raise ScanFailure(
                "config",
                f"custom_scanners entry {self.name!r}: " + "; ".join(self._problems),
            )
        return self.spec

    def _run_once(
        self, spec: CommandSpec, ctx: ScanContext, output: Path, files: Sequence[str]
    ) -> IngestResult:
        argv = expand_command(spec.command, root=ctx.root, output=output, files=files)
        output.unlink(missing_ok=True)
        result = run_tool(argv, timeout=self.timeout, cwd=ctx.root, ok_codes=spec.ok_exit_codes)
        if spec.output_file:
            if not output.is_file():
                raise ScanFailure(
                    "parse",
                    f"{spec.name} exited with code {result.returncode} but wrote no SARIF "
                    f"to {output}",
                    result.stderr[-2000:],
                )
            text = output.read_text(encoding="utf-8", errors="replace")
            source = f"{spec.name}'s SARIF file"
        else:
            text, source = result.stdout, f"{spec.name}'s output"
        doc = parse_sarif(text, source)
        return ingest_sarif(
            doc,
            ctx=ctx,
            scanner=spec.name,
            category=spec.category,
            severity_overrides=spec.severity,
        )


def _keep_in_scope(result: IngestResult, files: Sequence[str], name: str) -> None:
    """A tool that scanned the whole root in a restricted (staged/changed files) scan:
    keep only what it found in the files in scope, and say how much was left out."""
    in_scope = set(files)
    kept = [f for f in result.findings if f.location.path in in_scope]
    dropped = len(result.findings) - len(kept)
    if dropped:
        result.notes.append(
            f"{name}: {dropped} finding(s) in files outside this scan's scope were left out"
        )
    result.findings = kept


# --- options --------------------------------------------------------------------------------


def validate_options(options: Mapping[str, Any]) -> list[str]:
    """Every problem with one `custom_scanners` entry, as messages a person can act on."""
    problems = [_unknown_key(k) for k in options if k not in OPTION_KEYS]
    name = options.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        problems.append(
            f"name must be 1-64 letters, digits, '_', '.' or '-' (starting with a letter or "
            f"digit), not {name!r}"
        )
    problems += _command_problems(options.get("command"), "command", allow_placeholders=True)
    if "version_command" in options:
        problems += _command_problems(
            options["version_command"], "version_command", allow_placeholders=False
        )
    output = options.get("output", "stdout")
    if output not in ("stdout", "{output}"):
        problems.append(f'output must be "stdout" or "{{output}}", not {output!r}')
    elif output == "{output}" and not any(
        "{output}" in a for a in _strings(options.get("command"))
    ):
        problems.append('output is "{output}" but the command never mentions {output}')
    if options.get("category", "sast") not in {c.value for c in Category}:
        choices = ", ".join(c.value for c in Category)
        problems.append(f"category must be one of {choices}, not {options.get('category')!r}")
    problems += _list_problems(options, "file_patterns", str, "glob strings")
    problems += _list_problems(options, "ok_exit_codes", int, "integers")
    if "timeout" in options and not _is_timeout(options["timeout"]):
        problems.append(f"timeout must be a positive number of seconds, not {options['timeout']!r}")
    problems += _severity_problems(options.get("severity", {}))
    return problems


def read_spec(options: Mapping[str, Any]) -> CommandSpec:
    """The checked entry; call `validate_options` first (ValueError if it has problems)."""
    problems = validate_options(options)
    if problems:
        raise ValueError("; ".join(problems))
    version_command = options.get("version_command")
    return CommandSpec(
        name=options["name"],
        command=tuple(options["command"]),
        output_file=options.get("output", "stdout") == "{output}",
        category=Category(options.get("category", "sast")),
        file_patterns=tuple(options.get("file_patterns") or ()),
        ok_exit_codes=tuple(options.get("ok_exit_codes", DEFAULT_OK_EXIT_CODES)),
        version_command=tuple(version_command) if version_command else None,
        severity={
            str(k): Severity.parse(str(v)) for k, v in (options.get("severity") or {}).items()
        },
    )


def _unknown_key(key: str) -> str:
    close = difflib.get_close_matches(str(key), OPTION_KEYS, n=1)
    hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(OPTION_KEYS)})"
    return f"unknown key {key!r}{hint}"


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _command_problems(value: object, key: str, *, allow_placeholders: bool) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return [f"{key} must be a non-empty list of strings (an argv, run without a shell)"]
    problems = []
    known = PLACEHOLDERS if allow_placeholders else ()
    for item in value:
        for found in _PLACEHOLDER_LIKE.findall(item):
            if found not in known:
                allowed = ", ".join(known) or "none"
                problems.append(f"{key}: unknown placeholder {found} (allowed here: {allowed})")
        if "{files}" in item and item != "{files}" and allow_placeholders:
            problems.append(f"{key}: {{files}} must be an item of its own, not part of {item!r}")
    if any(p in value[0] for p in PLACEHOLDERS):
        problems.append(f"{key}: the first item must be the program, not a placeholder")
    return problems


def _list_problems(options: Mapping[str, Any], key: str, kind: type[Any], what: str) -> list[str]:
    if key not in options:
        return []
    value = options[key]
    ok = isinstance(value, list) and all(
        isinstance(v, kind) and not isinstance(v, bool) for v in value
    )
    return [] if ok else [f"{key} must be a list of {what}, not {value!r}"]


def _severity_problems(value: object) -> list[str]:
    if not isinstance(value, Mapping):
        return ["severity must be a map of rule id -> critical|high|medium|low|info"]
    problems = []
    for rule_id, level in value.items():
        try:
            Severity.parse(str(level))
        except ValueError as exc:
            problems.append(f"severity.{rule_id}: {exc}")
    return problems


def _is_timeout(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _executable(program: str) -> bool:
    return Path(program).is_file() if "/" in program else find_tool(program) is not None


# --- running ---------------------------------------------------------------------------------


def expand_command(
    command: Sequence[str], *, root: Path, output: Path, files: Sequence[str]
) -> list[str]:
    """The argv with placeholders filled in; `{files}` becomes one item per file."""
    argv: list[str] = []
    for item in command:
        if item == "{files}":
            # "./" keeps a file named like an option ("-rf") from being read as one
            argv.extend(f"./{f}" if f.startswith("-") else f for f in files)
        else:
            argv.append(item.replace("{root}", str(root)).replace("{output}", str(output)))
    return argv
