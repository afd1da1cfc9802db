"""PDM's `pdm.lock` (TOML `[[package]]` tables with `groups`).

A package outside the `default` group is counted as dev: the lock does not say
whether a non-default group is a dev group or an optional extra, and both are
left out of a production install (`pdm install --prod`). Lock files older than
PDM 2.8 have no `groups` and every package counts as production.
"""

from __future__ import annotations

from typing import Any

from pipeline_guard.sources._tomllock import load_packages
from pipeline_guard.sources.base import Dependency, NotChecked, ParsedManifest, basename


class PdmLockSource:
    name = "pdm.lock"
    ecosystem = "PyPI"

    def matches(self, path: str) -> bool:
        return basename(path) == "pdm.lock"

    def parse(self, path: str, text: str) -> ParsedManifest:
        _, packages = load_packages(path, text)
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        for pkg, line in packages:
            self._package(manifest, pkg, line)
        return manifest

    def _package(self, manifest: ParsedManifest, pkg: dict[str, Any], line: int) -> None:
        name = pkg["name"]
        if "path" in pkg:
            manifest.not_checked.append(
                NotChecked(manifest.path, line, name, "local path dependency", name=name)
            )
            return
        version = pkg.get("version")
        if not isinstance(version, str) or not version:
            manifest.not_checked.append(
                NotChecked(manifest.path, line, name, "no version", name=name)
            )
            return
        groups = pkg.get("groups")
        grouped = isinstance(groups, list)
        groups = groups if isinstance(groups, list) else []
        manifest.dependencies.append(
            Dependency(
                self.ecosystem,
                name,
                version,
                manifest.path,
                line,
                dev=grouped and "default" not in groups,
                scope=",".join(map(str, groups)) if grouped else None,
            )
        )
