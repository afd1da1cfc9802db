"""npm's `package-lock.json` / `npm-shrinkwrap.json`, lockfile versions 1, 2 and 3.

Version 2 and 3 list every installed package under `packages`, keyed by its
install path (`node_modules/a/node_modules/b`); version 1 nests `dependencies`
inside each other. Aliases (`"name": "real"` in v2+, `npm:real@1.0.0` in v1)
are checked under the real package name. Workspace links and the project's own
folders are the project's code, not dependencies. Git, file and other
non-registry sources are reported as not checked.
"""

from __future__ import annotations

import posixpath
from typing import Any

from pipeline_guard.sources._positions import LinedDict, load_json
from pipeline_guard.sources.base import (
    Dependency,
    ManifestError,
    NotChecked,
    ParsedManifest,
    basename,
)

_DEP_KEYS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
_NON_REGISTRY = ("git+", "git:", "git@", "github:", "gitlab:", "bitbucket:", "file:", "link:")
_NM = "node_modules/"


class NpmLockSource:
    name = "package-lock.json"
    ecosystem = "npm"

    def matches(self, path: str) -> bool:
        return basename(path) in ("package-lock.json", "npm-shrinkwrap.json")

    def parse(self, path: str, text: str) -> ParsedManifest:
        data = load_json(path, text)
        if not isinstance(data, LinedDict):
            raise ManifestError(path, 1, "expected a JSON object")
        version = data.get("lockfileVersion")
        if version not in (1, 2, 3):
            raise ManifestError(
                path, data.line_of("lockfileVersion"), f"unsupported lockfileVersion {version!r}"
            )
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        packages = data.get("packages")
        if version >= 2 and packages is not None:
            _parse_packages(manifest, _object(path, data, "packages"))
        else:
            _parse_v1(manifest, _object(path, data, "dependencies"))
        return manifest


def _object(path: str, parent: LinedDict, key: str) -> LinedDict:
    value = parent.get(key, LinedDict())
    if not isinstance(value, LinedDict):
        raise ManifestError(path, parent.line_of(key), f"`{key}` is not an object")
    return value


def _non_registry(resolved: str) -> bool:
    """Does a `resolved` location point somewhere other than a registry tarball?"""
    return resolved.startswith(_NON_REGISTRY) or (
        "://" in resolved and not resolved.startswith(("http://", "https://"))
    )


def _is_version(version: str) -> bool:
    """A registry version, not a URL, path or git spec standing in for one."""
    return ":" not in version and "/" not in version


# --- lockfileVersion 2 and 3 -------------------------------------------------


def _parse_packages(manifest: ParsedManifest, packages: LinedDict) -> None:
    direct = _direct_paths(packages)
    for key, entry in packages.items():
        line = packages.line_of(key)
        if not isinstance(entry, dict):
            raise ManifestError(manifest.path, line, f"package `{key}` is not an object")
        if _NM not in key or entry.get("link"):
            continue  # the project, a workspace folder, or a symlink to one
        name = entry.get("name") or key.rsplit(_NM, 1)[1]
        version = entry.get("version")
        resolved = entry.get("resolved") or ""
        if not isinstance(version, str) or not version:
            _not_checked(manifest, line, key, name, "no version")
        elif _non_registry(resolved) or not _is_version(version):
            _not_checked(
                manifest, line, f"{name}@{resolved or version}", name, "not from a registry"
            )
        else:
            manifest.dependencies.append(
                Dependency(
                    "npm",
                    name,
                    version,
                    manifest.path,
                    line,
                    direct=key in direct,
                    dev=bool(entry.get("dev")),
                    optional=bool(entry.get("optional") or entry.get("devOptional")),
                )
            )


def _direct_paths(packages: LinedDict) -> set[str]:
    """Install paths of the packages the project (or a workspace) asks for by name."""
    out = set()
    for key, entry in packages.items():
        if _NM in key or not isinstance(entry, dict) or entry.get("link"):
            continue
        for dep_key in _DEP_KEYS:
            for dep in entry.get(dep_key) or {}:
                nested = posixpath.join(key, _NM + dep) if key else _NM + dep
                out.add(nested if nested in packages else _NM + dep)
    return out


# --- lockfileVersion 1 --------------------------------------------------------


def _parse_v1(manifest: ParsedManifest, deps: LinedDict) -> None:
    for key, entry in deps.items():
        line = deps.line_of(key)
        if not isinstance(entry, LinedDict):
            raise ManifestError(manifest.path, line, f"dependency `{key}` is not an object")
        _v1_entry(manifest, key, entry, line)
        nested = entry.get("dependencies")
        if isinstance(nested, LinedDict):
            _parse_v1(manifest, nested)


def _v1_entry(manifest: ParsedManifest, key: str, entry: dict[str, Any], line: int) -> None:
    version = entry.get("version")
    if not isinstance(version, str) or not version:
        _not_checked(manifest, line, key, key, "no version")
        return
    name = key
    if version.startswith("npm:"):
        name, _, version = version[4:].rpartition("@")
    if not _is_version(version):
        _not_checked(manifest, line, f"{key}@{version}", key, "not from a registry")
        return
    manifest.dependencies.append(
        Dependency(
            "npm",
            name,
            version,
            manifest.path,
            line,
            dev=bool(entry.get("dev")),
            optional=bool(entry.get("optional")),
        )
    )


def _not_checked(manifest: ParsedManifest, line: int, text: str, name: str, reason: str) -> None:
    manifest.not_checked.append(NotChecked(manifest.path, line, text, reason, name=name))
