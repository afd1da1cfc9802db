"""SARIF 2.1.0 for GitHub code scanning and IDEs.

One run per scanner that ran (zero results included, so the tool and its
version show), named after the scanner, with pipeline-guard as the run's
`conversion` tool. GitHub's upload limits are enforced here without failing:
over a limit, the lowest-severity results are left out first and a warning is
recorded in the run (`invocations[0].toolExecutionNotifications` and
`properties.warnings`) and returned by `render_with_warnings` for the CLI.

Output is deterministic (runs by scanner, rules by id, results by place) and
carries no timestamps or durations, so two runs over the same code diff clean.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Final
from urllib.parse import quote

from pipeline_guard.model import Finding, ScannerRun, ScanReport, Severity
from pipeline_guard.reporters.escape import is_web_url, md, md_link, redact_report
from pipeline_guard.severity_scale import (
    format_score,
    most_severe_first,
    sarif_level,
    security_severity,
)

EXTENSION: Final = ".sarif"
SARIF_VERSION: Final = "2.1.0"
SARIF_SCHEMA_URI: Final = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT: Final = "%SRCROOT%"
FINGERPRINT_KEY: Final = "pipeline-guard/v1"
TOOL_NAME: Final = "pipeline-guard"

#: Home pages of the tools we wrap (`tool.driver.informationUri`); others get none.
INFORMATION_URI: Final = {
    "semgrep": "https://semgrep.dev",
    "bandit": "https://bandit.readthedocs.io",
    "checkov": "https://www.checkov.io",
    "osv": "https://osv.dev",
    "osv-scanner": "https://google.github.io/osv-scanner/",
    "pip-audit": "https://github.com/pypa/pip-audit",
    "trivy": "https://trivy.dev",
    "grype": "https://github.com/anchore/grype",
    "detect-secrets": "https://github.com/Yelp/detect-secrets",
}

#: SARIF `precision` (GitHub orders alerts by it) for a tool's confidence word.
PRECISION: Final = {
    "certain": "very-high",
    "very-high": "very-high",
    "very_high": "very-high",
    "high": "high",
    "medium": "medium",
    "moderate": "medium",
    "low": "low",
}

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_CWE = re.compile(r"^CWE-(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class SarifLimits:
    """GitHub code scanning's upload limits (docs: "SARIF support for code scanning").

    Rules per run (25,000) needs no check of its own: a run has at most one rule
    per result, and results are capped at the same number. Each result has one
    location (limit 1,000) and no code flows, so those limits cannot be reached.
    """

    runs_per_file: int = 20
    results_per_run: int = 25_000
    tags_per_rule: int = 20
    gzip_bytes: int = 10 * 1024 * 1024
    #: shortDescription/fullDescription are "limited to 1024 characters".
    description_chars: int = 1024


GITHUB_LIMITS: Final = SarifLimits()


@dataclass
class _RunPlan:
    """What goes into one SARIF run, and what was left out to meet the limits."""

    run: ScannerRun
    findings: list[Finding]
    over_result_limit: Counter[Severity] = field(default_factory=Counter)
    over_size_limit: Counter[Severity] = field(default_factory=Counter)
    tag_truncations: int = 0


def render(report: ScanReport) -> str:
    """The SARIF document text, within GitHub's limits."""
    return render_with_warnings(report)[0]


def render_with_warnings(
    report: ScanReport, limits: SarifLimits = GITHUB_LIMITS
) -> tuple[str, list[str]]:
    """The SARIF text and the warnings about results left out to meet `limits`."""
    report = redact_report(report)
    plans = _plan_runs(report)
    plans, file_warnings = _limit_runs(plans, limits)
    for plan in plans:
        _limit_results(plan, limits)
    text, warnings = _build(report, plans, file_warnings, limits)
    while _too_big(text, limits) and _drop_for_size(plans, text, limits):
        text, warnings = _build(report, plans, file_warnings, limits)
    if _too_big(text, limits):  # no results left to drop: say so rather than fail
        file_warnings.append(
            f"the SARIF file is over GitHub's {limits.gzip_bytes:,}-byte gzip limit "
            "even without results; GitHub will reject it"
        )
        text, warnings = _build(report, plans, file_warnings, limits)
    return text, warnings


# --- choosing what fits -------------------------------------------------------------------


