"""The scanner contract and the shared mechanics every adapter uses.

An adapter reads like a recipe: build argv, `run_tool`, parse, return findings.
It signals trouble by raising `ScanFailure`; `Scanner.scan` turns that (and any
unexpected exception) into a `ScannerError` inside the run, so one broken tool
never stops the others and never looks like "zero findings".
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pipeline_guard.model import Category, Finding, ScannerError, ScannerRun

DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class ScanContext:
    """What a scan is about, handed to every scanner.

    `files` are paths relative to `root` (POSIX), already filtered by the
    config's excludes; `restricted` says they are a subset (staged or changed
    files) rather than the whole tree, so tree-wide tools should scan only them.
    """

    root: Path
    files: tuple[str, ...]
    stage: str = "release"
    work_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    restricted: bool = False
    images: tuple[str, ...] = ()
    db_path: Path | None = None

    def relative(self, path: str | Path) -> str:
        """A tool-reported path as a POSIX path relative to the scan root."""
        p = Path(path)
        if p.is_absolute():
            try:
                p = p.resolve().relative_to(self.root.resolve())
            except ValueError:
                return p.as_posix()
        rel = p.as_posix()
        return rel[2:] if rel.startswith("./") else rel

    def files_matching(self, suffixes: Sequence[str] = (), names: Sequence[str] = ()) -> list[str]:
        """Files whose name ends with one of `suffixes` or equals one of `names`."""
        out = []
        for rel in self.files:
            base = rel.rsplit("/", 1)[-1]
            if base in names or (suffixes and base.lower().endswith(tuple(suffixes))):
                out.append(rel)
        return out


class ScanFailure(Exception):
    """Raised by an adapter when its tool failed; becomes a ScannerError."""

    def __init__(self, kind: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail


@dataclass
class RunOutput:
    """What `Scanner.run` returns when it has more to say than a list of findings."""

    findings: list[Finding]
    notes: list[str] = field(default_factory=list)  # e.g. inputs not checked, and why
    redact: list[str] = field(default_factory=list)  # raw secret values to scrub everywhere
    # Failures that did not stop the rest of the scan (a malformed lockfile among
    # good ones): reported like any scanner error, and the findings are kept.
    errors: list[ScanFailure] = field(default_factory=list)
    # Reference data the scanner relied on is missing or out of date (a stale
    # vulnerability DB): a warning, and a gate failure where the stage says so.
    stale_data: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ToolResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration: float


def find_tool(name: str) -> str | None:
    """Locate an executable, preferring the environment pipeline-guard runs in.

    The scanners are installed next to us in the same venv, which may not be on
    PATH (e.g. `.venv/bin/pipeline-guard` called by absolute path).
    """
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def run_tool(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    ok_codes: Sequence[int] = (0,),
) -> ToolResult:
    """Run a tool with an argument list (never a shell) and a timeout.

    Raises ScanFailure for a missing binary, a timeout, or an exit code outside
    `ok_codes`, with the tail of stderr as detail.
    """
    exe = find_tool(argv[0]) if "/" not in argv[0] else argv[0]
    if exe is None:
        raise ScanFailure(
            "missing",
            f"{argv[0]} is not installed (not found next to {sys.executable} nor on PATH)",
        )
    full_env = dict(os.environ)
    full_env.update(env or {})
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [exe, *argv[1:]],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ScanFailure(
            "timeout", f"{argv[0]} did not finish within {timeout:g}s", _tail(exc.stderr)
        ) from None
    except OSError as exc:
        raise ScanFailure("missing", f"cannot run {exe}: {exc}") from None
    result = ToolResult(
        argv=tuple(argv),
        returncode=proc.returncode,
        stdout=proc.stdout.decode("utf-8", "replace"),
        stderr=proc.stderr.decode("utf-8", "replace"),
        duration=time.monotonic() - started,
    )
    if result.returncode not in ok_codes:
        raise ScanFailure(
            "crash",
            f"{argv[0]} exited with code {result.returncode}",
            _tail(result.stderr) or _tail(result.stdout),
        )
    return result


_VERSION = re.compile(r"\d+(?:\.\d+)+\S*")


def tool_version(
    name: str, *, distribution: str | None = None, env: Mapping[str, str] | None = None
) -> str | None:
    """A tool's version, or None when it is not installed. Cached per process.

    When the tool lives in our own environment, the package metadata of
    `distribution` answers at once (`checkov --version` takes seconds).
    """
    return _tool_version(name, distribution, tuple(sorted((env or {}).items())))


@functools.cache
def _tool_version(
    name: str, distribution: str | None, env: tuple[tuple[str, str], ...]
) -> str | None:
    exe = find_tool(name)
    if exe is None:
        return None
    if distribution and Path(exe).parent == Path(sys.executable).parent:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(distribution)
        except PackageNotFoundError:
            pass
    try:
        result = run_tool([exe, "--version"], timeout=120, env=dict(env))
    except ScanFailure:
        return None
    match = _VERSION.search(result.stdout)
    return match.group(0) if match else None


#: bytes of file arguments per tool invocation; far below Linux's ARG_MAX (2 MiB)
ARGV_BUDGET = 512 * 1024


def argv_batches(items: Sequence[str], budget: int = ARGV_BUDGET) -> Iterator[list[str]]:
    """Split a list of file arguments so each invocation stays under `budget` bytes."""
    batch: list[str] = []
    size = 0
    for item in items:
        cost = len(item.encode("utf-8")) + 1
        if batch and size + cost > budget:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += cost
    if batch:
        yield batch


def load_json_report(stdout: str, tool: str, stderr: str = "") -> dict[str, Any]:
    """A tool's JSON report with a `results` list; ScanFailure("parse") otherwise."""
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise ScanFailure(
            "parse",
            f"{tool} printed something that is not JSON ({exc})",
            (stdout[:2000] + "\n" + stderr[-2000:]).strip(),
        ) from None
    if not isinstance(report, dict) or not isinstance(report.get("results"), list):
        raise ScanFailure("parse", f"{tool}'s JSON has no 'results' list", stdout[:2000])
    return report


