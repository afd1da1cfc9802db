"""Scanning one file (or its bytes, or its text) for credentials.

Speed: each detector's patterns start with a literal, which the regex engine finds with
its fast literal scan (the per-detector prefilter); each pattern runs once over the whole
text in C rather than line by line in Python; patterns of name-based detectors run on a
lowercased copy instead of using IGNORECASE (which disables the literal scan); and line
numbers are computed only for files that have a match.
"""

from __future__ import annotations

import codecs
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline_guard.secrets.allowlist import KNOWN_EXAMPLES, is_placeholder, shannon_entropy
from pipeline_guard.secrets.detectors import (
    DEFAULT_ENTROPY_THRESHOLD,
    DETECTORS,
    Detector,
    Hit,
    is_config_file,
)
from pipeline_guard.secrets.redact import Scrubber

DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024
BINARY_PROBE = 8192
#: a snippet shows at most this many characters either side of the flagged text
SNIPPET_CONTEXT = 80

# Generated lockfiles: their integrity hashes are random by construction, so they are
# blanked before scanning. The rest of the file is still scanned because lockfiles do
# leak real credentials, e.g. a private registry token in a `resolved` URL.
LOCKFILES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lock",
        "poetry.lock",
        "pipfile.lock",
        "pdm.lock",
        "uv.lock",
        "go.sum",
        "cargo.lock",
        "composer.lock",
        "gemfile.lock",
        "packages.lock.json",
        "gradle.lockfile",
        "mix.lock",
        "pubspec.lock",
        "podfile.lock",
        "flake.lock",
        "package.resolved",
    }
)
# npm/yarn/pnpm integrity, pip/poetry/uv hashes, go.sum h1: hashes. Hex checksums are left
# alone: no detector fires on plain hex.
_HASH_FIELD = re.compile(r"(?:sha(?:1|224|256|384|512)|md5|h1)[-:][A-Za-z0-9+/=_-]{16,}")


@dataclass(frozen=True)
class SecretMatch:
    """One credential found in a file. Carries no raw value except in `redact`."""

    detector: Detector
    start_line: int
    start_column: int  # 1-based
    end_line: int
    end_column: int  # 1-based, exclusive (as in SARIF regions)
    snippet: str  # the flagged line with every secret on it masked
    redact: tuple[str, ...] = field(repr=False)  # raw strings to scrub from every output


@dataclass(frozen=True)
class FileScan:
    """The result for one file: its matches, or why it was not scanned."""

    path: str
    matches: tuple[SecretMatch, ...] = ()
    skipped: str | None = None  # "binary", "too-large", "unreadable", "symlink"
    detail: str = ""

    @property
    def redact(self) -> tuple[str, ...]:
        """Every raw string the file's matches ask to have scrubbed from all outputs."""
        return tuple(v for m in self.matches for v in m.redact)


@dataclass(frozen=True)
class _Candidate:
    detector: Detector
    hit: Hit

    @property
    def span(self) -> tuple[int, int]:
        return self.hit.span("secret")