def _plan_runs(report: ScanReport) -> list[_RunPlan]:
    by_scanner: dict[str, list[Finding]] = {}
    for finding in report.findings:
        by_scanner.setdefault(finding.scanner, []).append(finding)
    runs = {run.scanner: run for run in report.runs}
    for name, findings in by_scanner.items():
        if name not in runs:  # a finding whose primary scanner has no run: keep it visible
            runs[name] = ScannerRun(scanner=name, category=findings[0].category, tool_version=None)
    return [
        _RunPlan(run=runs[name], findings=sorted(by_scanner.get(name, []), key=_place_key))
        for name in sorted(runs)
    ]


def _keep_rank(finding: Finding) -> tuple[int, int, int]:
    """Higher keeps longer: severity, then active over suppressed, then new."""
    return (
        int(finding.severity),
        0 if finding.suppression is not None else 1,
        1 if finding.baseline_state == "new" else 0,
    )


def _place_key(finding: Finding) -> tuple[str, int, int, str, str]:
    loc = finding.location
    return (
        loc.path,
        loc.start_line or 0,
        loc.start_column or 0,
        finding.rule_id,
        finding.fingerprint,
    )


def _drop_order(findings: Iterable[Finding]) -> list[Finding]:
    """Lowest rank first; ties broken by place, last place first (deterministic)."""
    by_place = sorted(findings, key=_place_key, reverse=True)
    return sorted(by_place, key=_keep_rank)  # stable: keeps the place order within a rank


def _limit_runs(plans: list[_RunPlan], limits: SarifLimits) -> tuple[list[_RunPlan], list[str]]:
    if len(plans) <= limits.runs_per_file:
        return plans, []

    def importance(plan: _RunPlan) -> tuple[int, int, int]:
        # A failed scanner stays visible; then the run with the worst finding.
        top = max((int(f.severity) for f in plan.findings), default=-1)
        return (1 if plan.run.failed else 0, top, len(plan.findings))

    # Most important first; ties keep the alphabetical order of the scanners.
    ranked = sorted(sorted(plans, key=lambda p: p.run.scanner), key=importance, reverse=True)
    kept, left = ranked[: limits.runs_per_file], ranked[limits.runs_per_file :]
    names = ", ".join(f"{p.run.scanner} ({_describe_counts(_count(p.findings))})" for p in left)
    warning = (
        f"{len(plans)} scanners ran but GitHub accepts at most {limits.runs_per_file} runs per "
        f"SARIF file: left out the runs of {names}"
    )
    return sorted(kept, key=lambda p: p.run.scanner), [warning]


def _limit_results(plan: _RunPlan, limits: SarifLimits) -> None:
    excess = len(plan.findings) - limits.results_per_run
    if excess > 0:
        dropped = _drop_order(plan.findings)[:excess]
        plan.over_result_limit.update(f.severity for f in dropped)
        _remove(plan, dropped)


def _too_big(text: str, limits: SarifLimits) -> bool:
    raw = text.encode("utf-8")
    if len(raw) <= limits.gzip_bytes - 1024:  # gzip never grows text by a kilobyte
        return False
    return _gzip_size(raw) > limits.gzip_bytes


def _gzip_size(raw: bytes) -> int:
    return len(gzip.compress(raw, compresslevel=6, mtime=0))


def _drop_for_size(plans: list[_RunPlan], text: str, limits: SarifLimits) -> bool:
    """Leave out the lowest-ranked results across all runs, in proportion to the excess."""
    pool = [(f, plan) for plan in plans for f in plan.findings]
    if not pool:
        return False
    size = _gzip_size(text.encode("utf-8"))
    # Results dominate the size; aim a little under the limit to converge in few passes.
    keep_share = limits.gzip_bytes / size * 0.95
    excess = max(1, math.ceil(len(pool) * (1 - keep_share)))
    owner = {id(f): plan for f, plan in pool}
    for finding in _drop_order(f for f, _ in pool)[:excess]:
        plan = owner[id(finding)]
        plan.over_size_limit[finding.severity] += 1
        _remove(plan, [finding])
    return True


def _remove(plan: _RunPlan, dropped: Sequence[Finding]) -> None:
    gone = {id(f) for f in dropped}
    plan.findings = [f for f in plan.findings if id(f) not in gone]


def _count(findings: Iterable[Finding]) -> Counter[Severity]:
    return Counter(f.severity for f in findings)


def _describe_counts(counts: Counter[Severity]) -> str:
    if not counts:
        return "no results"
    parts = [f"{counts[s]} {s.label}" for s in sorted(counts, reverse=True)]
    return ", ".join(parts)


