"""Loading and validating pipeline-guard.yml.

The JSON Schema in `schemas/config.schema.json` is the single source of truth
for what is valid; this module maps each schema error back to the YAML line it
came from and suggests the closest valid key, then turns the data into
dataclasses.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pipeline_guard.errors import UserError
from pipeline_guard.model import Category, Severity

if TYPE_CHECKING:
    import jsonschema

CONFIG_NAMES = ("pipeline-guard.yml", "pipeline-guard.yaml", ".pipeline-guard.yml")
STAGES = ("precommit", "pr", "release")
# Tool-written or vendored trees nobody wants scanned; user excludes add to these.
DEFAULT_EXCLUDES = (
    ".git/",
    ".hg/",
    ".svn/",
    "node_modules/",
    ".venv/",
    "venv/",
    ".tox/",
    "__pycache__/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".pipeline-guard-cache/",
)


class _Loader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps: `expires: 2026-02-31` stays a string,
    so we can report it as a bad date instead of crashing inside PyYAML."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class ConfigError(UserError):
    """pipeline-guard.yml is invalid; the message names file, line and the fix."""


@dataclass(frozen=True)
class StagePolicy:
    """The gate of one stage (see DESIGN.md, "The stages")."""

    name: str
    scanners: tuple[str, ...] | None = None  # None: every enabled scanner that applies
    fast_only: bool = False  # default scanner selection is the fast scanners
    fail_on: Severity | None = Severity.HIGH
    fail_on_category: Mapping[Category, Severity] = field(default_factory=dict)
    max_counts: Mapping[Severity, int] = field(default_factory=dict)
    categories: frozenset[Category] | None = None
    fail_on_scanner_error: bool = False
    new_only: bool = False
    fail_on_stale_db: bool = False
    images: tuple[str, ...] = ()


PRESETS: dict[str, StagePolicy] = {
    "precommit": StagePolicy(
        name="precommit",
        fast_only=True,
        fail_on=Severity.HIGH,
        fail_on_category={Category.SECRET: Severity.INFO},
    ),
    "pr": StagePolicy(name="pr", fail_on=Severity.HIGH, new_only=True),
    "release": StagePolicy(
        name="release",
        fail_on=Severity.HIGH,
        fail_on_scanner_error=True,
        fail_on_stale_db=True,
    ),
}


@dataclass(frozen=True)
class IgnoreRule:
    """One `ignore:` entry. Matches when every selector it sets matches."""

    reason: str
    source: str  # "pipeline-guard.yml:12"
    rule: str | None = None
    advisory: str | None = None
    package: str | None = None
    path: str | None = None
    fingerprint: str | None = None
    owner: str | None = None
    expires: dt.date | None = None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    exclude: tuple[str, ...] = ()
    db: Path | None = None
    scanners: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    custom_scanners: tuple[Mapping[str, Any], ...] = ()
    stages: Mapping[str, StagePolicy] = field(default_factory=lambda: dict(PRESETS))
    ignores: tuple[IgnoreRule, ...] = ()
    baseline: Path | None = None  # baseline file of accepted fingerprints (baseline.py)

    def scanner_options(self, name: str) -> Mapping[str, Any]:
        return self.scanners.get(name, {})

    def enabled(self, name: str) -> bool:
        return bool(self.scanner_options(name).get("enabled", True))

    def stage(self, name: str) -> StagePolicy:
        return self.stages[name]


@cache
def config_schema() -> dict[str, Any]:
    """The JSON Schema of pipeline-guard.yml, as shipped in the package."""
    text = resources.files("pipeline_guard").joinpath("schemas/config.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def find_config(root: Path) -> Path | None:
    """The config file at the root of the scanned tree, if any."""
    for name in CONFIG_NAMES:
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None, known_scanners: frozenset[str] = frozenset()) -> Config:
    """Read and validate a config file; `None` gives the defaults.

    `known_scanners` are the installed scanner names: a section for any other
    name is a typo and reported with the closest name.
    """
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from None
    return parse_config(text, path, known_scanners)


def parse_config(text: str, path: Path, known_scanners: frozenset[str] = frozenset()) -> Config:
    """Validate config text and build a Config; raise ConfigError naming file and line."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = _safe_data(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if data is None:
        return Config(path=path)
    if node is not None:
        _reject_duplicate_keys(node, path)
    schema = config_schema()
    import jsonschema  # only needed when there is a file to validate (saves ~80 ms)

    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: _error_line(e, node))
    if errors:
        raise ConfigError("\n".join(_describe(e, node, path, schema) for e in errors[:10]))
    _check_scanner_names(data, node, path, known_scanners)
    return _build(data, node, path)


def _safe_data(text: str) -> Any:
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _error_line(error: jsonschema.ValidationError, root: yaml.Node | None) -> int:
    found = _node_at(root, iter(error.absolute_path))
    return found.start_mark.line if found is not None else 0


def _reject_duplicate_keys(node: yaml.Node, path: Path) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key, value in node.value:
            if key.value in seen:
                raise ConfigError(
                    f"{path}:{key.start_mark.line + 1}: duplicate key {key.value!r} "
                    f"(first at line {seen[key.value]}); keep one"
                )
            seen[key.value] = key.start_mark.line + 1
            _reject_duplicate_keys(value, path)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, path)


def _node_at(node: yaml.Node | None, where: Iterator[Any]) -> yaml.Node | None:
    for step in where:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(step)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            node = node.value[step] if step < len(node.value) else None
        else:
            return node
    return node


def _key_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next((k for k, _ in node.value if k.value == key), None)
    return None


def _line(node: yaml.Node | None) -> str:
    return f":{node.start_mark.line + 1}" if node is not None else ""


