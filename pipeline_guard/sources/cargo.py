"""Cargo's `Cargo.lock` (TOML `[[package]]` tables).

Packages without a `source` are the workspace's own crates. Only crates from
crates.io (git index or sparse index) are checked: a git source or another
registry may publish different code under the same name and version.
"""

from __future__ import annotations

from pipeline_guard.sources._tomllock import load_packages
from pipeline_guard.sources.base import Dependency, NotChecked, ParsedManifest, basename

_CRATES_IO = (
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
)


class CargoLockSource:
    name = "Cargo.lock"
    ecosystem = "crates.io"

    def matches(self, path: str) -> bool:
        return basename(path) == "Cargo.lock"

    def parse(self, path: str, text: str) -> ParsedManifest:
        _, packages = load_packages(path, text)
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        for pkg, line in packages:
            name, version, source = pkg["name"], pkg.get("version"), pkg.get("source")
            if source is None:
                continue  # a crate of this workspace
            if source not in _CRATES_IO:
                kind = str(source).split("+", 1)[0]
                manifest.not_checked.append(
                    NotChecked(path, line, f"{name} {version}", f"{kind} source", name=name)
                )
            elif isinstance(version, str) and version:
                manifest.dependencies.append(Dependency(self.ecosystem, name, version, path, line))
            else:
                manifest.not_checked.append(NotChecked(path, line, name, "no version", name=name))
        return manifest