def _plan_warnings(plan: _RunPlan, limits: SarifLimits) -> list[str]:
    name = plan.run.scanner
    warnings = []
    if plan.over_result_limit:
        n = sum(plan.over_result_limit.values())
        warnings.append(
            f"{name}: more results than GitHub's limit of {limits.results_per_run:,} per run; "
            f"left out the {n:,} lowest-severity results "
            f"({_describe_counts(plan.over_result_limit)})"
        )
    if plan.over_size_limit:
        n = sum(plan.over_size_limit.values())
        warnings.append(
            f"{name}: left out {n:,} lowest-severity results "
            f"({_describe_counts(plan.over_size_limit)}) to keep the SARIF file under "
            f"GitHub's {limits.gzip_bytes:,}-byte gzip limit"
        )
    if plan.tag_truncations:
        warnings.append(
            f"{name}: {plan.tag_truncations} rule{'' if plan.tag_truncations == 1 else 's'} "
            f"had more than {limits.tags_per_rule} tags "
            "(GitHub's limit); the extra tags were left out"
        )
    return warnings


# --- building the document -----------------------------------------------------------------


def _build(
    report: ScanReport, plans: list[_RunPlan], file_warnings: list[str], limits: SarifLimits
) -> tuple[str, list[str]]:
    runs = []
    warnings = list(file_warnings)
    for index, plan in enumerate(plans):
        plan.tag_truncations = 0
        rules, rule_index = _rules(plan, limits)
        run_warnings = _plan_warnings(plan, limits)
        # File-level warnings go to the first run so a SARIF viewer shows them too.
        notified = run_warnings + (file_warnings if index == 0 else [])
        runs.append(_run(report, plan, rules, rule_index, notified))
        warnings.extend(run_warnings)
    log: dict[str, Any] = {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": runs}
    if file_warnings:
        log["properties"] = {"warnings": list(file_warnings)}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n", warnings


def _run(
    report: ScanReport,
    plan: _RunPlan,
    rules: list[dict[str, Any]],
    rule_index: dict[str, int],
    warnings: list[str],
) -> dict[str, Any]:
    run = plan.run
    out: dict[str, Any] = {
        "tool": {"driver": _driver(run, rules)},
        "conversion": {"tool": {"driver": {"name": TOOL_NAME, "version": report.tool_version}}},
        "automationDetails": {"id": _automation_id(report.stage, run.scanner)},
        "originalUriBaseIds": _base_ids(report.root),
        "invocations": [_invocation(run, warnings)],
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, rule_index[f.rule_id]) for f in plan.findings],
        "properties": {"category": run.category.value, "targets": run.targets},
    }
    if warnings:
        out["properties"]["warnings"] = warnings
    return out


def _automation_id(stage: str, scanner: str) -> str:
    """`pipeline-guard/<stage>/<scanner>/`: GitHub's category, unique per run.

    GitHub reads everything before the last `/` as the category; a `/` inside a
    name would split it, so it becomes `-`.
    """
    return f"{TOOL_NAME}/{stage.replace('/', '-')}/{scanner.replace('/', '-')}/"


def _driver(run: ScannerRun, rules: list[dict[str, Any]]) -> dict[str, Any]:
    driver: dict[str, Any] = {"name": run.scanner}
    if run.tool_version:
        driver["version"] = run.tool_version
        if _SEMVER.match(run.tool_version):
            driver["semanticVersion"] = run.tool_version
    if run.scanner in INFORMATION_URI:
        driver["informationUri"] = INFORMATION_URI[run.scanner]
    driver["rules"] = rules
    return driver


def _base_ids(root: str) -> dict[str, Any]:
    path = PurePosixPath(root)
    if not path.is_absolute():
        return {SRCROOT: {"description": {"text": "The scan root."}}}
    uri = path.as_uri()
    return {SRCROOT: {"uri": uri if uri.endswith("/") else uri + "/"}}


def _invocation(run: ScannerRun, warnings: list[str]) -> dict[str, Any]:
    notes: list[dict[str, Any]] = []
    for error in run.errors:
        note: dict[str, Any] = {
            "level": "error",
            "message": {"text": _message_text(f"{run.scanner} {error.kind}: {error.message}")},
            "descriptor": {"id": error.kind},
        }
        if error.detail:
            note["properties"] = {"detail": error.detail}
        notes.append(note)
    for text in [*run.notes, *warnings]:
        notes.append({"level": "warning", "message": {"text": _message_text(text)}})
    invocation: dict[str, Any] = {"executionSuccessful": not run.errors}
    if notes:
        invocation["toolExecutionNotifications"] = notes
    return invocation


