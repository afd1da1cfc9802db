"""SARIF 2.1.0 documents from any tool -> Findings.

Severity table (first that applies):

1. `properties.security-severity` on the result, else on its rule (GitHub's convention, a
   CVSS-like score): >= 9.0 critical, >= 7.0 high, >= 4.0 medium, > 0 low, 0 info.
2. The result's `level`, else the rule's `defaultConfiguration.level`, else "warning"
   (SARIF's default): error -> high, warning -> medium, note -> low, none -> info.

A `severity:` map (rule id -> level) in the scanner's options overrides both.

Rules are found by `ruleIndex` (in `tool.driver`, or in `tool.extensions[n]` when the
result names a `toolComponent`, as CodeQL does), else by `ruleId`. CWE ids come from rule
tags such as `external/cwe/cwe-78` or `CWE-78: ...`, and from CWE taxonomy relationships.
Results the tool marks as passing (`kind: pass|notApplicable`) or gone
(`baselineState: absent`) are not findings; results with `suppressions` are kept and
tagged `suppressed-by-tool`. Malformed documents raise `ScanFailure("parse")` naming the
JSON path of the problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from pipeline_guard.model import Category, Finding, Location, Severity
from pipeline_guard.scanner import ScanContext, ScanFailure
from pipeline_guard.secrets.redact import Scrubber
from pipeline_guard.severity_scale import SEVERITY_FOR_SARIF_LEVEL, severity_from_score

SARIF_VERSION = "2.1.0"
SUPPRESSED_TAG = "suppressed-by-tool"

NOT_FINDINGS = frozenset({"pass", "notApplicable"})
_CWE_TAG = re.compile(r"^(?:external/cwe/)?cwe-(\d+)\b", re.IGNORECASE)
_ADVISORY_ID = re.compile(r"^(?:CVE-\d{4}-\d+|GHSA(?:-[0-9a-z]{4}){3}|PYSEC-\d{4}-\d+)$", re.I)
_CONFIDENCE = {"very-high": "high", "high": "high", "medium": "medium", "low": "low"}
_SECRET_SNIPPET_HIDDEN = "[line not shown: reported as a secret]"  # noqa: S105 (not a password)

T = TypeVar("T")


@dataclass
class IngestResult:
    """Findings from one SARIF document, with notes for the user and values to redact."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    redact: list[str] = field(default_factory=list)


def parse_sarif(text: str, source: str = "the SARIF output") -> dict[str, Any]:
    """Decode a SARIF document and check its envelope; ScanFailure("parse") if it is not one."""
    if not text.strip():
        raise ScanFailure("parse", f"{source} is empty, expected a SARIF {SARIF_VERSION} document")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScanFailure(
            "parse",
            f"{source} is not JSON (line {exc.lineno} column {exc.colno}: {exc.msg})",
            text[:500],
        ) from None
    if not isinstance(doc, dict):
        raise ScanFailure("parse", f"{source}: expected a JSON object, got {_kind(doc)}")
    version = doc.get("version")
    if version != SARIF_VERSION:
        raise ScanFailure(
            "parse", f"{source}: version is {version!r}, expected SARIF {SARIF_VERSION!r}"
        )
    runs = doc.get("runs")
    if not isinstance(runs, list) or not runs:
        got = "missing" if runs is None else f"{_kind(runs)} {runs!r}"[:80]
        raise ScanFailure("parse", f"{source}: 'runs' must be a non-empty array, got {got}")
    return doc


def ingest_sarif(
    doc: Mapping[str, Any],
    *,
    ctx: ScanContext,
    scanner: str,
    category: Category,
    severity_overrides: Mapping[str, Severity] | None = None,
) -> IngestResult:
    """Every result of every run as a Finding (see the module docstring for the rules)."""
    out = IngestResult()
    for i, run in enumerate(_req(doc, "runs", list, "")):
        if not isinstance(run, dict):
            raise ScanFailure("parse", f"runs[{i}]: expected an object, got {_kind(run)}")
        _RunReader(run, f"runs[{i}]", ctx, scanner, category, severity_overrides or {}).read(out)
    return out


