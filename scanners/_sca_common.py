"""What the external SCA adapters (pip-audit, osv-scanner, trivy, grype) share.

Each adapter's parser turns its tool's JSON into `ToolVuln`s: one package at
one version in one manifest, affected by one vulnerability (its ids ordered
like our own `osv` scanner orders them: GHSA, then ecosystem databases such as
PYSEC, then distribution advisories, then CVE). `to_findings` then locates the
package on its declaring line, using our own manifest parsers, and adopts the
manifest's spelling of the name, so the core's fingerprint (category, manifest,
ecosystem, name, version, first advisory) merges a vulnerability reported by
both a tool and `osv` into one finding.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline_guard.model import Category, Finding, Location, Package, Severity
from pipeline_guard.scanner import ScanContext, ScanFailure, ToolResult
from pipeline_guard.sources.base import PURL_TYPES, Dependency, purl_for
from pipeline_guard.sources.loader import collect
from pipeline_guard.vulndb.advice import clip
from pipeline_guard.vulndb.matcher import id_rank
from pipeline_guard.vulndb.names import canonical_ecosystem, normalize_name
from pipeline_guard.vulndb.versions import InvalidVersion, UnknownEcosystem, ordering_for

OSV_URL = "https://osv.dev/vulnerability/"
OVERRIDE_TAG = "severity:config"
_ECOSYSTEM_FOR_PURL_TYPE = {purl_type: eco for eco, purl_type in PURL_TYPES.items()}
_GHSA_IN_URL = re.compile(r"/advisories/(GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})\b")


@dataclass(frozen=True)
class ToolVuln:
    """One vulnerability of one package in one manifest, as a tool reported it."""

    ids: tuple[str, ...]  # primary first (see `ordered_ids`)
    ecosystem: str
    name: str
    version: str
    manifest: str  # relative to the scan root
    summary: str
    severity: Severity
    severity_tag: str  # e.g. "severity:cvss", "severity:tool", "severity:default"
    fixed_versions: tuple[str, ...] = ()
    cvss_score: float | None = None
    cvss_vector: str | None = None
    help_url: str | None = None
    cwes: tuple[str, ...] = ()
    purl: str | None = None


def ordered_ids(ids: Iterable[str]) -> tuple[str, ...]:
    """Distinct non-empty ids, primary first, in the order our `osv` scanner uses."""
    return tuple(sorted({i.strip() for i in ids if i and i.strip()}, key=id_rank))


def ghsa_ids_in(urls: Iterable[str]) -> set[str]:
    """GitHub advisory ids named by advisory URLs (tools that report only a CVE
    often link the GHSA that the OSV data is keyed on)."""
    return {m.group(1) for url in urls if isinstance(url, str) for m in _GHSA_IN_URL.finditer(url)}


def ecosystem_from_purl(purl: str | None) -> str | None:
    """The OSV ecosystem of a package URL (`pkg:pypi/...` -> PyPI), None if unknown."""
    if not purl or not purl.startswith("pkg:"):
        return None
    purl_type = purl[4:].split("/", 1)[0].lower()
    return _ECOSYSTEM_FOR_PURL_TYPE.get(purl_type)


def load_tool_json(result: ToolResult, tool: str) -> str:
    """The tool's stdout, or a `crash` when it exited non-zero without printing JSON.

    Several tools exit 1 both for "vulnerabilities found" and for errors; only
    the output tells them apart.
    """
    if result.returncode != 0 and not result.stdout.lstrip().startswith(("{", "[")):
        detail = (result.stderr.strip() or result.stdout.strip())[-3000:]
        raise ScanFailure("crash", f"{tool} exited with code {result.returncode}", detail)
    return result.stdout


def parse_json(text: str, tool: str) -> Any:
    """JSON text, or ScanFailure("parse") naming the tool."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScanFailure(
            "parse", f"{tool} printed something that is not JSON ({exc})", text[:2000]
        ) from None


def expect(condition: bool, tool: str, what: str, sample: object) -> None:
    """ScanFailure("parse") unless the document has the expected shape."""
    if not condition:
        raise ScanFailure("parse", f"{tool}'s JSON {what}", json.dumps(sample)[:2000])


def tool_path(ctx: ScanContext, path: str, *, source_root: str | None = None) -> str:
    """A path a tool printed, relative to the scan root.

    `source_root` is the directory the tool was pointed at when it prints paths
    rooted there (grype's `/requirements.txt` for `dir:/work/app`).
    """
    if source_root and path.startswith("/") and not path.startswith(source_root.rstrip("/") + "/"):
        return path.lstrip("/")
    return ctx.relative(path)


def fix_advice(name: str, ecosystem: str, version: str, fixed: Sequence[str]) -> str:
    """Upgrade advice: the lowest fixed release above the installed one."""
    above = _lowest_above(ecosystem, version, fixed)
    if above:
        return f"Upgrade {name} to {above} or later."
    if fixed:
        return f"Fixed in {', '.join(fixed)}: check the advisory before upgrading."
    return f"No fixed version is known: remove or replace {name}, or accept the risk."


def _lowest_above(ecosystem: str, version: str, fixed: Sequence[str]) -> str | None:
    try:
        ordering = ordering_for(ecosystem)
        installed = ordering.key(version)
        keyed = sorted((ordering.key(v), v) for v in fixed)
    except (UnknownEcosystem, InvalidVersion, TypeError):
        return fixed[0] if len(fixed) == 1 else None
    return next((v for key, v in keyed if key > installed), None)


