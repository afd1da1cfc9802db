"""Parse JSON, YAML and TOML while keeping the line each entry was declared on.

The standard parsers drop positions; findings must point at the declaring
line, so these wrappers keep them: JSON and YAML mappings come back as
`LinedDict`s, and TOML array-of-table entries are located by their headers.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re
import tomllib
from collections.abc import Callable, Iterable
from typing import Any

import yaml

from pipeline_guard.sources.base import ManifestError


class LinedDict(dict[Any, Any]):
    """A mapping that remembers the 1-based line of each key (and of itself)."""

    def __init__(self, pairs: Iterable[tuple[Any, Any]] = (), line: int = 0) -> None:
        super().__init__(pairs)
        self.lines: dict[Any, int] = {}
        self.line = line

    def line_of(self, key: Any) -> int:
        """The line of `key`, or of the mapping itself when the key is absent."""
        return self.lines.get(key, self.line)


class LineIndex:
    """Offset -> 1-based line number for one text."""

    def __init__(self, text: str) -> None:
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_left(self._newlines, offset) + 1


def line_of_key(data: Any, key: Any, default: int = 1) -> int:
    """The line of `key` in `data` if `data` is a LinedDict, else `default`."""
    if isinstance(data, LinedDict) and key in data.lines:
        return data.lines[key]
    return default


# --- JSON -------------------------------------------------------------------

_ScanOnce = Callable[[str, int], tuple[Any, int]]


def load_json(path: str, text: str) -> Any:
    """Parse JSON; every object is a LinedDict with the line of each key."""
    index = LineIndex(text)

    def parse_object(
        s_and_end: tuple[str, int],
        strict: bool,
        scan_once: _ScanOnce,
        object_hook: Any,
        object_pairs_hook: Any,
        memo: dict[str, str] | None = None,
    ) -> tuple[LinedDict, int]:
        # Each value of this object is scanned through `recording`, so the
        # recorded starts line up with the pairs; nested objects get their own.
        starts: list[int] = []

        def recording(s: str, idx: int) -> tuple[Any, int]:
            starts.append(idx)
            return scan_once(s, idx)

        pairs, end = json.decoder.JSONObject(  # type: ignore[attr-defined]
            s_and_end, strict, recording, None, list, memo
        )
        obj = LinedDict(pairs, line=index.line(s_and_end[1] - 1))
        obj.lines = {key: index.line(start) for (key, _), start in zip(pairs, starts, strict=True)}
        return obj, end

    decoder = json.JSONDecoder()
    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(
            path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})"
        ) from None
    except RecursionError:
        raise ManifestError(path, None, "invalid JSON: nested too deeply") from None


# --- YAML -------------------------------------------------------------------


# libyaml's parser when PyYAML was built with it: ten times faster on big lockfiles.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LinedSafeLoader(_SafeBase):  # type: ignore[valid-type,misc]
    """A safe loader whose mappings remember key lines. Still constructs only plain data."""


def _construct_lined_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LinedDict:
    loader.flatten_mapping(node)
    obj = LinedDict(line=node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            obj[key] = loader.construct_object(value_node, deep=True)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "unhashable key", key_node.start_mark
            ) from None
        obj.lines[key] = key_node.start_mark.line + 1
    return obj


_LinedSafeLoader.add_constructor("tag:yaml.org,2002:map", _construct_lined_mapping)


def load_yaml(path: str, text: str) -> Any:
    """Parse YAML safely; every mapping is a LinedDict with the line of each key."""
    # Instantiated directly rather than through yaml.load: the loader is a
    # SafeLoader subclass, so only plain data is ever constructed.
    loader = _LinedSafeLoader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ManifestError(path, line, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(path, None, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


# --- TOML -------------------------------------------------------------------

_TOML_LINE = re.compile(r"at line (\d+)")


def load_toml(path: str, text: str) -> dict[str, Any]:
    """Parse TOML, turning syntax errors into ManifestErrors with their line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        if match:
            line: int | None = int(match.group(1))
        elif "end of document" in str(exc):
            line = text.count("\n") + 1
        else:
            line = None
        raise ManifestError(path, line, f"invalid TOML: {exc}") from None


def array_table_lines(text: str, table: str, key: str, values: list[str]) -> list[int]:
    """For the i-th `[[table]]` entry, the line of its `key = "<values[i]>"`.

    tomllib keeps array order, so the i-th header is the i-th entry; the key's
    own line is preferred because that is where the package is named. When the
    headers cannot be matched up (hand-written inline arrays), each key is
    searched for after the previous one.
    """
    header = re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]\s*(#.*)?$")
    lines = text.split("\n")
    headers = [i for i, line in enumerate(lines) if header.match(line)]
    aligned = len(headers) == len(values)
    out = []
    cursor = 0
    for i, value in enumerate(values):
        want = re.compile(r"^\s*" + re.escape(key) + r"\s*=\s*[\"']" + re.escape(value) + r"[\"']")
        start = headers[i] if aligned else cursor
        stop = (headers[i + 1] if i + 1 < len(headers) else len(lines)) if aligned else len(lines)
        found = next((n for n in range(start, stop) if want.match(lines[n])), None)
        if found is None:
            found = start
        out.append(found + 1)
        cursor = found + 1
    return out
