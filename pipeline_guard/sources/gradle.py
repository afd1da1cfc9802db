"""Gradle dependency locking: `gradle.lockfile` and the older per-configuration files.

Each line is `group:artifact:version=configuration,configuration`; the older
`gradle/dependency-locks/<configuration>.lockfile` files list
`group:artifact:version` alone. A dependency locked only for test
configurations counts as dev.
"""

from __future__ import annotations

from pipeline_guard.sources.base import (
    Dependency,
    ManifestError,
    ParsedManifest,
    basename,
)


class GradleLockSource:
    name = "gradle.lockfile"
    ecosystem = "Maven"

    def matches(self, path: str) -> bool:
        base = basename(path)
        legacy = "/dependency-locks/" in f"/{path}" and base.endswith(".lockfile")
        return base == "gradle.lockfile" or base.endswith("-gradle.lockfile") or legacy

    def parse(self, path: str, text: str) -> ParsedManifest:
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        legacy_config = basename(path).removesuffix(".lockfile")
        for number, raw in enumerate(text.split("\n"), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            coords, _, configs = line.partition("=")
            if coords == "empty":
                continue  # configurations that resolve nothing
            parts = coords.split(":")
            if len(parts) != 3 or not all(parts):
                raise ManifestError(
                    path, number, f"expected `group:artifact:version`, got {line!r}"
                )
            scopes = [c for c in configs.split(",") if c] if configs else [legacy_config]
            manifest.dependencies.append(
                Dependency(
                    self.ecosystem,
                    f"{parts[0]}:{parts[1]}",
                    parts[2],
                    path,
                    number,
                    dev=all(s.lower().startswith("test") for s in scopes),
                    scope=",".join(scopes),
                )
            )
        return manifest