def _message_text(text: str) -> str:
    """Plain SARIF message text: `[` and `]` escaped so no embedded link can form."""
    return re.sub(r"([\[\]])", r"\\\1", text)


# --- rules ----------------------------------------------------------------------------------


def _rules(plan: _RunPlan, limits: SarifLimits) -> tuple[list[dict[str, Any]], dict[str, int]]:
    groups: dict[str, list[Finding]] = {}
    for finding in plan.findings:
        groups.setdefault(finding.rule_id, []).append(finding)
    rules = []
    for rule_id in sorted(groups):
        rule, truncated = _rule(rule_id, groups[rule_id], limits)
        plan.tag_truncations += truncated
        rules.append(rule)
    return rules, {rule["id"]: i for i, rule in enumerate(rules)}


def _rule(rule_id: str, findings: list[Finding], limits: SarifLimits) -> tuple[dict[str, Any], int]:
    top = most_severe_first(findings)[0]
    tags = _tags(findings)
    truncated = 1 if len(tags) > limits.tags_per_rule else 0
    properties: dict[str, Any] = {"tags": tags[: limits.tags_per_rule]}
    precision = PRECISION.get((top.confidence or "").strip().lower())
    if precision:
        properties["precision"] = precision
    score = max(security_severity(f) for f in findings)
    if score > 0.0:  # 0.0 means "no security severity" to GitHub: leave it out
        properties["security-severity"] = format_score(score)
    rule: dict[str, Any] = {
        "id": rule_id,
        "shortDescription": {"text": _clip(top.title or rule_id, limits.description_chars)},
        "fullDescription": {
            "text": _clip(top.message or top.title or rule_id, limits.description_chars)
        },
        "defaultConfiguration": {"level": sarif_level(top.severity)},
        "help": {"text": _help_text(top), "markdown": _help_markdown(top)},
        "properties": properties,
    }
    if top.help_url and is_web_url(top.help_url):
        rule["helpUri"] = top.help_url
    return rule, truncated


def _tags(findings: list[Finding]) -> list[str]:
    tags = ["security", findings[0].category.value]
    for finding in findings:
        tags.extend(_cwe_tag(c) for c in finding.cwes if _CWE.match(c))
    for finding in findings:
        tags.extend(finding.tags)
    return list(dict.fromkeys(t for t in tags if t))


def _cwe_tag(cwe: str) -> str:
    match = _CWE.match(cwe)
    assert match is not None
    return f"external/cwe/cwe-{int(match.group(1))}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _help_text(finding: Finding) -> str:
    lines = [finding.title or finding.rule_id]
    if finding.message and finding.message != finding.title:
        lines += ["", finding.message]
    lines.append("")
    lines += [f"{key}: {value}" for key, value in _facts(finding)]
    if finding.help_url:
        lines.append(f"More information: {finding.help_url}")
    return "\n".join(lines)


def _help_markdown(finding: Finding) -> str:
    parts = [f"**{md(finding.title or finding.rule_id)}**"]
    if finding.message and finding.message != finding.title:
        parts.append(md(finding.message))
    facts = [f"- {md(key)}: {md(value)}" for key, value in _facts(finding, cwes=False)]
    cwe_links = [
        md_link(c, f"https://cwe.mitre.org/data/definitions/{int(m.group(1))}.html")
        for c in finding.cwes
        if (m := _CWE.match(c))
    ]
    if cwe_links:
        facts.append(f"- CWE: {', '.join(cwe_links)}")
    if finding.help_url and is_web_url(finding.help_url):
        facts.append(f"- {md_link('More information', finding.help_url)}")
    parts.append("\n".join(facts))
    return "\n\n".join(p for p in parts if p)


def _facts(finding: Finding, cwes: bool = True) -> list[tuple[str, str]]:
    facts = [("Severity", finding.severity.label)]
    if cwes and finding.cwes:
        facts.append(("Weakness", ", ".join(finding.cwes)))
    if finding.advisories:
        facts.append(("Advisories", ", ".join(finding.advisories)))
    if finding.cvss_score is not None:
        vector = f" ({finding.cvss_vector})" if finding.cvss_vector else ""
        facts.append(("CVSS", f"{finding.cvss_score:.1f}{vector}"))
    if finding.package is not None:
        pkg = finding.package
        fixed = ", ".join(pkg.fixed_versions) if pkg.fixed_versions else "no fix released"
        facts.append(("Package", f"{pkg.ecosystem} {pkg.name} {pkg.version}; fixed in: {fixed}"))
    return facts


