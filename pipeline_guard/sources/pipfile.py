"""Pipenv's `Pipfile.lock` (JSON): `default` and `develop` sections of `==` pins."""

from __future__ import annotations

from typing import Any

from pipeline_guard.sources._positions import LinedDict, load_json
from pipeline_guard.sources.base import (
    Dependency,
    ManifestError,
    NotChecked,
    ParsedManifest,
    basename,
)

_NON_REGISTRY = ("git", "path", "file", "hg", "svn", "bzr")


class PipfileLockSource:
    """Pipfile.lock: every section but `_meta` is a category; `develop` is dev."""

    name = "Pipfile.lock"
    ecosystem = "PyPI"

    def matches(self, path: str) -> bool:
        return basename(path) == "Pipfile.lock"

    def parse(self, path: str, text: str) -> ParsedManifest:
        data = load_json(path, text)
        if not isinstance(data, LinedDict):
            raise ManifestError(path, 1, "expected a JSON object with `default`/`develop`")
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        for section, packages in data.items():
            if section == "_meta":
                continue
            if not isinstance(packages, LinedDict):
                raise ManifestError(path, data.line_of(section), f"`{section}` is not an object")
            for name, entry in packages.items():
                self._entry(manifest, section, name, entry, packages.line_of(name))
        return manifest

    def _entry(
        self, manifest: ParsedManifest, section: str, name: str, entry: Any, line: int
    ) -> None:
        if not isinstance(entry, dict):
            raise ManifestError(manifest.path, line, f"package `{name}` is not an object")
        version = entry.get("version")
        if isinstance(version, str) and version.startswith("=="):
            manifest.dependencies.append(
                Dependency(
                    self.ecosystem,
                    name,
                    version.lstrip("="),
                    manifest.path,
                    line,
                    dev=section == "develop",
                    scope=section,
                )
            )
            return
        kind = next((k for k in _NON_REGISTRY if k in entry), None)
        reason = f"{kind} source" if kind else "no pinned version"
        manifest.not_checked.append(NotChecked(manifest.path, line, name, reason, name=name))
