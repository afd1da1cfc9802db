"""osv-scanner adapter: Google's OSV-Scanner run over the project's lockfiles.

Recipe: when the scan has a lockfile, run `osv-scanner scan source --format json
-r <root>` (v2; v1: `osv-scanner --json -r <root>`), read
`results[].source.path` + `packages[].package` + `vulnerabilities[]` (full OSV
records) + `groups[]` (ids that are aliases of one another, `max_severity`),
and report one finding per group on the line that declares the package.
Findings in files outside this scan (excluded, or unchanged in a restricted
scan) are dropped with a note.

Severity table (first usable wins):

    group max_severity (CVSS score)  9.0+ critical, 7.0+ high, 4.0+ medium,
                                     0.1+ low, 0 info        severity:cvss
    the records' own rating          as the `osv` scanner reads it (CVSS vector,
                                     GHSA word...), highest   severity:database
    no rating                        medium                   severity:default

The `severity` option (advisory id or alias -> level) overrides it.

Options (the `osv-scanner:` section): `timeout`, `severity`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from pipeline_guard.vulndb.names import normalize_name
from pipeline_guard.vulndb.severity import SeverityInfo, advisory_severity, score_to_severity

TOOL = "osv-scanner"


class OsvScannerTool(LockfileTool):
    """Lockfiles checked by an installed osv-scanner (queries osv.dev)."""

    name = TOOL
    description = "Known vulnerabilities in lockfiles (osv-scanner, needs network)"

    def run(self, ctx: ScanContext) -> RunOutput:
        # exit 1 means "vulnerabilities found"
        result = run_tool(
            argv_for(self.version(), root_arg(ctx)),
            timeout=self.timeout,
            cwd=ctx.root,
            ok_codes=(0, 1),
        )
        findings, notes = in_scope(parse_osv_scanner(load_tool_json(result, TOOL), ctx), ctx, TOOL)
        apply_overrides(findings, self.options, TOOL)
        return RunOutput(findings, notes=notes)


def argv_for(version: str | None, root: str) -> list[str]:
    """v2 moved source scanning under `scan source` and JSON under `--format json`."""
    major = (version or "2").split(".", 1)[0]
    if major.isdigit() and int(major) < 2:
        return [TOOL, "--json", "-r", root]
    return [TOOL, "scan", "source", "--format", "json", "-r", root]


def parse_osv_scanner(text: str, ctx: ScanContext) -> list[Finding]:
    """Findings from osv-scanner's JSON (v1 or v2)."""
    report = parse_json(text, TOOL)
    expect(isinstance(report, dict), TOOL, "is not an object", report)
    results = report.get("results") or []  # no lockfile vulnerable: results is null
    expect(isinstance(results, list), TOOL, "has no 'results' list", report)
    vulns: list[ToolVuln] = []
    for result in results:
        expect(isinstance(result, dict), TOOL, "has a bad result", result)
        source = result.get("source") or result.get("packageSource") or {}  # v1.0: packageSource
        expect(isinstance(source.get("path"), str), TOOL, "has a result without a source", result)
        manifest = tool_path(ctx, source["path"])
        for entry in result.get("packages") or []:
            expect(
                isinstance(entry, dict) and isinstance(entry.get("package"), dict),
                TOOL,
                "has a bad package entry",
                entry,
            )
            vulns.extend(_package_vulns(entry, manifest))
    findings: list[Finding] = to_findings(TOOL, vulns, ctx)
    return findings


def _package_vulns(entry: Mapping[str, Any], manifest: str) -> list[ToolVuln]:
    pkg = entry["package"]
    expect(
        all(isinstance(pkg.get(k), str) for k in ("name", "version", "ecosystem")),
        TOOL,
        "has a package without name, version or ecosystem",
        pkg,
    )
    records = {
        r["id"]: r
        for r in entry.get("vulnerabilities") or []
        if isinstance(r, dict) and isinstance(r.get("id"), str)
    }
    groups = entry.get("groups") or [{"ids": [i]} for i in records]  # v1.0 had no groups
    out = []
    for group in groups:
        expect(
            isinstance(group, dict) and isinstance(group.get("ids"), list),
            TOOL,
            "has a bad group",
            group,
        )
        members = [records[i] for i in group["ids"] if i in records]
        ids = [*group["ids"], *(group.get("aliases") or [])]
        ids += [a for r in members for a in r.get("aliases") or []]
        rating, tag = _severity(group, members)
        primary = ordered_ids(ids)
        first = next((records[i] for i in primary if i in records), members[0] if members else {})
        out.append(
            ToolVuln(
                ids=primary,
                ecosystem=pkg["ecosystem"],
                name=pkg["name"],
                version=pkg["version"],
                manifest=manifest,
                summary=str(first.get("summary") or first.get("details") or ""),
                severity=rating.severity,
                severity_tag=tag,
                fixed_versions=_fixed(members, pkg),
                cvss_score=rating.score,
                cvss_vector=rating.vector,
                cwes=_cwes(members),
            )
        )
    return out


def _severity(
    group: Mapping[str, Any], records: Sequence[Mapping[str, Any]]
) -> tuple[SeverityInfo, str]:
    rated = [advisory_severity(r) for r in records]
    best = max(rated, key=lambda s: (s.source != "default", s.severity), default=None)
    try:
        score = float(group.get("max_severity") or "")
    except ValueError:
        score = None
    if score is not None and 0.0 <= score <= 10.0:
        vector = next((s.vector for s in rated if s.score == score), None)
        return SeverityInfo(score_to_severity(score), "CVSS", score, vector), "severity:cvss"
    if best is None or best.source == "default":
        return SeverityInfo(Severity.MEDIUM, "default"), "severity:default"
    return best, "severity:database"


def _fixed(records: Sequence[Mapping[str, Any]], pkg: Mapping[str, Any]) -> tuple[str, ...]:
    name = normalize_name(pkg["ecosystem"], pkg["name"])
    fixed: list[str] = []
    for record in records:
        for affected in record.get("affected") or []:
            package = affected.get("package") or {}
            if normalize_name(pkg["ecosystem"], str(package.get("name", ""))) != name:
                continue
            for rng in affected.get("ranges") or []:
                for event in rng.get("events") or []:
                    if (
                        "fixed" in event
                        and rng.get("type") != "GIT"
                        and event["fixed"] not in fixed
                    ):
                        fixed.append(str(event["fixed"]))
    return tuple(fixed)


def _cwes(records: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    out: list[str] = []
    for record in records:
        for cwe in (record.get("database_specific") or {}).get("cwe_ids") or []:
            if isinstance(cwe, str) and cwe not in out:
                out.append(cwe)
    return tuple(out)
