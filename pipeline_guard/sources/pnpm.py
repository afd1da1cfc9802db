"""pnpm's `pnpm-lock.yaml`, lockfile versions 5.x, 6.x and 9.x.

Package keys differ by version: `/name/1.0.0_peer@2` (5.x), `/name@1.0.0(peer@2)`
(6.x) and `name@1.0.0` (9.x, peers only in `snapshots`). 5.x and 6.x mark
dev-only packages with `dev: true`; 9.x does not, so dev-only packages are
found by walking `snapshots` from the importers' `dependencies` and
`devDependencies`. Links, local directories, git and tarball sources are not
registry releases and are reported as not checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline_guard.sources._graph import reachable
from pipeline_guard.sources._positions import LinedDict, load_yaml
from pipeline_guard.sources.base import (
    Dependency,
    ManifestError,
    NotChecked,
    ParsedManifest,
    basename,
)

_Node = tuple[str, str]  # (name, version)
_PROD_KEYS = ("dependencies", "optionalDependencies")
_NON_REGISTRY_RESOLUTION = ("tarball", "directory", "repo", "commit")


class PnpmLockSource:
    name = "pnpm-lock.yaml"
    ecosystem = "npm"

    def matches(self, path: str) -> bool:
        return basename(path) == "pnpm-lock.yaml"

    def parse(self, path: str, text: str) -> ParsedManifest:
        data = load_yaml(path, text)
        if not isinstance(data, LinedDict) or "lockfileVersion" not in data:
            raise ManifestError(path, 1, "not a pnpm lockfile: no lockfileVersion")
        lock_version = str(data["lockfileVersion"])
        if lock_version.split(".")[0] not in ("5", "6", "7", "8", "9"):
            raise ManifestError(
                path, data.line_of("lockfileVersion"), f"unsupported lockfileVersion {lock_version}"
            )
        slash_keys = lock_version.startswith("5")
        packages = data.get("packages") or LinedDict()
        if not isinstance(packages, LinedDict):
            raise ManifestError(path, data.line_of("packages"), "`packages` is not a mapping")
        importers = _importers(data)
        direct = {n for imp in importers for n in _importer_nodes(imp, slash_keys, None)}
        dev_only = None if "snapshots" not in data else _dev_only_v9(data, importers)
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        for key, entry in packages.items():
            line = packages.line_of(key)
            if not isinstance(entry, dict):
                raise ManifestError(path, line, f"package {key!r} is not a mapping")
            _package(manifest, str(key), entry, line, slash_keys, direct, dev_only)
        return manifest


def _package(
    manifest: ParsedManifest,
    key: str,
    entry: dict[str, Any],
    line: int,
    slash_keys: bool,
    direct: set[_Node],
    dev_only: set[_Node] | None,
) -> None:
    node = _parse_key(key, slash_keys)
    resolution = entry.get("resolution") or {}
    name = str(entry.get("name") or (node[0] if node else key))
    version = str(entry.get("version") or (node[1] if node else ""))
    non_registry = isinstance(resolution, dict) and any(
        k in resolution for k in _NON_REGISTRY_RESOLUTION
    )
    if node is None or non_registry or not _is_version(version):
        manifest.not_checked.append(
            NotChecked(manifest.path, line, key, "not from a registry", name=name)
        )
        return
    dev = bool(entry.get("dev")) if dev_only is None else node in dev_only
    manifest.dependencies.append(
        Dependency(
            "npm",
            name,
            version,
            manifest.path,
            line,
            direct=node in direct,
            dev=dev,
            optional=bool(entry.get("optional")),
        )
    )


def _is_version(version: str) -> bool:
    return bool(version) and ":" not in version and "/" not in version


def _strip_peers(version: str, slash_keys: bool) -> str:
    """`1.0.0(react@18.2.0)` (6.x, 9.x) or `1.0.0_react@18.2.0` (5.x) -> `1.0.0`."""
    version = version.split("(", 1)[0]
    return version.split("_", 1)[0] if slash_keys else version


def _parse_key(key: str, slash_keys: bool) -> _Node | None:
    """A packages key as (name, version); None for keys that are not name+version."""
    if slash_keys:
        if not key.startswith("/"):
            return None  # e.g. github.com/user/repo/sha
        name, _, version = key[1:].rpartition("/")
        return (name, _strip_peers(version, slash_keys)) if name else None
    bare = key.lstrip("/").split("(", 1)[0]
    at = bare.rfind("@")
    if at <= 0:
        return None
    return bare[:at], bare[at + 1 :]


def _ref(name: str, ref: Any, slash_keys: bool) -> _Node | None:
    """What a dependency reference points at: `1.0.0`, `/real@1.0.0` (alias), `link:..`."""
    if isinstance(ref, dict):
        ref = ref.get("version")
    if ref is None:
        return None
    ref = str(ref)
    if ref.startswith(("link:", "file:")):
        return None
    if ref.startswith("/"):
        return _parse_key(ref, slash_keys)
    bare = _strip_peers(ref, slash_keys)
    if "@" in bare[1:]:
        return _parse_key(bare, slash_keys=False)  # a 9.x alias: `real@1.0.0`
    return name, bare


def _importers(data: LinedDict) -> list[dict[str, Any]]:
    """The workspace projects; a single-project 5.x/6.x lockfile is its own importer."""
    importers = data.get("importers")
    if isinstance(importers, dict):
        return [imp for imp in importers.values() if isinstance(imp, dict)]
    return [data]


def _importer_nodes(
    importer: dict[str, Any], slash_keys: bool, keys: Iterable[str] | None
) -> list[_Node]:
    out = []
    for key in keys or (*_PROD_KEYS, "devDependencies"):
        deps = importer.get(key)
        if isinstance(deps, dict):
            for name, ref in deps.items():
                node = _ref(str(name), ref, slash_keys)
                if node:
                    out.append(node)
    return out


def _dev_only_v9(data: LinedDict, importers: list[dict[str, Any]]) -> set[_Node]:
    snapshots = data.get("snapshots") or {}
    edges: dict[_Node, list[_Node]] = {}
    for key, snap in snapshots.items():
        node = _parse_key(str(key), slash_keys=False)
        if node is None or not isinstance(snap, dict):
            continue
        targets = edges.setdefault(node, [])
        targets.extend(_importer_nodes(snap, False, _PROD_KEYS))
    prod_roots = [n for imp in importers for n in _importer_nodes(imp, False, _PROD_KEYS)]
    dev_roots = [n for imp in importers for n in _importer_nodes(imp, False, ["devDependencies"])]
    production: set[_Node] = reachable(prod_roots, edges)
    return reachable(dev_roots, edges) - production
