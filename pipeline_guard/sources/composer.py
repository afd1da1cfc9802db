"""Composer's `composer.lock` (JSON): `packages` and `packages-dev`.

Versions are written as tagged (`v5.4.0`); the leading `v` is dropped as
Packagist advisories use bare versions. Branch checkouts (`dev-main`,
`1.x-dev`) are not releases and are reported as not checked.
"""

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


class ComposerLockSource:
    name = "composer.lock"
    ecosystem = "Packagist"

    def matches(self, path: str) -> bool:
        return basename(path) == "composer.lock"

    def parse(self, path: str, text: str) -> ParsedManifest:
        data = load_json(path, text)
        if not isinstance(data, LinedDict):
            raise ManifestError(path, 1, "expected a JSON object with `packages`")
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        for section in ("packages", "packages-dev"):
            entries = data.get(section) or []
            if not isinstance(entries, list):
                raise ManifestError(path, data.line_of(section), f"`{section}` is not a list")
            for entry in entries:
                _package(manifest, entry, dev=section == "packages-dev")
        return manifest


def _package(manifest: ParsedManifest, entry: Any, dev: bool) -> None:
    if not isinstance(entry, LinedDict) or not isinstance(entry.get("name"), str):
        line = entry.line if isinstance(entry, LinedDict) else None
        raise ManifestError(manifest.path, line, "a package entry has no `name`")
    name = entry["name"]
    line = entry.line_of("name")
    version = entry.get("version")
    if not isinstance(version, str) or not version:
        manifest.not_checked.append(NotChecked(manifest.path, line, name, "no version", name))
        return
    if version.startswith("dev-") or version.endswith("-dev"):
        manifest.not_checked.append(
            NotChecked(manifest.path, line, f"{name} {version}", "development branch", name)
        )
        return
    bare = version[1:] if version[:1] in "vV" and version[1:2].isdigit() else version
    manifest.dependencies.append(Dependency("Packagist", name, bare, manifest.path, line, dev=dev))