class _RunReader:
    """Reads one `run`: its rules, base URIs, invocations and results."""

    def __init__(
        self,
        run: Mapping[str, Any],
        where: str,
        ctx: ScanContext,
        scanner: str,
        category: Category,
        overrides: Mapping[str, Severity],
    ) -> None:
        self.run, self.where, self.ctx = run, where, ctx
        self.scanner, self.category, self.overrides = scanner, category, overrides
        tool = _req(run, "tool", dict, where)
        self.driver = _req(tool, "driver", dict, f"{where}.tool")
        self.extensions = _opt(tool, "extensions", list, f"{where}.tool") or []
        self.bases = _opt(run, "originalUriBaseIds", dict, where) or {}
        self.artifacts = _opt(run, "artifacts", list, where) or []

    def read(self, out: IngestResult) -> None:
        self._invocations(out)
        results = run_results(self.run, self.where)
        for i, result in enumerate(results):
            where = f"{self.where}.results[{i}]"
            if not isinstance(result, dict):
                raise ScanFailure("parse", f"{where}: expected an object, got {_kind(result)}")
            if _opt(result, "kind", str, where) in NOT_FINDINGS:
                continue
            if _opt(result, "baselineState", str, where) == "absent":
                continue
            out.findings.append(self._finding(result, where, out))

    def _invocations(self, out: IngestResult) -> None:
        name = _opt(self.driver, "name", str, f"{self.where}.tool.driver") or self.scanner
        invocations = _opt(self.run, "invocations", list, self.where) or []
        for i, inv in enumerate(invocations):
            where = f"{self.where}.invocations[{i}]"
            if not isinstance(inv, dict):
                raise ScanFailure("parse", f"{where}: expected an object, got {_kind(inv)}")
            errors = [
                self._notification_text(n, f"{where}.{key}[{j}]")
                for key in ("toolExecutionNotifications", "toolConfigurationNotifications")
                for j, n in enumerate(_opt(inv, key, list, where) or [])
                if isinstance(n, dict) and n.get("level", "warning") == "error"
            ]
            if inv.get("executionSuccessful") is False:
                raise ScanFailure(
                    "crash", f"{name} reported that its run failed", "\n".join(errors)
                )
            out.notes.extend(f"{name}: {e}" for e in errors)

    def _notification_text(self, note: Mapping[str, Any], where: str) -> str:
        message = _opt(note, "message", dict, where) or {}
        text = _opt(message, "text", str, f"{where}.message") or "error"
        locations = _opt(note, "locations", list, where) or []
        if locations and isinstance(locations[0], dict):
            path = self._path(locations[0], f"{where}.locations[0]")
            if path:
                return f"{path}: {text}"
        return text

    # --- one result ----------------------------------------------------------------------

    def _finding(self, result: Mapping[str, Any], where: str, out: IngestResult) -> Finding:
        rule = self._rule(result, where)
        rule_id = (
            _opt(result, "ruleId", str, where)
            or _opt(_opt(result, "rule", dict, where) or {}, "id", str, f"{where}.rule")
            or _opt(rule, "id", str, f"{where} rule")
            or "unknown"
        )
        rule_props = _opt(rule, "properties", dict, f"{where} rule") or {}
        result_props = _opt(result, "properties", dict, where) or {}
        title = _text_of(rule, "shortDescription") or _opt(rule, "name", str, "rule") or rule_id
        message = self._message(result, rule, where) or title
        location, secret = self._location(result, where)
        if secret is not None:
            out.redact.append(secret)
            scrub = Scrubber([secret])
            title, message = scrub(title), scrub(message)
        tags = _tags(rule_props, where) + _tags(result_props, where)
        if _is_suppressed(result, where):
            tags.append(SUPPRESSED_TAG)
        cwes = _cwes(tags) + _cwe_relationships(rule, where)
        return Finding(
            scanner=self.scanner,
            category=self.category,
            rule_id=rule_id,
            title=title,
            message=message,
            severity=self._severity(rule_id, result, rule, result_props, rule_props, where),
            location=location,
            confidence=_confidence(result_props, rule_props),
            advisories=(rule_id,) if _ADVISORY_ID.match(rule_id) else (),
            cwes=tuple(dict.fromkeys(cwes)),
            help_url=_opt(rule, "helpUri", str, f"{where} rule"),
            tags=tuple(dict.fromkeys(t for t in tags if not _CWE_TAG.match(t))),
        )

    def _rule(self, result: Mapping[str, Any], where: str) -> Mapping[str, Any]:
        ref = _opt(result, "rule", dict, where) or {}
        index = _opt(result, "ruleIndex", int, where)
        if index is None:
            index = _opt(ref, "index", int, f"{where}.rule")
        component = self.driver
        tc = _opt(ref, "toolComponent", dict, f"{where}.rule") or {}
        tc_index = _opt(tc, "index", int, f"{where}.rule.toolComponent")
        if tc_index is not None:
            if not 0 <= tc_index < len(self.extensions) or not isinstance(
                self.extensions[tc_index], dict
            ):
                raise ScanFailure(
                    "parse", f"{where}.rule.toolComponent.index {tc_index} names no extension"
                )
            component = self.extensions[tc_index]
        rules = _opt(component, "rules", list, f"{self.where}.tool component") or []
        if index is not None and index >= 0:
            if index >= len(rules) or not isinstance(rules[index], dict):
                raise ScanFailure(
                    "parse", f"{where}: ruleIndex {index} is out of range ({len(rules)} rules)"
                )
            return rules[index]  # type: ignore[no-any-return]
        rule_id = _opt(result, "ruleId", str, where) or _opt(ref, "id", str, f"{where}.rule")
        return self._rule_by_id(rule_id) if rule_id else {}

    def _rule_by_id(self, rule_id: str) -> Mapping[str, Any]:
        components = [self.driver, *(e for e in self.extensions if isinstance(e, dict))]
        candidates = [r for c in components for r in (c.get("rules") or []) if isinstance(r, dict)]
        # hierarchical ids ("CA2000/1") fall back to their parent rule
        for wanted in (rule_id, rule_id.split("/", 1)[0]):
            for rule in candidates:
                if rule.get("id") == wanted:
                    return rule
        return {}

    def _message(
        self, result: Mapping[str, Any], rule: Mapping[str, Any], where: str
    ) -> str | None:
        message = _opt(result, "message", dict, where) or {}
        text = _opt(message, "text", str, f"{where}.message")
        if text is None:
            msg_id = _opt(message, "id", str, f"{where}.message")
            strings = _opt(rule, "messageStrings", dict, "rule") or {}
            template = strings.get(msg_id) if msg_id else None
            text = template.get("text") if isinstance(template, dict) else None
        if text is None:
            return None
        args = _opt(message, "arguments", list, f"{where}.message") or []
        for n, arg in enumerate(args):
            text = text.replace(f"{{{n}}}", str(arg))
        return text

    def _severity(
        self,
        rule_id: str,
        result: Mapping[str, Any],
        rule: Mapping[str, Any],
        result_props: Mapping[str, Any],
        rule_props: Mapping[str, Any],
        where: str,
    ) -> Severity:
        if rule_id in self.overrides:
            return self.overrides[rule_id]
        for props, at in ((result_props, where), (rule_props, f"{where} rule")):
            score = _score(props.get("security-severity"), f"{at}.properties.security-severity")
            if score is not None:
                return severity_from_score(score)
        default = _opt(rule, "defaultConfiguration", dict, f"{where} rule") or {}
        level = (
            _opt(result, "level", str, where)
            or _opt(default, "level", str, f"{where} rule.defaultConfiguration")
            or "warning"
        )
        if level not in SEVERITY_FOR_SARIF_LEVEL:
            choices = ", ".join(SEVERITY_FOR_SARIF_LEVEL)
            raise ScanFailure("parse", f"{where}.level: {level!r} is not one of {choices}")
        return SEVERITY_FOR_SARIF_LEVEL[level]

    # --- locations -----------------------------------------------------------------------

    def _location(self, result: Mapping[str, Any], where: str) -> tuple[Location, str | None]:
        """The first location, and for secrets the value the tool's snippet shows."""
        locations = _opt(result, "locations", list, where) or []
        if not locations:
            return Location(path="."), None
        first = locations[0]
        at = f"{where}.locations[0]"
        if not isinstance(first, dict):
            raise ScanFailure("parse", f"{at}: expected an object, got {_kind(first)}")
        path = self._path(first, at) or "."
        physical = _opt(first, "physicalLocation", dict, at) or {}
        region = _opt(physical, "region", dict, f"{at}.physicalLocation") or {}
        rat = f"{at}.physicalLocation.region"
        start = _opt(region, "startLine", int, rat)
        snippet_obj = _opt(region, "snippet", dict, rat) or {}
        snippet = _opt(snippet_obj, "text", str, f"{rat}.snippet")
        secret = None
        if self.category is Category.SECRET:
            secret = snippet.strip() if snippet and snippet.strip() else None
            snippet = self._secret_snippet(path, start, secret)
        elif snippet is not None:
            snippet = snippet.rstrip("\r\n")
        location = Location(
            path=path,
            start_line=start,
            end_line=_opt(region, "endLine", int, rat) or start,
            start_column=_opt(region, "startColumn", int, rat),
            end_column=_opt(region, "endColumn", int, rat),
            snippet=snippet,
        )
        return location, secret

    def _path(self, location: Mapping[str, Any], where: str) -> str | None:
        physical = _opt(location, "physicalLocation", dict, where) or {}
        artifact = _opt(physical, "artifactLocation", dict, f"{where}.physicalLocation")
        if artifact is None:
            return None
        at = f"{where}.physicalLocation.artifactLocation"
        uri = _opt(artifact, "uri", str, at)
        base_id = _opt(artifact, "uriBaseId", str, at)
        index = _opt(artifact, "index", int, at)
        if uri is None and index is not None and 0 <= index < len(self.artifacts):
            listed = self.artifacts[index]
            listed_loc = listed.get("location") if isinstance(listed, dict) else None
            if isinstance(listed_loc, dict):
                uri, base_id = listed_loc.get("uri"), listed_loc.get("uriBaseId")
        if not isinstance(uri, str):
            return None
        return self._resolve(uri, base_id if isinstance(base_id, str) else None)

    def _resolve(self, uri: str, base_id: str | None, depth: int = 0) -> str:
        """A SARIF URI as a path relative to the scan root (or as given, if elsewhere)."""
        parts = urlsplit(uri)
        if parts.scheme == "file":
            return self.ctx.relative(unquote(parts.path))
        if parts.scheme and len(parts.scheme) > 1:  # http:, git:, ... (a drive letter is 1)
            return uri
        rel = unquote(uri)
        base = self.bases.get(base_id) if base_id else None
        if isinstance(base, dict) and isinstance(base.get("uri"), str) and depth < 8:
            parent = self._resolve(base["uri"], base.get("uriBaseId"), depth + 1)
            if Path(parent).is_absolute():
                return self.ctx.relative(Path(parent) / rel)
            return self.ctx.relative(PurePosixPath(parent, rel).as_posix())
        # an unknown base (e.g. %SRCROOT% without a definition) is the directory the tool
        # ran in, which is the scan root
        return self.ctx.relative(rel)

    def _secret_snippet(self, path: str, line: int | None, value: str | None) -> str:
        """Never show a secret: the tool's snippet is taken as the value, and masked in the
        source line; with no snippet to mask, the line is not shown at all."""
        if value is None:
            return _SECRET_SNIPPET_HIDDEN
        inside = not Path(path).is_absolute() and ".." not in PurePosixPath(path).parts
        source_line = _read_line(self.ctx.root / path, line) if line and inside else None
        scrub = Scrubber([value])
        if source_line is not None and value in source_line:
            return scrub(source_line)
        return scrub(value)


