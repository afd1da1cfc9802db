"""trivy adapter: Aqua Trivy's filesystem scan of the project's lockfiles.

Recipe: when the scan has a lockfile, run `trivy fs --format json --scanners
vuln [--skip-db-update] <root>`, read `Results[]` (`Target` = the lockfile,
relative to the root) and their `Vulnerabilities[]` (`VulnerabilityID`,
`PkgName`, `InstalledVersion`, `FixedVersion`, `Severity`, `CVSS`, `PrimaryURL`,
`CweIDs`, `References`), and report one finding per (lockfile, package,
version, vulnerability) on the line that declares the package.

Trivy names a vulnerability by its CVE. Its advisories are listed as
`VulnerabilityID` plus `VendorIDs` plus the GHSA the references link to, in
the `osv` scanner's order (GHSA first), so a GHSA both tools report merges.

Severity table (Trivy's own `Severity`):

    CRITICAL -> critical, HIGH -> high, MEDIUM -> medium, LOW -> low
    UNKNOWN  -> from the CVSS score when one is given, else medium

The CVSS score and vector reported are the `SeveritySource` vendor's, else
NVD's, else GHSA's (v3 before v4 before v2). The `severity` option
(advisory id -> level) overrides it.

Options (the `trivy:` section): `timeout`, `severity`, and
`skip_db_update` (bool, default false: pass `--skip-db-update`, for offline
runners with a cached database).
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
    ghsa_ids_in,
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

TOOL = "trivy"
SEVERITY_TABLE: Mapping[str, Severity] = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}
DEFAULT_SEVERITY = Severity.MEDIUM
# Trivy's package types (`Results[].Type`) -> OSV ecosystem, when no purl says it.
ECOSYSTEM_FOR_TYPE: Mapping[str, str] = {
    **dict.fromkeys(("pip", "pipenv", "poetry", "uv", "python-pkg"), "PyPI"),
    **dict.fromkeys(("npm", "yarn", "pnpm", "bun", "node-pkg"), "npm"),
    **dict.fromkeys(("gomod", "gobinary"), "Go"),
    **dict.fromkeys(("cargo", "rustbinary"), "crates.io"),
    **dict.fromkeys(("bundler", "gemspec"), "RubyGems"),
    "composer": "Packagist",
    **dict.fromkeys(("pom", "gradle", "jar", "sbt"), "Maven"),
    **dict.fromkeys(("nuget", "dotnet-core", "packages-props"), "NuGet"),
}
_CVSS_FIELDS = (("V3Score", "V3Vector"), ("V40Score", "V40Vector"), ("V2Score", "V2Vector"))


class TrivyScanner(LockfileTool):
    """Lockfiles checked by an installed trivy (its own vulnerability database)."""

    name = TOOL
    description = "Known vulnerabilities in lockfiles (trivy fs)"

    def run(self, ctx: ScanContext) -> RunOutput:
        argv = [TOOL, "fs", "--format", "json", "--scanners", "vuln", "--quiet"]
        if bool_option(self.options, "skip_db_update", TOOL, False):
            argv.append("--skip-db-update")
        result = run_tool([*argv, root_arg(ctx)], timeout=self.timeout, cwd=ctx.root)
        findings, notes = in_scope(parse_trivy(load_tool_json(result, TOOL), ctx), ctx, TOOL)
        apply_overrides(findings, self.options, TOOL)
        return RunOutput(findings, notes=notes)


def parse_trivy(text: str, ctx: ScanContext) -> list[Finding]:
    """Findings from trivy's JSON (schema version 2)."""
    report = parse_json(text, TOOL)
    expect(
        isinstance(report, dict) and ("Results" in report or "SchemaVersion" in report),
        TOOL,
        "has neither 'SchemaVersion' nor 'Results'",
        report,
    )
    results = report.get("Results") or []  # omitted when nothing was found
    expect(isinstance(results, list), TOOL, "has a 'Results' that is not a list", report)
    vulns = []
    for result in results:
        expect(
            isinstance(result, dict) and isinstance(result.get("Target"), str),
            TOOL,
            "has a result without a Target",
            result,
        )
        if result.get("Class") not in (None, "lang-pkgs"):
            continue  # OS packages belong to image scanning
        manifest = tool_path(ctx, result["Target"])
        for vuln in result.get("Vulnerabilities") or []:
            vulns.append(_vuln(vuln, result, manifest))
    findings: list[Finding] = to_findings(TOOL, vulns, ctx)
    return findings


def _vuln(vuln: Any, result: Mapping[str, Any], manifest: str) -> ToolVuln:
    expect(
        isinstance(vuln, dict)
        and all(
            isinstance(vuln.get(k), str) for k in ("VulnerabilityID", "PkgName", "InstalledVersion")
        ),
        TOOL,
        "has a vulnerability without VulnerabilityID, PkgName or InstalledVersion",
        vuln,
    )
    purl = (vuln.get("PkgIdentifier") or {}).get("PURL")
    ecosystem = ecosystem_from_purl(purl) or ECOSYSTEM_FOR_TYPE.get(str(result.get("Type")), "")
    expect(bool(ecosystem), TOOL, f"has an unknown package type {result.get('Type')!r}", result)
    score, vector = _cvss(vuln)
    word = str(vuln.get("Severity") or "UNKNOWN").upper()
    if word in SEVERITY_TABLE:
        severity, tag = SEVERITY_TABLE[word], "severity:tool"
    elif score is not None:
        severity, tag = score_to_severity(score), "severity:cvss"
    else:
        severity, tag = DEFAULT_SEVERITY, "severity:default"
    refs = [vuln.get("PrimaryURL") or "", *(vuln.get("References") or [])]
    ghsa = ghsa_ids_in(refs)
    ids = [vuln["VulnerabilityID"], *(vuln.get("VendorIDs") or [])]
    if len(ghsa) == 1:  # several would be a guess
        ids += ghsa
    fixed = [v.strip() for v in str(vuln.get("FixedVersion") or "").split(",") if v.strip()]
    return ToolVuln(
        ids=ordered_ids(ids),
        ecosystem=ecosystem,
        name=vuln["PkgName"],
        version=vuln["InstalledVersion"],
        manifest=manifest,
        summary=str(vuln.get("Title") or vuln.get("Description") or ""),
        severity=severity,
        severity_tag=tag,
        fixed_versions=tuple(fixed),
        cvss_score=score,
        cvss_vector=vector,
        help_url=vuln.get("PrimaryURL") or None,
        cwes=tuple(c for c in vuln.get("CweIDs") or () if isinstance(c, str)),
        purl=purl,
    )


def _cvss(vuln: Mapping[str, Any]) -> tuple[float | None, str | None]:
    by_vendor = vuln.get("CVSS") or {}
    order = [vuln.get("SeveritySource"), "nvd", "ghsa", *by_vendor]
    for vendor in order:
        entry = by_vendor.get(vendor) if isinstance(vendor, str) else None
        if not isinstance(entry, dict):
            continue
        for score_key, vector_key in _CVSS_FIELDS:
            score = entry.get(score_key)
            if isinstance(score, int | float) and 0 <= score <= 10:
                return float(score), entry.get(vector_key) or None
    return None, None
