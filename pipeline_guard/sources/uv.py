"""uv's `uv.lock` (TOML `[[package]]` tables with a dependency graph).

The project's own packages (workspace members: `source = { editable | virtual }`)
are the roots. Packages reachable from their `dependencies` are production,
from `optional-dependencies` only are optional, and from `dev-dependencies`
only are dev.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline_guard.sources._graph import reachable
from pipeline_guard.sources._tomllock import load_packages
from pipeline_guard.sources.base import Dependency, NotChecked, ParsedManifest, basename

_ROOT_SOURCES = ("editable", "virtual")
_LOCAL_SOURCES = ("path", "directory")


def _names(entries: Any) -> list[str]:
    """Names from a list of `{ name = ... }` dependency tables."""
    if not isinstance(entries, list):
        return []
    return [e["name"] for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)]


def _group_names(groups: Any) -> list[str]:
    """Names from a table of group -> list of dependency tables."""
    if not isinstance(groups, dict):
        return []
    return [name for entries in groups.values() for name in _names(entries)]


class UvLockSource:
    name = "uv.lock"
    ecosystem = "PyPI"

    def matches(self, path: str) -> bool:
        return basename(path) == "uv.lock"

    def parse(self, path: str, text: str) -> ParsedManifest:
        _, packages = load_packages(path, text)
        roots = [p for p, _ in packages if _source_kind(p) in _ROOT_SOURCES]
        edges = {
            p["name"]: _names(p.get("dependencies")) + _group_names(p.get("optional-dependencies"))
            for p, _ in packages
        }
        required = reachable(_root_deps(roots, "dependencies"), edges)
        optional = reachable(_root_deps(roots, "optional-dependencies"), edges) - required
        dev = reachable(_root_deps(roots, "dev-dependencies"), edges) - required - optional
        direct = set(_root_deps(roots, "dependencies", "optional-dependencies", "dev-dependencies"))
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        for pkg, line in packages:
            kind = _source_kind(pkg)
            name = pkg["name"]
            if kind in _ROOT_SOURCES:
                continue  # the project itself
            if kind in _LOCAL_SOURCES:
                manifest.not_checked.append(
                    NotChecked(path, line, name, f"local {kind} dependency", name=name)
                )
                continue
            version = pkg.get("version")
            if not isinstance(version, str):
                manifest.not_checked.append(NotChecked(path, line, name, "no version", name=name))
                continue
            manifest.dependencies.append(
                Dependency(
                    self.ecosystem,
                    name,
                    version,
                    path,
                    line,
                    direct=name in direct if roots else None,
                    dev=name in dev,
                    optional=name in optional,
                )
            )
        return manifest


def _source_kind(pkg: dict[str, Any]) -> str | None:
    source = pkg.get("source")
    if not isinstance(source, dict) or not source:
        return None
    return str(next(iter(source)))


def _root_deps(roots: Iterable[dict[str, Any]], *keys: str) -> list[str]:
    out: list[str] = []
    for root in roots:
        for key in keys:
            value = root.get(key)
            out.extend(_names(value) if key == "dependencies" else _group_names(value))
    return out
