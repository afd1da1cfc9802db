"""pip requirements files (`requirements*.txt`, `requirements/*.txt`).

Follows pip's own reading order: join `\\` continuations, drop comments, then
one requirement or option per line. Only `==`/`===` pins name an exact
version; anything else is reported as not checked. Environment markers are
not evaluated (the target interpreter is unknown), so a pin guarded by a
marker is still checked: a false alarm is visible, a skipped pin is not.
`-r`/`-c` includes are returned as `Include`s; the loader follows them.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pipeline_guard.sources.base import (
    Dependency,
    Include,
    ManifestError,
    NotChecked,
    ParsedManifest,
    basename,
)

_COMMENT = re.compile(r"(^|\s+)#.*$")
_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?<=^-[rc]))(\S+)$")
_EDITABLE = re.compile(r"^(-e|--editable)(\s|=)")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_ARCHIVE = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2")


@dataclass(frozen=True)
class _Line:
    number: int  # 1-based line of the first physical line
    text: str


class RequirementsSource:
    """pip requirements files."""

    name = "requirements.txt"
    ecosystem = "PyPI"

    def matches(self, path: str) -> bool:
        base = basename(path).lower()
        if not base.endswith(".txt"):
            return False
        parent = posixpath.basename(posixpath.dirname(path)).lower()
        return "requirements" in base or parent == "requirements"

    def parse(self, path: str, text: str) -> ParsedManifest:
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        for line in _logical_lines(text):
            self._parse_line(manifest, line)
        return manifest

    def _parse_line(self, manifest: ParsedManifest, line: _Line) -> None:
        text = line.text
        include = _INCLUDE.match(text)
        if include:
            self._include(manifest, line, include.group(1), include.group(2))
        elif _EDITABLE.match(text):
            _skip(manifest, line, text, "editable install")
        elif text.startswith("-"):
            return  # a global option (--index-url, --pre, ...): installs nothing
        else:
            _requirement(manifest, line, _strip_options(text))

    def _include(self, manifest: ParsedManifest, line: _Line, flag: str, target: str) -> None:
        constraint = flag in ("-c", "--constraint")
        if _URL.match(target):
            _skip(manifest, line, line.text, "remote include not followed")
            return
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(manifest.path), target))
        if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
            _skip(manifest, line, line.text, "include outside the scan root not followed")
            return
        manifest.includes.append(Include(line.number, resolved, constraint))


def _logical_lines(text: str) -> list[_Line]:
    """Join continuations and strip comments, keeping each entry's first line number."""
    out: list[_Line] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not pending:
            start = number
        if line.endswith("\\") and not line.lstrip().startswith("#"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        joined = _COMMENT.sub("", "".join(pending)).strip()
        pending = []
        if joined:
            out.append(_Line(start, joined))
    if pending:
        joined = _COMMENT.sub("", "".join(pending)).strip()
        if joined:
            out.append(_Line(start, joined))
    return out


def _strip_options(text: str) -> str:
    """Drop per-requirement options (`--hash=...`), as pip's break_args_options does."""
    kept = []
    for token in text.split(" "):
        if token.startswith("-"):
            break
        kept.append(token)
    return " ".join(kept).strip()


def _skip(manifest: ParsedManifest, line: _Line, text: str, reason: str) -> None:
    manifest.not_checked.append(NotChecked(manifest.path, line.number, text, reason))


def _requirement(manifest: ParsedManifest, line: _Line, text: str) -> None:
    if "${" in text:
        _skip(manifest, line, text, "environment variable not expanded")
        return
    lowered = text.lower()
    if _URL.match(text) or text.startswith((".", "/")) or lowered.endswith(_ARCHIVE):
        _skip(manifest, line, text, "URL or local path")
        return
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise ManifestError(
            manifest.path, line.number, f"invalid requirement {text!r}: {str(exc).splitlines()[0]}"
        ) from None
    name = canonicalize_name(req.name)
    if req.url:
        manifest.not_checked.append(
            NotChecked(manifest.path, line.number, text, "direct URL", name=name)
        )
        return
    version = _pinned_version(req)
    if version is None:
        manifest.not_checked.append(
            NotChecked(manifest.path, line.number, text, "unpinned", name=name)
        )
        return
    manifest.dependencies.append(
        Dependency("PyPI", req.name, version, manifest.path, line.number, direct=None)
    )


def _pinned_version(req: Requirement) -> str | None:
    """The exact version an `==`/`===` specifier pins, or None."""
    pins = [s for s in req.specifier if s.operator in ("==", "===") and "*" not in s.version]
    if len(pins) != 1:
        return None
    return pins[0].version
