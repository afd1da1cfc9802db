"""Yarn's `yarn.lock`: the classic v1 format and Berry's YAML (v2+).

Classic v1 is its own indentation format: an unindented header listing the
`name@range` specs an entry satisfies, then indented `version "x"` and friends.
Berry is YAML with a `__metadata` entry and a `resolution: name@npm:x`
per entry. Neither says which packages are dev-only or direct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline_guard.sources._positions import LinedDict, load_yaml
from pipeline_guard.sources.base import (
    Dependency,
    ManifestError,
    NotChecked,
    ParsedManifest,
    basename,
)

_BERRY = re.compile(r"^__metadata:", re.MULTILINE)
_NON_REGISTRY = ("git", "github:", "gitlab:", "bitbucket:", "file:", "link:", "portal:", "exec:")
_PATCHED_NPM = re.compile(r"@npm%3A([^#&:]+)")
_FIELD = re.compile(r'^\s+(\S+?):?\s+"?([^"]*)"?\s*$')


class YarnLockSource:
    name = "yarn.lock"
    ecosystem = "npm"

    def matches(self, path: str) -> bool:
        return basename(path) == "yarn.lock"

    def parse(self, path: str, text: str) -> ParsedManifest:
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        if _BERRY.search(text):
            _parse_berry(manifest, load_yaml(path, text))
        else:
            for entry in _classic_entries(path, text):
                _classic_dependency(manifest, entry)
        return manifest


# --- classic (v1) ------------------------------------------------------------


@dataclass
class _Entry:
    line: int
    specs: list[str]
    fields: dict[str, str]


def _classic_entries(path: str, text: str) -> list[_Entry]:
    entries: list[_Entry] = []
    current: _Entry | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            if not line.endswith(":"):
                raise ManifestError(path, number, f"expected `<name>@<range>:`, got {line!r}")
            specs = [s.strip().strip('"') for s in line[:-1].split(",")]
            current = _Entry(number, specs, {})
            entries.append(current)
        elif current is None:
            raise ManifestError(path, number, "indented line before the first entry")
        elif line.startswith("  ") and not line.startswith("   "):
            match = _FIELD.match(line)
            if match:
                current.fields[match.group(1)] = match.group(2)
    return entries


def _split_spec(spec: str) -> tuple[str, str]:
    """`@scope/name@^1.0` -> (`@scope/name`, `^1.0`)."""
    at = spec.find("@", 1)
    if at < 0:
        return spec, ""
    return spec[:at], spec[at + 1 :]


def _classic_dependency(manifest: ParsedManifest, entry: _Entry) -> None:
    name, spec_range = _split_spec(entry.specs[0])
    version = entry.fields.get("version")
    if not version:
        raise ManifestError(manifest.path, entry.line, f"entry for {name} has no version")
    resolved = entry.fields.get("resolved", "")
    if spec_range.startswith("npm:"):
        name, _ = _split_spec(spec_range[4:])
    elif spec_range.startswith(_NON_REGISTRY) or resolved.startswith(_NON_REGISTRY):
        manifest.not_checked.append(
            NotChecked(manifest.path, entry.line, entry.specs[0], "not from a registry", name=name)
        )
        return
    manifest.dependencies.append(Dependency("npm", name, version, manifest.path, entry.line))


# --- berry (v2+) -------------------------------------------------------------


def _parse_berry(manifest: ParsedManifest, data: Any) -> None:
    if not isinstance(data, LinedDict):
        raise ManifestError(manifest.path, 1, "expected a YAML mapping of entries")
    for key, entry in data.items():
        if key == "__metadata":
            continue
        line = data.line_of(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("resolution"), str):
            raise ManifestError(manifest.path, line, f"entry {key!r} has no resolution")
        _berry_entry(manifest, str(key), entry, line)


def _berry_entry(manifest: ParsedManifest, key: str, entry: dict[str, Any], line: int) -> None:
    name, rest = _split_spec(entry["resolution"])
    protocol, _, locator = rest.partition(":")
    # A registry package with a patch applied is still that package and version.
    patched = _PATCHED_NPM.search(locator) if protocol == "patch" else None
    if protocol == "workspace":
        return  # the project's own package
    if protocol == "npm":
        version = locator
    elif patched:
        version = patched.group(1)
    else:
        reason = f"{protocol} dependency" if protocol else "not from a registry"
        manifest.not_checked.append(NotChecked(manifest.path, line, key, reason, name=name))
        return
    manifest.dependencies.append(Dependency("npm", name, version, manifest.path, line))
