"""Poetry's `poetry.lock` (TOML `[[package]]` tables).

Dev packages: lock files before Poetry 1.5 say `category = "dev"`; Poetry 2
says `groups = [...]` and a package outside the `main` group is dev-only.
Lock format 2.0 between them records neither, so every package counts as
production there.
"""

from __future__ import annotations

from typing import Any

from pipeline_guard.sources._tomllock import load_packages
from pipeline_guard.sources.base import Dependency, NotChecked, ParsedManifest, basename

_LOCAL_SOURCES = ("directory", "file")


class PoetryLockSource:
    name = "poetry.lock"
    ecosystem = "PyPI"

    def matches(self, path: str) -> bool:
        return basename(path) == "poetry.lock"

    def parse(self, path: str, text: str) -> ParsedManifest:
        _, packages = load_packages(path, text)
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        for pkg, line in packages:
            self._package(manifest, pkg, line)
        return manifest

    def _package(self, manifest: ParsedManifest, pkg: dict[str, Any], line: int) -> None:
        name = pkg["name"]
        version = pkg.get("version")
        source = pkg.get("source") or {}
        if source.get("type") in _LOCAL_SOURCES:
            reason = f"local {source['type']} dependency"
            manifest.not_checked.append(NotChecked(manifest.path, line, name, reason, name=name))
            return
        if not isinstance(version, str) or not version:
            manifest.not_checked.append(
                NotChecked(manifest.path, line, name, "no version", name=name)
            )
            return
        groups = pkg.get("groups")
        dev = pkg.get("category") == "dev" or (isinstance(groups, list) and "main" not in groups)
        scope = ",".join(groups) if isinstance(groups, list) else pkg.get("category")
        manifest.dependencies.append(
            Dependency(
                self.ecosystem,
                name,
                version,
                manifest.path,
                line,
                dev=dev,
                optional=bool(pkg.get("optional", False)),
                scope=scope,
            )
        )
