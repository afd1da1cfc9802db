"""The gate: policy in, verdict with reasons and exit code out."""

from __future__ import annotations

from dataclasses import replace

from pipeline_guard.config import PRESETS
from pipeline_guard.gate import evaluate
from pipeline_guard.model import (
    Category,
    Finding,
    Location,
    ScannerError,
    ScannerRun,
    Severity,
    Suppression,
)


def finding(severity: Severity, category: Category = Category.SAST, **kw: object) -> Finding:
    return Finding(
        scanner="t",
        category=category,
        rule_id="R1",
        title="t",
        message="m",
        severity=severity,
        location=Location("a.py", 1),
        **kw,  # type: ignore[arg-type]
    )


OK_RUN = ScannerRun("t", Category.SAST, "1.0")
FAILED_RUN = ScannerRun(
    "t", Category.SAST, "1.0", errors=(ScannerError("t", "timeout", "did not finish"),)
)


def test_release_fails_on_high_and_lists_reason() -> None:
    verdict = evaluate(
        PRESETS["release"], [finding(Severity.HIGH), finding(Severity.LOW)], [OK_RUN]
    )
    assert (verdict.passed, verdict.exit_code) == (False, 1)
    assert verdict.reasons == ("1 finding(s) at or above high (1 high)",)


def test_medium_passes_release() -> None:
    verdict = evaluate(PRESETS["release"], [finding(Severity.MEDIUM)], [OK_RUN])
    assert (verdict.passed, verdict.exit_code, verdict.reasons) == (True, 0, ())


def test_precommit_blocks_any_secret() -> None:
    verdict = evaluate(PRESETS["precommit"], [finding(Severity.LOW, Category.SECRET)], [OK_RUN])
    assert not verdict.passed
    assert verdict.reasons == ("1 secret finding(s) at or above info",)


def test_suppressed_findings_do_not_count() -> None:
    sup = Suppression("external", "accepted", "pipeline-guard.yml:3")
    verdict = evaluate(PRESETS["release"], [finding(Severity.CRITICAL, suppression=sup)], [OK_RUN])
    assert verdict.passed


def test_pr_gates_on_new_findings_only() -> None:
    old = finding(Severity.CRITICAL, baseline_state="unchanged")
    assert evaluate(PRESETS["pr"], [old], [OK_RUN]).passed
    verdict = evaluate(PRESETS["pr"], [old, replace(old, baseline_state="new")], [OK_RUN])
    assert verdict.reasons == ("1 new finding(s) at or above high (1 critical)",)


def test_max_counts_and_categories() -> None:
    policy = replace(
        PRESETS["release"],
        fail_on=None,
        max_counts={Severity.MEDIUM: 1},
        categories=frozenset({Category.IAC}),
    )
    sast = [finding(Severity.MEDIUM), finding(Severity.MEDIUM)]
    assert evaluate(policy, sast, [OK_RUN]).passed
    iac = [finding(Severity.MEDIUM, Category.IAC)] * 2
    assert evaluate(policy, iac, [OK_RUN]).reasons == (
        "2 medium finding(s), more than the allowed 1",
    )


def test_scanner_error_fails_closed_in_release_with_exit_3() -> None:
    verdict = evaluate(PRESETS["release"], [finding(Severity.HIGH)], [FAILED_RUN])
    assert verdict.exit_code == 3
    assert verdict.reasons[0] == "scanner t failed (timeout): did not finish"
    assert "at or above high" in verdict.reasons[1]


def test_scanner_error_does_not_block_pr_by_default() -> None:
    assert evaluate(PRESETS["pr"], [], [FAILED_RUN]).exit_code == 0