class SecretsEngine:
    """Finds credentials in text with a table of detectors."""

    def __init__(
        self,
        detectors: Sequence[Detector] = DETECTORS,
        *,
        entropy_threshold: float = DEFAULT_ENTROPY_THRESHOLD,
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    ) -> None:
        # Specific formats first: they win over a generic match of the same value.
        self.detectors = tuple(sorted(detectors, key=lambda d: d.generic))
        self.entropy_threshold = entropy_threshold
        self.max_file_size = max_file_size

    def scan_file(self, file: Path, path: str) -> FileScan:
        """Scan a file on disk; `path` is how it is named in the results."""
        try:
            if file.is_symlink():
                # A link's target is scanned under its own name if it is in the tree;
                # following it could read (and report) secrets from outside the root.
                return FileScan(path, skipped="symlink")
            size = file.stat().st_size
            if size > self.max_file_size:
                return FileScan(path, skipped="too-large", detail=f"{size} bytes")
            data = file.read_bytes()
        except OSError as exc:
            return FileScan(path, skipped="unreadable", detail=exc.strerror or str(exc))
        return self.scan_bytes(data, path)

    def scan_bytes(self, data: bytes, path: str = "") -> FileScan:
        """Scan file contents: binary and oversized data are skipped, not decoded."""
        if len(data) > self.max_file_size:
            return FileScan(path, skipped="too-large", detail=f"{len(data)} bytes")
        text = _decode(data)
        if text is None:
            return FileScan(path, skipped="binary")
        return FileScan(path, matches=tuple(self.scan_text(text, path)))

    def scan_text(self, text: str, path: str = "") -> list[SecretMatch]:
        """Every credential in `text`, in file order; `path` selects lockfile/config rules."""
        if path.rsplit("/", 1)[-1].lower() in LOCKFILES:
            text = _HASH_FIELD.sub(lambda m: " " * len(m.group(0)), text)
        candidates = _without_overlaps(self._candidates(text, is_config_file(path)))
        if not candidates:
            return []
        lines = _LineIndex(text)
        scrubber = Scrubber(v for c in candidates for v in _redact_values(c))
        return [_to_match(c, text, lines, scrubber) for c in candidates]

    def _candidates(self, text: str, config_file: bool) -> list[_Candidate]:
        lower = text.lower()
        # Lowercasing a few characters (e.g. "İ") changes the length, and so the offsets.
        aligned = len(lower) == len(text)
        found: list[_Candidate] = []
        for det in self.detectors:
            if det.config_files_only and not config_file:
                continue
            for pattern in det.patterns:
                if not det.lowercase:
                    matches = pattern.finditer(text)
                elif aligned:
                    matches = pattern.finditer(lower)
                else:
                    matches = _ignorecase(pattern).finditer(text)
                hits = (Hit(m, text) for m in matches)
                found.extend(_Candidate(det, h) for h in hits if self._ok(det, h))
        return found

    def _ok(self, det: Detector, hit: Hit) -> bool:
        # Cheapest rejections first: generic detectors see many names that are not secrets.
        if det.validate is not None and not det.validate(hit):
            return False
        value = hit.group()
        if value in KNOWN_EXAMPLES or (det.check_placeholders and is_placeholder(value)):
            return False
        threshold = self.entropy_threshold if det.generic else det.min_entropy
        return threshold is None or shannon_entropy(value) >= threshold


@lru_cache(maxsize=32)
def _ignorecase(pattern: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(pattern.pattern, pattern.flags | re.IGNORECASE)


def _decode(data: bytes) -> str | None:
    """Text of a file, or None for binary data. Never raises on bad encodings."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")  # UTF-16 text is full of NULs, yet text
    if b"\x00" in data[:BINARY_PROBE]:
        return None
    return data.decode("utf-8", "replace")


def _without_overlaps(candidates: list[_Candidate]) -> list[_Candidate]:
    """Keep the first-listed (most specific) detector where two flag the same text."""
    kept: list[_Candidate] = []  # sorted by span; kept spans never overlap
    starts: list[int] = []
    for cand in candidates:  # detector order: specific before generic
        start, end = cand.span
        i = bisect_right(starts, start)
        if i and kept[i - 1].span[1] > start:
            continue
        if i < len(kept) and kept[i].span[0] < end:
            continue
        kept.insert(i, cand)
        starts.insert(i, start)
    return kept


def _redact_values(cand: _Candidate) -> tuple[str, ...]:
    value = cand.hit.group()
    if cand.detector.redact_values is not None:
        return cand.detector.redact_values(value)
    return (value,)


class _LineIndex:
    """Offsets of line starts, for turning a match offset into line and column."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of `offset`."""
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def line_span(self, line: int) -> tuple[int, int]:
        start = self.starts[line - 1]
        end = self.starts[line] - 1 if line < len(self.starts) else len(self.text)
        return start, end


def _to_match(cand: _Candidate, text: str, lines: _LineIndex, scrubber: Scrubber) -> SecretMatch:
    start, end = cand.span
    start_line, start_col = lines.position(start)
    end_line, end_col = lines.position(end)
    return SecretMatch(
        detector=cand.detector,
        start_line=start_line,
        start_column=start_col,
        end_line=end_line,
        end_column=end_col,
        snippet=_snippet(text, lines, start_line, start, scrubber),
        redact=_redact_values(cand),
    )


def _snippet(text: str, lines: _LineIndex, line: int, offset: int, scrubber: Scrubber) -> str:
    """The flagged line, masked, cut to a window around the flagged text if it is long."""
    line_start, line_end = lines.line_span(line)
    raw = text[line_start:line_end].rstrip("\r")
    masked = scrubber(raw)
    if len(masked) <= 2 * SNIPPET_CONTEXT + 40:
        return masked
    # Mask first, then cut: cutting first could leave half of a secret unmasked.
    at = len(scrubber(raw[: offset - line_start]))
    lo, hi = max(0, at - SNIPPET_CONTEXT), at + SNIPPET_CONTEXT + 40
    return ("…" if lo else "") + masked[lo:hi] + ("…" if hi < len(masked) else "")