# --- results --------------------------------------------------------------------------------


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": sarif_level(finding.severity),
        "message": {"text": _message_text(finding.message or finding.title or finding.rule_id)},
        "locations": [_location(finding)],
    }
    if finding.fingerprint:
        result["partialFingerprints"] = {"primaryLocationLineHash": finding.fingerprint}
        result["fingerprints"] = {FINGERPRINT_KEY: finding.fingerprint}
    if finding.baseline_state in ("new", "unchanged"):
        result["baselineState"] = finding.baseline_state
    if finding.suppression is not None:
        result["suppressions"] = [_suppression(finding)]
    result["properties"] = _result_properties(finding)
    return result


def _location(finding: Finding) -> dict[str, Any]:
    loc = finding.location
    path = loc.path or (finding.package.manifest if finding.package else None) or "."
    # GitHub needs a region on every result: a finding without a line (a whole
    # lockfile or image) points at line 1 of its file.
    start_line = max(1, loc.start_line or 1)
    region: dict[str, Any] = {"startLine": start_line}
    if loc.start_column and loc.start_column >= 1:
        region["startColumn"] = loc.start_column
    end_line = loc.end_line if loc.end_line and loc.end_line >= start_line else None
    if end_line:
        region["endLine"] = end_line
    if loc.end_column and loc.start_column and loc.start_column >= 1:
        multi_line = (end_line or start_line) > start_line
        if multi_line or loc.end_column >= loc.start_column:
            region["endColumn"] = loc.end_column
    if loc.snippet:
        region["snippet"] = {"text": loc.snippet}
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": _artifact(path), "region": region}
    }
    if finding.package is not None:
        pkg = finding.package
        location["logicalLocations"] = [
            {
                "fullyQualifiedName": pkg.purl or f"{pkg.ecosystem}/{pkg.name}@{pkg.version}",
                "kind": "module",
            }
        ]
    return location


def _artifact(path: str) -> dict[str, Any]:
    posix = PurePosixPath(path)
    if posix.is_absolute():  # outside the scan root: an absolute file URI, no base
        return {"uri": posix.as_uri()}
    rel = path[2:] if path.startswith("./") else path
    # A URI reference: percent-encode everything but "/" (a ":" in the first
    # segment, as in an image reference "alpine:3.19", would read as a scheme).
    return {"uri": quote(rel, safe="/"), "uriBaseId": SRCROOT}


def _suppression(finding: Finding) -> dict[str, Any]:
    sup = finding.suppression
    assert sup is not None
    properties = {"source": sup.source}
    if sup.owner:
        properties["owner"] = sup.owner
    if sup.expires:
        properties["expires"] = sup.expires
    return {
        "kind": sup.kind if sup.kind in ("inSource", "external") else "external",
        "status": "accepted",
        "justification": sup.reason,
        "properties": properties,
    }


def _result_properties(finding: Finding) -> dict[str, Any]:
    props: dict[str, Any] = {
        "severity": finding.severity.label,
        "category": finding.category.value,
        "scanner": finding.scanner,
    }
    if finding.sources:
        props["sources"] = [
            {"scanner": s.scanner, "ruleId": s.rule_id, "startLine": s.start_line}
            for s in finding.sources
        ]
    if finding.confidence:
        props["confidence"] = finding.confidence
    if finding.cwes:
        props["cwes"] = list(finding.cwes)
    if finding.advisories:
        props["advisories"] = list(finding.advisories)
    if finding.cvss_score is not None:
        props["cvssScore"] = finding.cvss_score
    if finding.cvss_vector:
        props["cvssVector"] = finding.cvss_vector
    if finding.tags:
        props["tags"] = list(dict.fromkeys(finding.tags))
    if finding.package is not None:
        pkg = finding.package
        props["package"] = {
            "ecosystem": pkg.ecosystem,
            "name": pkg.name,
            "version": pkg.version,
            "fixedVersions": list(pkg.fixed_versions),
            "manifest": pkg.manifest,
            "layer": pkg.layer,
            "purl": pkg.purl,
        }
    return props
