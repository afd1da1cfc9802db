"""pip-audit adapter: known vulnerabilities in requirements files, as pip-audit reports them.

Recipe: for each `requirements*.txt` among the scan's files run
`pip-audit -r <file> -f json --progress-spinner off`, read its JSON
(`dependencies[].vulns[]` with `id`, `fix_versions`, `aliases`, `description`)
and report one finding per (package, version, vulnerability) on the line that
declares the package (line 1 for a resolved transitive dependency).

pip-audit needs the network (PyPI to resolve, PyPI or OSV to query). It never
says "no vulnerabilities" silently here: a network error is a `crash`, and every
dependency it lists with a `skip_reason` (not audited) is reported as an
`input` error while the other findings are kept.

Severity table: pip-audit's JSON carries no severity, so every finding is

    (no rating)  medium, tagged severity:default

unless the `severity` option (advisory id or alias -> level) says otherwise.

Options (the `pip-audit:` section): `timeout`, `severity`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pipeline_guard.model import Finding, Severity
from pipeline_guard.scanner import (
    RunOutput,
    ScanContext,
    ScanFailure,
    run_tool,
    tool_version,
)
from pipeline_guard.scanners._sca_common import (
    ToolVuln,
    apply_overrides,
    expect,
    load_tool_json,
    ordered_ids,
    parse_json,
    to_findings,
)
from pipeline_guard.sources.tool_scanner import LockfileTool

TOOL = "pip-audit"
DEFAULT_SEVERITY = Severity.MEDIUM
_NETWORK_ERROR = re.compile(
    r"ConnectionError|Max retries exceeded|Failed to establish a new connection|"
    r"NameResolutionError|Temporary failure in name resolution|ConnectTimeout|"
    r"Network is unreachable|ReadTimeout",
)
_REQUIREMENTS = re.compile(r"requirements[^/]*\.txt", re.IGNORECASE)


class PipAuditScanner(LockfileTool):
    """Python requirements files checked by pip-audit (PyPI / OSV, online)."""

    name = TOOL
    description = "Known vulnerabilities in requirements files (pip-audit, needs network)"

    def inputs(self, ctx: ScanContext) -> Sequence[object]:
        return requirements_files(ctx)

    def version(self) -> str | None:
        return tool_version(TOOL, distribution="pip-audit")

    def run(self, ctx: ScanContext) -> RunOutput:
        output = RunOutput([])
        for rel in requirements_files(ctx):
            argv = [TOOL, "-r", str(ctx.root / rel), "-f", "json", "--progress-spinner", "off"]
            # exit 1 means "vulnerabilities found" as well as "failed"
            result = run_tool(argv, timeout=self.timeout, cwd=ctx.root, ok_codes=(0, 1))
            if _NETWORK_ERROR.search(result.stderr):
                raise ScanFailure(
                    "crash",
                    f"pip-audit could not reach its vulnerability service for {rel} "
                    "(network error): nothing was checked",
                    result.stderr[-3000:],
                )
            text = load_tool_json(result, TOOL)
            output.findings.extend(parse_pip_audit(text, ctx, rel))
            skipped = skipped_dependencies(text)
            if skipped:
                output.errors.append(
                    ScanFailure(
                        "input",
                        f"pip-audit did not audit {len(skipped)} dependencies of {rel}",
                        "\n".join(skipped),
                    )
                )
        apply_overrides(output.findings, self.options, TOOL)
        return output


def requirements_files(ctx: ScanContext) -> list[str]:
    """The `requirements*.txt` files among the scan's files."""
    return [rel for rel in ctx.files if _REQUIREMENTS.fullmatch(rel.rsplit("/", 1)[-1])]


def _dependencies(text: str) -> list[dict[str, Any]]:
    report = parse_json(text, TOOL)
    # pip-audit before 2.0 printed the bare list; later versions wrap it
    deps = report.get("dependencies") if isinstance(report, dict) else report
    expect(isinstance(deps, list), TOOL, "has no 'dependencies' list", report)
    assert isinstance(deps, list)
    expect(all(isinstance(d, dict) and "name" in d for d in deps), TOOL, "has a bad entry", deps)
    return deps


def skipped_dependencies(text: str) -> list[str]:
    """`name: skip_reason` for every dependency pip-audit did not audit."""
    return [f"{d['name']}: {d['skip_reason']}" for d in _dependencies(text) if d.get("skip_reason")]


def parse_pip_audit(text: str, ctx: ScanContext, manifest: str) -> list[Finding]:
    """Findings from pip-audit's JSON for one requirements file (relative path)."""
    vulns = []
    for dep in _dependencies(text):
        for vuln in dep.get("vulns") or []:
            expect(isinstance(vuln, dict) and "id" in vuln, TOOL, "has a bad vuln", dep)
            vulns.append(
                ToolVuln(
                    ids=ordered_ids([vuln["id"], *(vuln.get("aliases") or [])]),
                    ecosystem="PyPI",
                    name=str(dep["name"]),
                    version=str(dep.get("version", "")),
                    manifest=manifest,
                    summary=str(vuln.get("description") or ""),
                    severity=DEFAULT_SEVERITY,
                    severity_tag="severity:default",
                    fixed_versions=tuple(str(v) for v in vuln.get("fix_versions") or ()),
                )
            )
    findings: list[Finding] = to_findings(TOOL, vulns, ctx)
    return findings
