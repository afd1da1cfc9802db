"""grype adapter: Anchore Grype's directory scan of the project's lockfiles.

Recipe: when the scan has a lockfile, run `grype dir:<root> -o json`, read
`matches[]`: `vulnerability` (`id`, `severity`, `cvss[]`, `fix.versions`,
`dataSource`), `relatedVulnerabilities[]` (its CVE and other aliases) and
`artifact` (`name`, `version`, `purl`, `type`, `locations[].path`, rooted at the
scanned directory), and report one finding per (lockfile, package, version,
vulnerability) on the line that declares the package. Advisories are the
vulnerability's id and its related ids, in the `osv` scanner's order.

Severity table (grype's own `severity`):

    Critical -> critical, High -> high, Medium -> medium, Low -> low,
    Negligible -> info
    Unknown  -> from the CVSS base score when one is given, else medium

The CVSS score and vector reported are the first v3 entry (else any) of the
vulnerability, else of its related vulnerabilities. The `severity` option
(advisory id -> level) overrides it.

Options (the `grype:` section): `timeout`, `severity`, and
`skip_db_update` (bool, default false: set GRYPE_DB_AUTO_UPDATE=false, for
offline runners with a cached database).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline_guard.model import Finding, Severity
from pipeline_guard.scanner import (
    RunOutput,
    ScanContext,
    run_tool,
)
from pipeline_guard.scanners._sca_common import (
    ToolVuln,
    apply_overrides,
    bool_option,
    ecosystem_from_purl,
    expect,
    in_scope,
    load_tool_json,
    ordered_ids,
    parse_json,
    root_arg,
    to_findings,
    tool_path,
)
from pipeline_guard.sources.tool_scanner import LockfileTool
from pipeline_guard.vulndb.severity import score_to_severity

TOOL = "grype"
SEVERITY_TABLE: Mapping[str, Severity] = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "negligible": Severity.INFO,
}
DEFAULT_SEVERITY = Severity.MEDIUM
# grype's artifact types -> OSV ecosystem, when no purl says it.
ECOSYSTEM_FOR_TYPE: Mapping[str, str] = {
    "python": "PyPI",
    "npm": "npm",
    "go-module": "Go",
    "rust-crate": "crates.io",
    "gem": "RubyGems",
    "php-composer": "Packagist",
    "java-archive": "Maven",
    "dotnet": "NuGet",
}


class GrypeScanner(LockfileTool):
    """Lockfiles checked by an installed grype (its own vulnerability database)."""

    name = TOOL
    description = "Known vulnerabilities in lockfiles (grype dir:)"

    def run(self, ctx: ScanContext) -> RunOutput:
        env = {}
        if bool_option(self.options, "skip_db_update", TOOL, False):
            env["GRYPE_DB_AUTO_UPDATE"] = "false"
        argv = [TOOL, f"dir:{root_arg(ctx)}", "-o", "json", "-q"]
        result = run_tool(argv, timeout=self.timeout, cwd=ctx.root, env=env)
        findings, notes = in_scope(parse_grype(load_tool_json(result, TOOL), ctx), ctx, TOOL)
        apply_overrides(findings, self.options, TOOL)
        return RunOutput(findings, notes=notes)


def parse_grype(text: str, ctx: ScanContext) -> list[Finding]:
    """Findings from grype's JSON."""
    report = parse_json(text, TOOL)
    expect(
        isinstance(report, dict) and isinstance(report.get("matches"), list),
        TOOL,
        "has no 'matches' list",
        report,
    )
    target = (report.get("source") or {}).get("target")
    source_root = target if isinstance(target, str) else None
    vulns = []
    for match in report["matches"]:
        expect(
            isinstance(match, dict)
            and isinstance(match.get("vulnerability"), dict)
            and isinstance(match.get("artifact"), dict),
            TOOL,
            "has a bad match",
            match,
        )
        vulns.append(_vuln(match, ctx, source_root))
    findings: list[Finding] = to_findings(TOOL, vulns, ctx)
    return findings


def _vuln(match: Mapping[str, Any], ctx: ScanContext, source_root: str | None) -> ToolVuln:
    vuln, artifact = match["vulnerability"], match["artifact"]
    related = [r for r in match.get("relatedVulnerabilities") or [] if isinstance(r, dict)]
    expect(isinstance(vuln.get("id"), str), TOOL, "has a vulnerability without an id", vuln)
    expect(
        all(isinstance(artifact.get(k), str) for k in ("name", "version")),
        TOOL,
        "has an artifact without name or version",
        artifact,
    )
    purl = artifact.get("purl") or None
    ecosystem = ecosystem_from_purl(purl) or ECOSYSTEM_FOR_TYPE.get(str(artifact.get("type")), "")
    expect(
        bool(ecosystem), TOOL, f"has an unknown artifact type {artifact.get('type')!r}", artifact
    )
    score, vector = _cvss([vuln, *related])
    word = str(vuln.get("severity") or "Unknown").lower()
    if word in SEVERITY_TABLE:
        severity, tag = SEVERITY_TABLE[word], "severity:tool"
    elif score is not None:
        severity, tag = score_to_severity(score), "severity:cvss"
    else:
        severity, tag = DEFAULT_SEVERITY, "severity:default"
    fix = vuln.get("fix") or {}
    description = vuln.get("description") or next(
        (r.get("description") for r in related if r.get("description")), ""
    )
    return ToolVuln(
        ids=ordered_ids([vuln["id"], *(str(r.get("id", "")) for r in related)]),
        ecosystem=ecosystem,
        name=artifact["name"],
        version=artifact["version"],
        manifest=_manifest(artifact, ctx, source_root),
        summary=str(description or ""),
        severity=severity,
        severity_tag=tag,
        fixed_versions=tuple(str(v) for v in fix.get("versions") or ()),
        cvss_score=score,
        cvss_vector=vector,
        help_url=vuln.get("dataSource") or None,
        purl=purl,
    )


def _manifest(artifact: Mapping[str, Any], ctx: ScanContext, source_root: str | None) -> str:
    paths = [
        tool_path(ctx, loc["path"], source_root=source_root)
        for loc in artifact.get("locations") or []
        if isinstance(loc, dict) and isinstance(loc.get("path"), str)
    ]
    expect(bool(paths), TOOL, "has an artifact without a location", artifact)
    chosen: str = next((p for p in paths if p in ctx.files), paths[0])
    return chosen


def _cvss(entries: list[Mapping[str, Any]]) -> tuple[float | None, str | None]:
    scored = [
        (str(c.get("version", "")), float(c["metrics"]["baseScore"]), c.get("vector") or None)
        for entry in entries
        for c in entry.get("cvss") or []
        if isinstance(c, dict)
        and isinstance((c.get("metrics") or {}).get("baseScore"), int | float)
    ]
    best = next((s for s in scored if s[0].startswith("3")), scored[0] if scored else None)
    return (best[1], best[2]) if best else (None, None)
