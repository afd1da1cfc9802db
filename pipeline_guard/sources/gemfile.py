"""Bundler's `Gemfile.lock`.

Gems installed from a gem server are listed under `GEM` / `specs:` as
`name (version[-platform])` at four spaces; their own requirements follow at
six. Gems from `GIT` or `PATH` sources are not registry releases and are
reported as not checked. `DEPENDENCIES` names the gems the Gemfile asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline_guard.sources.base import (
    Dependency,
    ManifestError,
    NotChecked,
    ParsedManifest,
    basename,
)

_SPEC = re.compile(r"^    ([^\s(]+) \(([^)]+)\)\s*$")
_DEPENDENCY = re.compile(r"^  ([^\s(!]+)!?(?: \(.*\))?\s*$")
_PLATFORM = re.compile(
    r"-(?:java|jruby|universal|x86|x64|x86_64|i[3-6]86|arm|arm64|aarch64|powerpc|ppc64le"
    r"|s390x|mswin|mingw|darwin|linux)"
)
_SECTIONS_WITH_SPECS = ("GEM", "GIT", "PATH", "PLUGIN SOURCE")


@dataclass
class _Spec:
    section: str
    name: str
    version: str
    line: int


@dataclass
class _Lockfile:
    specs: list[_Spec] = field(default_factory=list)
    direct: set[str] = field(default_factory=set)


def _read(path: str, text: str) -> _Lockfile:
    out = _Lockfile()
    section = ""
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if not line[0].isspace():
            section = line.strip()
        elif section in _SECTIONS_WITH_SPECS and line.startswith("    ") and line[4] != " ":
            match = _SPEC.match(line)
            if not match:
                raise ManifestError(path, number, f"expected `    <gem> (<version>)`, got {line!r}")
            out.specs.append(_Spec(section, match.group(1), match.group(2), number))
        elif section == "DEPENDENCIES":
            match = _DEPENDENCY.match(line)
            if not match:
                raise ManifestError(
                    path, number, f"expected `  <gem> [(<requirement>)]`, got {line!r}"
                )
            out.direct.add(match.group(1))
    return out


def _strip_platform(version: str) -> str:
    """`1.13.10-x86_64-linux` -> `1.13.10`: the platform is not part of the version."""
    match = _PLATFORM.search(version)
    return version[: match.start()] if match else version


class GemfileLockSource:
    name = "Gemfile.lock"
    ecosystem = "RubyGems"

    def matches(self, path: str) -> bool:
        return basename(path) in ("Gemfile.lock", "gems.locked")

    def parse(self, path: str, text: str) -> ParsedManifest:
        lock = _read(path, text)
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        seen: set[tuple[str, str]] = set()
        for spec in lock.specs:
            if spec.section != "GEM":
                reason = f"{spec.section.lower()} source"
                manifest.not_checked.append(
                    NotChecked(path, spec.line, f"{spec.name} ({spec.version})", reason, spec.name)
                )
                continue
            version = _strip_platform(spec.version)
            if (spec.name, version) in seen:
                continue  # the same gem built for several platforms
            seen.add((spec.name, version))
            manifest.dependencies.append(
                Dependency(
                    self.ecosystem,
                    spec.name,
                    version,
                    path,
                    spec.line,
                    direct=spec.name in lock.direct,
                )
            )
        return manifest
