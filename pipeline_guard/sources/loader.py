"""Read the manifests of a tree: pick the parser, follow includes, collect errors.

One malformed file never hides the others: its `ManifestError` is collected
and the rest are still parsed. Includes (`-r`, `-c`) are followed cycle-safely
and only inside the scan root.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from pipeline_guard.sources.base import (
    Dependency,
    DependencySource,
    ManifestError,
    NotChecked,
    ParsedManifest,
)
from pipeline_guard.sources.registry import source_for


@dataclass
class Collected:
    """Every manifest read from a tree, and every file that could not be read."""

    manifests: list[ParsedManifest] = field(default_factory=list)
    errors: list[ManifestError] = field(default_factory=list)

    @property
    def dependencies(self) -> list[Dependency]:
        """All dependencies, each (manifest, line, name, version) once."""
        seen: set[tuple[str, int, str, str]] = set()
        out = []
        for manifest in self.manifests:
            for dep in manifest.dependencies:
                key = (dep.manifest, dep.line, dep.name, dep.version)
                if key not in seen:
                    seen.add(key)
                    out.append(dep)
        return out

    @property
    def not_checked(self) -> list[NotChecked]:
        seen: set[NotChecked] = set()
        out = []
        for manifest in self.manifests:
            for item in manifest.not_checked:
                if item not in seen:
                    seen.add(item)
                    out.append(item)
        return out

    @property
    def notes(self) -> list[str]:
        return list(dict.fromkeys(n for m in self.manifests for n in m.notes))


def manifest_files(files: tuple[str, ...] | list[str]) -> list[tuple[str, DependencySource]]:
    """The files a parser understands, minus those a sibling file supersedes."""
    present = set(files)
    out = []
    for rel in files:
        source = source_for(rel)
        if source is None:
            continue
        directory = posixpath.dirname(rel)
        superseded = getattr(source, "superseded_by", ())
        if any(posixpath.join(directory, name) in present for name in superseded):
            continue
        out.append((rel, source))
    return out


def collect(root: Path, files: tuple[str, ...] | list[str]) -> Collected:
    """Parse every supported manifest among `files` (relative to `root`)."""
    result = Collected()
    for rel, source in manifest_files(files):
        if not _inside(root, rel):
            result.errors.append(
                ManifestError(rel, None, "a symlink out of the scan root: not read")
            )
            continue
        try:
            result.manifests.append(load(root, rel, source))
        except ManifestError as exc:
            result.errors.append(exc)
    return result


def load(root: Path, rel: str, source: DependencySource) -> ParsedManifest:
    """Parse one manifest and everything it includes, merged into one result."""
    return _load(root, rel, source, frozenset())


def _load(root: Path, rel: str, source: DependencySource, chain: frozenset[str]) -> ParsedManifest:
    manifest = source.parse(rel, read_text(root, rel))
    chain = chain | {rel}
    constraints: list[Dependency] = []
    for include in manifest.includes:
        if include.path in chain:
            manifest.notes.append(
                f"{rel}:{include.line} includes {include.path}, which includes it back: "
                "the cycle was not followed again"
            )
            continue
        if not _inside(root, include.path):
            manifest.not_checked.append(
                NotChecked(rel, include.line, include.path, "include outside the scan root")
            )
            continue
        try:
            child = _load(root, include.path, source, chain)
        except ManifestError as exc:
            if exc.path == include.path and exc.line is None:
                # The included file itself is unreadable: the include line is at fault.
                raise ManifestError(
                    rel, include.line, f"included file {include.path}: {exc.message}"
                ) from None
            raise
        if include.constraint:
            constraints.extend(child.dependencies)
            manifest.notes.extend(child.notes)
        else:
            _merge(manifest, child)
    if constraints:
        _apply_constraints(manifest, constraints)
    return manifest


def _merge(into: ParsedManifest, child: ParsedManifest) -> None:
    into.dependencies.extend(child.dependencies)
    into.not_checked.extend(child.not_checked)
    into.notes.extend(child.notes)


def _apply_constraints(manifest: ParsedManifest, constraints: list[Dependency]) -> None:
    """An unpinned requirement pinned by a `-c` file is checked at the constrained version.

    The finding points at the constraints file's line: that is where the
    version lives and where the upgrade is made.
    """
    pins = {canonicalize_name(dep.name): dep for dep in constraints}
    remaining = []
    for item in manifest.not_checked:
        pin = (
            pins.get(canonicalize_name(item.name))
            if item.name and item.reason == "unpinned"
            else None
        )
        if pin is None:
            remaining.append(item)
        else:
            manifest.dependencies.append(pin)
    manifest.not_checked = remaining


def read_text(root: Path, rel: str) -> str:
    """A manifest's text; unreadable or non-UTF-8 files are ManifestErrors."""
    try:
        return (root / rel).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(rel, None, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ManifestError(rel, None, f"cannot read ({exc.strerror})") from None


def _inside(root: Path, rel: str) -> bool:
    """Does `rel` stay inside `root` once symlinks are resolved?"""
    base = root.resolve()
    return (root / rel).resolve().is_relative_to(base)