def _dotted(parts: list[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _describe(
    error: jsonschema.ValidationError, root: yaml.Node | None, path: Path, schema: Mapping[str, Any]
) -> str:
    parts = list(error.absolute_path)
    target = _node_at(root, iter(parts))
    if (
        error.validator == "additionalProperties"
        and isinstance(error.instance, dict)
        and isinstance(error.schema, Mapping)
    ):
        allowed = _allowed_keys(error.schema, schema)
        msgs = []
        for key in error.instance:
            if key in allowed:
                continue
            hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            valid = ", ".join(sorted(allowed))
            msgs.append(
                f"{path}{_line(_key_node(target, str(key)))}: unknown key {key!r} in "
                f"{_dotted(parts)}{suggestion} (valid keys: {valid})"
            )
        if msgs:
            return "\n".join(msgs)
    where = f"{path}{_line(target)}"
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{where}: {_dotted(parts)} must be of type {expected}, got {error.instance!r}"
    if error.validator == "enum":
        allowed_values: list[Any] = list(error.validator_value)  # type: ignore[arg-type]
        options = ", ".join(repr(v) for v in allowed_values)
        return f"{where}: {_dotted(parts)} is {error.instance!r}; expected one of {options}"
    if error.validator == "required":
        return f"{where}: {_dotted(parts)}: {error.message}"
    if error.validator == "anyOf" and parts and parts[0] == "ignore":
        return (
            f"{where}: {_dotted(parts)} selects nothing: give at least one of "
            "rule, advisory, package, path, fingerprint"
        )
    return f"{where}: {_dotted(parts)}: {error.message}"


def _allowed_keys(sub: Mapping[str, Any], schema: Mapping[str, Any]) -> set[str]:
    keys = set(sub.get("properties", {}))
    for part in sub.get("allOf", []):
        ref = part.get("$ref", "")
        if ref.startswith("#/definitions/"):
            keys |= set(schema["definitions"][ref.rsplit("/", 1)[1]].get("properties", {}))
    return keys


def _check_scanner_names(
    data: Mapping[str, Any], root: yaml.Node | None, path: Path, known: frozenset[str]
) -> None:
    if not known:
        return
    sections = data.get("scanners") or {}
    custom = {c["name"] for c in data.get("custom_scanners") or []}
    valid = known | custom
    scanners_node = _node_at(root, iter(["scanners"]))
    for name in sections:
        if name not in valid:
            hint = difflib.get_close_matches(name, sorted(valid), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(
                f"{path}{_line(_key_node(scanners_node, name))}: unknown scanner {name!r}"
                f"{suggestion} (installed: {', '.join(sorted(valid))})"
            )
    for stage, policy in (data.get("stages") or {}).items():
        for i, name in enumerate((policy or {}).get("scanners") or []):
            if name not in valid:
                hint = difflib.get_close_matches(name, sorted(valid), n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                node = _node_at(root, iter(["stages", stage, "scanners", i]))
                raise ConfigError(
                    f"{path}{_line(node)}: stages.{stage}.scanners names unknown scanner "
                    f"{name!r}{suggestion}"
                )


def _build(data: Mapping[str, Any], root: yaml.Node | None, path: Path) -> Config:
    stages = dict(PRESETS)
    for name, raw in (data.get("stages") or {}).items():
        stages[name] = _stage(PRESETS[name], raw or {})
    ignores = []
    for i, raw in enumerate(data.get("ignore") or []):
        node = _node_at(root, iter(["ignore", i]))
        expires = None
        if "expires" in raw:
            try:
                expires = dt.date.fromisoformat(raw["expires"])
            except ValueError:
                raise ConfigError(
                    f"{path}{_line(node)}: ignore[{i}].expires {raw['expires']!r} is not a "
                    "real date (YYYY-MM-DD)"
                ) from None
        ignores.append(
            IgnoreRule(
                reason=raw["reason"],
                source=f"{path.name}{_line(node)}",
                rule=raw.get("rule"),
                advisory=raw.get("advisory"),
                package=raw.get("package"),
                path=raw.get("path"),
                fingerprint=raw.get("fingerprint"),
                owner=raw.get("owner"),
                expires=expires,
            )
        )
    db = data.get("db")
    baseline = data.get("baseline")
    return Config(
        path=path,
        exclude=tuple(data.get("exclude") or ()),
        db=(path.parent / db) if db else None,
        scanners={k: dict(v or {}) for k, v in (data.get("scanners") or {}).items()},
        custom_scanners=tuple(data.get("custom_scanners") or ()),
        stages=stages,
        ignores=tuple(ignores),
        baseline=(path.parent / baseline) if baseline else None,
    )


def _stage(preset: StagePolicy, raw: Mapping[str, Any]) -> StagePolicy:
    changes: dict[str, Any] = {}
    if "scanners" in raw:
        changes["scanners"] = tuple(raw["scanners"])
    if "fail_on" in raw:
        changes["fail_on"] = None if raw["fail_on"] == "none" else Severity.parse(raw["fail_on"])
    if "fail_on_category" in raw:
        changes["fail_on_category"] = {
            Category(k): Severity.parse(v) for k, v in raw["fail_on_category"].items()
        }
    if "max" in raw:
        changes["max_counts"] = {Severity.parse(k): int(v) for k, v in raw["max"].items()}
    if "categories" in raw:
        changes["categories"] = frozenset(Category(c) for c in raw["categories"])
    for key in ("fail_on_scanner_error", "new_only", "fail_on_stale_db"):
        if key in raw:
            changes[key] = bool(raw[key])
    if "images" in raw:
        changes["images"] = tuple(raw["images"])
    return replace(preset, **changes)