# --- small readers -------------------------------------------------------------------------


def run_results(run: Mapping[str, Any], where: str) -> list[Any]:
    """A run's results; absent means the tool produced none (SARIF 2.1.0 §3.14.23)."""
    results = run.get("results")
    if results is None:
        raise ScanFailure(
            "parse",
            f"{where} has no 'results' array: in SARIF that means the tool failed to produce "
            "results (an empty array means it found nothing)",
        )
    if not isinstance(results, list):
        raise ScanFailure("parse", f"{where}.results: expected an array, got {_kind(results)}")
    return results


def _kind(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"
    return names.get(type(value), type(value).__name__)


def _check(value: object, kind: type[T], where: str) -> T:
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        expected = {dict: "object", list: "array", str: "string", int: "integer"}.get(
            kind, kind.__name__
        )
        raise ScanFailure("parse", f"{where}: expected {expected}, got {_kind(value)}")
    return value  # type: ignore[return-value]


def _opt(node: Mapping[str, Any], key: str, kind: type[T], where: str) -> T | None:
    value = node.get(key)
    return None if value is None else _check(value, kind, f"{where}.{key}".lstrip("."))


def _req(node: Mapping[str, Any], key: str, kind: type[T], where: str) -> T:
    value = _opt(node, key, kind, where)
    if value is None:
        raise ScanFailure("parse", f"{where}.{key}".lstrip(".") + " is missing")
    return value


def _text_of(node: Mapping[str, Any], key: str) -> str | None:
    value = node.get(key)
    text = value.get("text") if isinstance(value, dict) else None
    return text if isinstance(text, str) and text.strip() else None


def _score(value: object, where: str) -> float | None:
    if value is None:
        return None
    try:
        score = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ScanFailure("parse", f"{where}: {value!r} is not a number") from None
    if not 0.0 <= score <= 10.0:
        raise ScanFailure("parse", f"{where}: {score} is outside 0.0-10.0")
    return score


def _tags(props: Mapping[str, Any], where: str) -> list[str]:
    tags = props.get("tags")
    if tags is None:
        return []
    return [t for t in _check(tags, list, f"{where}.properties.tags") if isinstance(t, str)]


def _cwes(tags: Sequence[str]) -> list[str]:
    return [f"CWE-{int(m.group(1))}" for m in map(_CWE_TAG.match, tags) if m]


def _cwe_relationships(rule: Mapping[str, Any], where: str) -> list[str]:
    out = []
    for rel in _opt(rule, "relationships", list, f"{where} rule") or []:
        target = rel.get("target") if isinstance(rel, dict) else None
        if not isinstance(target, dict):
            continue
        component = target.get("toolComponent")
        name = component.get("name") if isinstance(component, dict) else None
        target_id = str(target.get("id", ""))
        if isinstance(name, str) and name.upper() == "CWE" and target_id.isdigit():
            out.append(f"CWE-{int(target_id)}")
    return out


def _is_suppressed(result: Mapping[str, Any], where: str) -> bool:
    suppressions = _opt(result, "suppressions", list, where) or []
    return any(isinstance(s, dict) and s.get("status") != "rejected" for s in suppressions)


def _confidence(result_props: Mapping[str, Any], rule_props: Mapping[str, Any]) -> str | None:
    for value in (
        result_props.get("confidence"),
        result_props.get("issue_confidence"),  # bandit
        rule_props.get("precision"),  # CodeQL and bandit rules
    ):
        if isinstance(value, str) and value.lower() in _CONFIDENCE:
            return _CONFIDENCE[value.lower()]
    return None


def _read_line(path: Path, line: int) -> str | None:
    try:
        with path.open("rb") as fh:
            for n, raw in enumerate(fh, start=1):
                if n == line:
                    return raw.decode("utf-8", "replace").rstrip("\r\n")
    except OSError:
        return None
    return None
