"""NuGet's `packages.lock.json`: resolved packages per target framework.

`Project` entries are other projects of the solution, not packages. A package
resolved for several frameworks is reported once per framework; the scope
says which.
"""

from __future__ import annotations

from pipeline_guard.sources._positions import LinedDict, load_json
from pipeline_guard.sources.base import (
    Dependency,
    ManifestError,
    NotChecked,
    ParsedManifest,
    basename,
)


class NugetLockSource:
    name = "packages.lock.json"
    ecosystem = "NuGet"

    def matches(self, path: str) -> bool:
        return basename(path) == "packages.lock.json"

    def parse(self, path: str, text: str) -> ParsedManifest:
        data = load_json(path, text)
        if not isinstance(data, LinedDict) or not isinstance(data.get("dependencies"), LinedDict):
            raise ManifestError(path, 1, "expected a JSON object with `dependencies`")
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        frameworks: LinedDict = data["dependencies"]
        for framework, packages in frameworks.items():
            if not isinstance(packages, LinedDict):
                raise ManifestError(
                    path, frameworks.line_of(framework), f"`{framework}` is not an object"
                )
            for name, entry in packages.items():
                self._package(manifest, framework, name, entry, packages.line_of(name))
        return manifest

    def _package(
        self, manifest: ParsedManifest, framework: str, name: str, entry: object, line: int
    ) -> None:
        if not isinstance(entry, dict):
            raise ManifestError(manifest.path, line, f"package `{name}` is not an object")
        kind = entry.get("type")
        if kind == "Project":
            return  # another project of the solution
        version = entry.get("resolved")
        if not isinstance(version, str) or not version:
            manifest.not_checked.append(
                NotChecked(manifest.path, line, name, "no resolved version", name)
            )
            return
        manifest.dependencies.append(
            Dependency(
                self.ecosystem,
                name,
                version,
                manifest.path,
                line,
                direct=kind == "Direct",
                scope=framework,
            )
        )