class _DeclaredLines:
    """Where our own manifest parsers saw each package, to place a tool's findings."""

    def __init__(self, ctx: ScanContext, manifests: Iterable[str]) -> None:
        wanted = tuple(sorted({m for m in manifests if m in ctx.files}))
        collected = collect(ctx.root, wanted) if wanted else None
        self._exact: dict[tuple[str, str, str, str], Dependency] = {}
        self._any_version: dict[tuple[str, str, str], Dependency] = {}
        for dep in collected.dependencies if collected else []:
            name = normalize_name(dep.ecosystem, dep.name)
            self._exact.setdefault((dep.manifest, dep.ecosystem, name, dep.version), dep)
            self._any_version.setdefault((dep.manifest, dep.ecosystem, name), dep)

    def find(self, vuln: ToolVuln) -> Dependency | None:
        name = normalize_name(vuln.ecosystem, vuln.name)
        exact = self._exact.get((vuln.manifest, vuln.ecosystem, name, vuln.version))
        return exact or self._any_version.get((vuln.manifest, vuln.ecosystem, name))


def to_findings(scanner: str, vulns: Iterable[ToolVuln], ctx: ScanContext) -> list[Finding]:
    """One finding per (manifest, package, version, primary id), on the declaring line
    (line 1 when our parsers do not see the package there, e.g. a transitive one)."""
    vulns = [replace(v, ecosystem=canonical_ecosystem(v.ecosystem)) for v in vulns]
    lines = _DeclaredLines(ctx, (v.manifest for v in vulns))
    seen: set[tuple[str, str, str, str, str]] = set()
    out = []
    for vuln in vulns:
        dep = lines.find(vuln)
        if dep is not None and dep.version == vuln.version:
            vuln = replace(vuln, name=dep.name, purl=vuln.purl or dep.purl)
        key = (vuln.manifest, vuln.ecosystem, vuln.name, vuln.version, vuln.ids[0])
        if key in seen:
            continue
        seen.add(key)
        out.append(_finding(scanner, vuln, dep.line if dep else 1))
    return out


def _finding(scanner: str, vuln: ToolVuln, line: int) -> Finding:
    primary, aliases = vuln.ids[0], vuln.ids[1:]
    summary = vuln.summary.strip().split("\n", 1)[0].strip() or "known vulnerability"
    also = f" (also {', '.join(aliases)})" if aliases else ""
    sentence = summary if summary.endswith((".", "…", "!", "?")) else f"{summary}."
    advice = fix_advice(vuln.name, vuln.ecosystem, vuln.version, vuln.fixed_versions)
    purl = vuln.purl or _purl(vuln)
    return Finding(
        scanner=scanner,
        category=Category.SCA,
        rule_id=primary,
        title=clip(f"{vuln.name} {vuln.version}: {summary}"),
        message=f"{vuln.name} {vuln.version} is affected by {primary}{also}: {sentence} {advice}",
        severity=vuln.severity,
        location=Location(path=vuln.manifest, start_line=line),
        package=Package(
            ecosystem=vuln.ecosystem,
            name=vuln.name,
            version=vuln.version,
            fixed_versions=vuln.fixed_versions,
            manifest=vuln.manifest,
            purl=purl,
        ),
        advisories=vuln.ids,
        cwes=vuln.cwes,
        help_url=vuln.help_url or OSV_URL + primary,
        tags=("dependency", vuln.ecosystem, vuln.severity_tag),
        cvss_score=vuln.cvss_score,
        cvss_vector=vuln.cvss_vector,
    )


def _purl(vuln: ToolVuln) -> str | None:
    try:
        return purl_for(vuln.ecosystem, vuln.name, vuln.version)
    except (KeyError, ValueError):
        return None


def apply_overrides(findings: list[Finding], options: Mapping[str, Any], scanner: str) -> None:
    """Honour the `severity` option (advisory id or alias -> level), in place."""
    table = options.get("severity", {}) or {}
    if not isinstance(table, Mapping):
        raise ScanFailure("config", f"{scanner}.severity must be a mapping of id -> level")
    try:
        overrides = {str(k): Severity.parse(str(v)) for k, v in table.items()}
    except ValueError as exc:
        raise ScanFailure("config", f"{scanner}.severity: {exc}") from None
    for index, finding in enumerate(findings):
        level = next((overrides[i] for i in finding.advisories if i in overrides), None)
        if level is not None:
            tags = tuple(t for t in finding.tags if not t.startswith("severity:"))
            findings[index] = replace(finding, severity=level, tags=(*tags, OVERRIDE_TAG))


def in_scope(
    findings: list[Finding], ctx: ScanContext, scanner: str
) -> tuple[list[Finding], list[str]]:
    """Findings in files this scan covers; tools walking the whole tree also see
    files the config excludes (or, in a restricted scan, files not changed)."""
    files = set(ctx.files)
    kept = [f for f in findings if f.location.path in files]
    dropped = sorted({f.location.path for f in findings if f.location.path not in files})
    notes = (
        [
            f"{scanner}: findings in {len(dropped)} file(s) outside this scan ignored: "
            + ", ".join(dropped[:5])
        ]
        if dropped
        else []
    )
    return kept, notes


def bool_option(options: Mapping[str, Any], key: str, scanner: str, default: bool) -> bool:
    """A boolean option, or a `config` failure naming it."""
    value = options.get(key, default)
    if not isinstance(value, bool):
        raise ScanFailure("config", f"{scanner}.{key} must be true or false, not {value!r}")
    return value


def root_arg(ctx: ScanContext) -> str:
    """The scan root as an absolute path argument."""
    return str(Path(ctx.root).resolve())
