"""The `secrets` scanner: pipeline-guard's own credential detector over the files in scope.

Severity comes from the detector table in `pipeline_guard.secrets.detectors` (critical for
live cloud/provider keys and private keys, high for narrower provider keys and passwords
in URLs, medium for JWTs and generic assignments); `severity:` overrides it per detector id.

Options (the `secrets:` section of pipeline-guard.yml):

- `max_file_size` (int, bytes, default 2097152): larger files are not read; each is named
  in a note.
- `entropy_threshold` (float, bits per character, default 3.0): the minimum Shannon
  entropy of a value for the generic detectors.
- `exclude_detectors` (list of detector ids, default []): detectors not to run.
- `include_generic` (bool, default true): run the generic, name-based detectors.
- `severity` (map of detector id -> critical|high|medium|low|info).
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import pipeline_guard
from pipeline_guard.model import Category, Finding, Location, Severity
from pipeline_guard.scanner import RunOutput, ScanContext, ScanFailure, Scanner
from pipeline_guard.secrets.detectors import (
    CWE,
    DEFAULT_ENTROPY_THRESHOLD,
    DETECTOR_IDS,
    DETECTORS,
    Detector,
)
from pipeline_guard.secrets.engine import (
    DEFAULT_MAX_FILE_SIZE,
    FileScan,
    SecretMatch,
    SecretsEngine,
)

#: how many paths a note about skipped files lists before "and N more"
NOTE_PATHS = 10


@dataclass(frozen=True)
class SecretsSettings:
    """The scanner's options, checked."""

    detectors: tuple[Detector, ...]
    entropy_threshold: float
    max_file_size: int
    severity: Mapping[str, Severity]


class SecretsScanner(Scanner):
    """Finds credentials with the built-in detector table."""

    name = "secrets"
    category = Category.SECRET
    description = (
        "built-in credential detector (cloud and provider keys, private keys, JWTs, "
        "passwords in URLs, entropy-gated secret assignments)"
    )
    fast = True
    file_local = True

    def applies(self, ctx: ScanContext) -> bool:
        return bool(ctx.files)

    def version(self) -> str | None:
        return pipeline_guard.__version__

    def run(self, ctx: ScanContext) -> RunOutput:
        settings = read_settings(self.options)
        engine = SecretsEngine(
            settings.detectors,
            entropy_threshold=settings.entropy_threshold,
            max_file_size=settings.max_file_size,
        )
        findings: list[Finding] = []
        redact: dict[str, None] = {}  # ordered set
        skipped: defaultdict[str, list[FileScan]] = defaultdict(list)
        for rel in ctx.files:
            path = ctx.relative(rel)
            if _outside_root(path):
                skipped["outside"].append(FileScan(path, skipped="outside"))
                continue
            result = engine.scan_file(ctx.root / path, path)
            if result.skipped:
                skipped[result.skipped].append(result)
                continue
            findings.extend(self._finding(result.path, m, settings) for m in result.matches)
            redact.update(dict.fromkeys(result.redact))
        notes = _notes(skipped, settings.max_file_size)
        return RunOutput(findings, notes=notes, redact=list(redact))

    def _finding(self, path: str, match: SecretMatch, settings: SecretsSettings) -> Finding:
        det = match.detector
        return Finding(
            scanner=self.name,
            category=self.category,
            rule_id=det.id,
            title=det.title,
            message=f"{det.title} in {path} at line {match.start_line}. {det.advice}",
            severity=settings.severity.get(det.id, det.severity),
            location=Location(
                path=path,
                start_line=match.start_line,
                end_line=match.end_line,
                start_column=match.start_column,
                end_column=match.end_column,
                snippet=match.snippet,
            ),
            confidence=det.confidence,
            cwes=(CWE,),
            help_url=det.help_url,
            tags=("secret", *det.tags),
        )


def read_settings(options: Mapping[str, Any]) -> SecretsSettings:
    """Check the scanner's options; ScanFailure("config") names the bad key."""
    max_size = options.get("max_file_size", DEFAULT_MAX_FILE_SIZE)
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size <= 0:
        raise ScanFailure(
            "config", f"secrets.max_file_size must be a positive number of bytes, not {max_size!r}"
        )
    threshold = options.get("entropy_threshold", DEFAULT_ENTROPY_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ScanFailure(
            "config", f"secrets.entropy_threshold must be a number, not {threshold!r}"
        )
    if not 0 <= threshold <= 8:
        raise ScanFailure(
            "config",
            f"secrets.entropy_threshold must be between 0 and 8 bits per character, not "
            f"{threshold}",
        )
    include_generic = options.get("include_generic", True)
    if not isinstance(include_generic, bool):
        raise ScanFailure(
            "config", f"secrets.include_generic must be true or false, not {include_generic!r}"
        )
    excluded = set(_detector_ids(options.get("exclude_detectors", []), "exclude_detectors"))
    detectors = tuple(
        d for d in DETECTORS if d.id not in excluded and (include_generic or not d.generic)
    )
    return SecretsSettings(
        detectors=detectors,
        entropy_threshold=float(threshold),
        max_file_size=max_size,
        severity=_severity_overrides(options.get("severity", {})),
    )


def _detector_ids(value: object, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScanFailure("config", f"secrets.{key} must be a list of detector ids")
    for detector_id in value:
        _check_id(detector_id, key)
    return value


def _check_id(detector_id: str, key: str) -> None:
    if detector_id not in DETECTOR_IDS:
        close = difflib.get_close_matches(detector_id, DETECTOR_IDS, n=1)
        hint = f"; did you mean {close[0]}?" if close else f" (known: {', '.join(DETECTOR_IDS)})"
        raise ScanFailure("config", f"secrets.{key}: unknown detector {detector_id!r}{hint}")


def _severity_overrides(value: object) -> dict[str, Severity]:
    if not isinstance(value, Mapping):
        raise ScanFailure("config", "secrets.severity must be a map of detector id -> severity")
    out: dict[str, Severity] = {}
    for detector_id, level in value.items():
        _check_id(str(detector_id), "severity")
        try:
            out[str(detector_id)] = Severity.parse(str(level))
        except ValueError as exc:
            raise ScanFailure("config", f"secrets.severity.{detector_id}: {exc}") from None
    return out


def _outside_root(path: str) -> bool:
    p = PurePosixPath(path)
    return p.is_absolute() or ".." in p.parts


def _listing(paths: Iterable[str]) -> str:
    paths = list(paths)
    shown = ", ".join(paths[:NOTE_PATHS])
    more = len(paths) - NOTE_PATHS
    return shown + (f" and {more} more" if more > 0 else "")


def _notes(skipped: Mapping[str, list[FileScan]], max_size: int) -> list[str]:
    """One note per kind of skipped file, naming them: not scanned is never silent."""
    notes = [
        f"{s.path} not scanned for secrets: {s.detail} is over max_file_size ({max_size} "
        "bytes); raise secrets.max_file_size or exclude the file"
        for s in skipped.get("too-large", [])
    ]
    notes += [
        f"{s.path} not scanned for secrets: cannot read it ({s.detail})"
        for s in skipped.get("unreadable", [])
    ]
    reasons = {
        "binary": "binary files (a NUL byte in the first 8 KiB)",
        "symlink": "symbolic links (their targets are scanned under their own names)",
        "outside": "paths outside the scan root",
    }
    for kind, why in reasons.items():
        if skipped.get(kind):
            paths = [s.path for s in skipped[kind]]
            notes.append(f"{len(paths)} {why} not scanned for secrets: {_listing(paths)}")
    return notes
