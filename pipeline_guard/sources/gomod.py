"""Go modules: `go.mod` (authoritative) and `go.sum` (only without a go.mod).

Since Go 1.17, go.mod lists every module the build needs (indirect ones
marked `// indirect`) at the version minimal version selection picked, so it
is the source of truth. go.sum also keeps hashes of versions that are no
longer selected, so reading it next to a go.mod would report stale versions;
it is read only where no go.mod sits beside it. `replace` directives are
applied: the replacement module and version are what gets built, and a
replacement by a local directory is not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline_guard.sources.base import (
    Dependency,
    ManifestError,
    NotChecked,
    ParsedManifest,
    basename,
)

_GO_VERSION = re.compile(r"^go\s+(\d+)\.(\d+)")


@dataclass(frozen=True)
class _Directive:
    verb: str  # require, replace, exclude, ...
    args: list[str]
    line: int
    indirect: bool


def _strip_comment(line: str) -> tuple[str, str]:
    code, _, comment = line.partition("//")
    return code.strip(), comment.strip()


def _directives(path: str, text: str) -> list[_Directive]:
    """go.mod lines as directives, with `verb ( ... )` blocks flattened."""
    out: list[_Directive] = []
    block: str | None = None
    block_line = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        code, comment = _strip_comment(raw)
        if not code:
            continue
        if block is not None:
            if code == ")":
                block = None
            else:
                out.append(_Directive(block, _fields(code), number, comment == "indirect"))
            continue
        verb, _, rest = code.partition(" ")
        rest = rest.strip()
        if rest == "(":
            block, block_line = verb, number
        elif not rest or rest.startswith("("):
            raise ManifestError(path, number, f"cannot read go.mod line {raw.strip()!r}")
        else:
            out.append(_Directive(verb, _fields(rest), number, comment == "indirect"))
    if block is not None:
        raise ManifestError(path, block_line, f"`{block} (` block is never closed")
    return out


def _fields(code: str) -> list[str]:
    return [f.strip('"`') for f in code.split()]


class GoModSource:
    name = "go.mod"
    ecosystem = "Go"

    def matches(self, path: str) -> bool:
        return basename(path) == "go.mod"

    def parse(self, path: str, text: str) -> ParsedManifest:
        directives = _directives(path, text)
        replaces = _replacements(path, directives)
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        for d in directives:
            if d.verb == "go":
                _note_old_go(manifest, d)
            elif d.verb == "require":
                self._require(manifest, d, replaces)
        return manifest

    def _require(
        self, manifest: ParsedManifest, d: _Directive, replaces: dict[tuple[str, str], _Replace]
    ) -> None:
        if len(d.args) != 2:
            raise ManifestError(manifest.path, d.line, "expected `require <module> <version>`")
        module, version = d.args
        repl = replaces.get((module, version)) or replaces.get((module, ""))
        if repl and repl.version is None:
            manifest.not_checked.append(
                NotChecked(
                    manifest.path,
                    d.line,
                    f"{module} {version}",
                    f"replaced by local directory {repl.module}",
                    name=module,
                )
            )
            return
        if repl:
            module, version = repl.module, repl.version or version
        manifest.dependencies.append(
            Dependency(
                self.ecosystem, module, version, manifest.path, d.line, direct=not d.indirect
            )
        )


@dataclass(frozen=True)
class _Replace:
    module: str
    version: str | None  # None: a local directory


def _replacements(path: str, directives: list[_Directive]) -> dict[tuple[str, str], _Replace]:
    """`replace old [v] => new [v]`, keyed by (old, v or "")."""
    out: dict[tuple[str, str], _Replace] = {}
    for d in directives:
        if d.verb != "replace":
            continue
        if "=>" not in d.args:
            raise ManifestError(path, d.line, "expected `replace <module> [version] => <target>`")
        arrow = d.args.index("=>")
        old, new = d.args[:arrow], d.args[arrow + 1 :]
        if len(old) not in (1, 2) or len(new) not in (1, 2):
            raise ManifestError(path, d.line, "expected `replace <module> [version] => <target>`")
        key = (old[0], old[1] if len(old) == 2 else "")
        local = len(new) == 1
        out[key] = _Replace(new[0], None if local else new[1])
    return out


def _note_old_go(manifest: ParsedManifest, d: _Directive) -> None:
    match = _GO_VERSION.match(f"go {d.args[0]}" if d.args else "")
    if match and (int(match.group(1)), int(match.group(2))) < (1, 17):
        manifest.notes.append(
            f"{manifest.path}:{d.line} declares go {d.args[0]}: before Go 1.17 go.mod does not "
            "list indirect dependencies, so they are not checked (run `go mod tidy -go=1.17`)"
        )


class GoSumSource:
    """go.sum, read only where no go.mod sits beside it (see the module docstring)."""

    name = "go.sum"
    ecosystem = "Go"
    superseded_by = ("go.mod",)

    def matches(self, path: str) -> bool:
        return basename(path) == "go.sum"

    def parse(self, path: str, text: str) -> ParsedManifest:
        manifest = ParsedManifest(path=path, ecosystem=self.ecosystem)
        seen: set[tuple[str, str]] = set()
        for number, raw in enumerate(text.split("\n"), start=1):
            fields = raw.split()
            if not fields:
                continue
            if len(fields) != 3 or not fields[2].startswith("h1:"):
                raise ManifestError(path, number, "expected `<module> <version> h1:<hash>`")
            module, version = fields[0], fields[1]
            if version.endswith("/go.mod"):
                continue  # only the module graph was read, its code is not built
            if (module, version) not in seen:
                seen.add((module, version))
                manifest.dependencies.append(
                    Dependency(self.ecosystem, module, version, path, number)
                )
        return manifest
