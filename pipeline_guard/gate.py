"""The gate: pass or fail for one stage, with every reason.

Exit codes (DESIGN.md, "Conventions"): 0 passed, 1 the gate failed on
findings, 3 a scanner failed and the stage fails closed. When both happen, 3
wins: the findings are incomplete, so "fix these findings" would be misleading.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pipeline_guard.config import StagePolicy
from pipeline_guard.model import Finding, ScannerRun, Severity, Verdict

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SCANNER_ERROR = 3


def gated_findings(policy: StagePolicy, findings: Sequence[Finding]) -> list[Finding]:
    """The findings the gate counts: unsuppressed, in the policy's categories, new if asked."""
    out = []
    for f in findings:
        if f.suppressed:
            continue
        if policy.categories is not None and f.category not in policy.categories:
            continue
        # Without a base to compare with, every finding counts as new.
        if policy.new_only and f.baseline_state == "unchanged":
            continue
        out.append(f)
    return out


def evaluate(
    policy: StagePolicy,
    findings: Sequence[Finding],
    runs: Sequence[ScannerRun],
    blocking_notes: Sequence[str] = (),
) -> Verdict:
    """Decide the stage's verdict. `blocking_notes` are policy failures found
    elsewhere (e.g. a stale vulnerability database in the release stage)."""
    counted = gated_findings(policy, findings)
    scope = "new " if policy.new_only else ""
    reasons: list[str] = []

    if policy.fail_on is not None:
        over = [f for f in counted if f.severity >= policy.fail_on]
        if over:
            reasons.append(
                f"{len(over)} {scope}finding(s) at or above {policy.fail_on.label} "
                f"({_by_severity(over)})"
            )
    for category, threshold in sorted(policy.fail_on_category.items()):
        over = [f for f in counted if f.category is category and f.severity >= threshold]
        if over:
            reasons.append(
                f"{len(over)} {scope}{category.value} finding(s) at or above {threshold.label}"
            )
    counts = Counter(f.severity for f in counted)
    for severity, limit in sorted(policy.max_counts.items(), reverse=True):
        if counts[severity] > limit:
            reasons.append(
                f"{counts[severity]} {scope}{severity.label} finding(s), more than the "
                f"allowed {limit}"
            )
    reasons.extend(blocking_notes)

    failed_runs = [r for r in runs if r.errors]
    error_reasons = [
        f"scanner {e.scanner} failed ({e.kind}): {e.message}" for r in failed_runs for e in r.errors
    ]
    if failed_runs and policy.fail_on_scanner_error:
        return Verdict(policy.name, False, EXIT_SCANNER_ERROR, tuple(error_reasons + reasons))
    if reasons:
        return Verdict(policy.name, False, EXIT_FAILED, tuple(reasons))
    return Verdict(policy.name, True, EXIT_PASSED, ())


def _by_severity(findings: Sequence[Finding]) -> str:
    counts = Counter(f.severity for f in findings)
    return ", ".join(f"{counts[s]} {s.label}" for s in sorted(Severity, reverse=True) if counts[s])