def _tail(text: str | bytes | None, lines: int = 15) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "\n".join(text.strip().splitlines()[-lines:])


class Scanner(ABC):
    """One security tool behind the common interface.

    Subclasses set `name` and `category`, and implement `applies`, `version`
    and `run`. `options` is the scanner's section of pipeline-guard.yml.
    """

    # Plain attributes, not ClassVars: a configured SARIF tool sets them per instance.
    name: str
    category: Category
    description: ClassVar[str] = ""
    #: fast scanners run in the precommit stage by default
    fast: ClassVar[bool] = False
    #: each file's findings depend only on that file (and the rules): the result
    #: cache then keeps them per file, so an unchanged file is never scanned twice
    file_local: ClassVar[bool] = False

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options: Mapping[str, Any] = options or {}
        self.timeout = float(self.options.get("timeout", DEFAULT_TIMEOUT))

    @abstractmethod
    def applies(self, ctx: ScanContext) -> bool:
        """Are there files (or images) here that this scanner understands?"""

    @abstractmethod
    def version(self) -> str | None:
        """The tool's version, or None when it is not installed."""

    @abstractmethod
    def run(self, ctx: ScanContext) -> list[Finding] | RunOutput:
        """Scan and return findings (or a RunOutput with notes); raise ScanFailure on failure."""

    def installed(self) -> bool:
        return self.version() is not None

    def targets(self, ctx: ScanContext) -> int:
        """How many inputs this scanner will look at (for the 'why nothing ran' answer)."""
        return len(ctx.files)

    def scan(self, ctx: ScanContext) -> ScannerRun:
        """Run the scanner, never raising: failures become ScannerErrors."""
        started = time.monotonic()
        output = RunOutput([])
        errors: list[ScannerError] = []
        version: str | None = None
        try:
            version = self.version()
            result = self.run(ctx)
            output = result if isinstance(result, RunOutput) else RunOutput(result)
            errors.extend(
                ScannerError(self.name, e.kind, e.message, e.detail) for e in output.errors
            )
        except ScanFailure as exc:
            errors.append(ScannerError(self.name, exc.kind, exc.message, exc.detail))
        except Exception as exc:  # an adapter bug must not take the others down
            errors.append(
                ScannerError(self.name, "crash", f"internal error: {type(exc).__name__}: {exc}")
            )
        return ScannerRun(
            scanner=self.name,
            category=self.category,
            tool_version=version,
            findings=tuple(output.findings),
            errors=tuple(errors),
            duration=time.monotonic() - started,
            targets=self.targets(ctx),
            notes=tuple(output.notes),
            redact=tuple(output.redact),
            stale_data=tuple(output.stale_data),
        )
