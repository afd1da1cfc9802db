"""Suppressions from config and inline comments: marked, never dropped."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline_guard.config import IgnoreRule
from pipeline_guard.model import Category, Finding, Location, Package, Severity, Source
from pipeline_guard.normalize import SourceFiles
from pipeline_guard.suppress import NO_REASON_RULE, apply_suppressions


def code_finding(line: int, rule: str = "B602") -> Finding:
    return Finding(
        scanner="bandit",
        category=Category.SAST,
        rule_id=rule,
        title="t",
        message="m",
        severity=Severity.HIGH,
        location=Location("app.py", line),
        fingerprint="ab" * 32,
        sources=(Source("bandit", rule, line), Source("semgrep", "pg.python.x", line)),
    )


def test_inline_on_line_and_line_above(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "a = 1\n"
        "# pipeline-guard: ignore[B602] input is a constant\n"
        "run(a)\n"
        "run(b)  # pipeline-guard: ignore[pg.python.x] reviewed by sec team\n"
    )
    result = apply_suppressions(
        [code_finding(3), code_finding(4), code_finding(1)], [], SourceFiles(tmp_path)
    )
    first, second, third = result.findings
    assert first.suppression is not None and first.suppression.kind == "inSource"
    assert first.suppression.reason == "input is a constant"
    assert first.suppression.source == "app.py:2"
    assert second.suppression is not None  # matched through the merged semgrep source
    assert second.suppression.reason == "reviewed by sec team"
    assert third.suppression is None


def test_inline_without_reason_does_not_apply_and_is_reported(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("run(a)  # pipeline-guard: ignore[B602]\n")
    result = apply_suppressions([code_finding(1)], [], SourceFiles(tmp_path))
    original, reported = result.findings
    assert original.suppression is None
    assert reported.rule_id == NO_REASON_RULE
    assert (reported.location.path, reported.location.start_line) == ("app.py", 1)


def test_inline_for_another_rule_does_not_apply(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("run(a)  # pipeline-guard: ignore[B101] asserts\n")
    result = apply_suppressions([code_finding(1)], [], SourceFiles(tmp_path))
    assert result.findings[0].suppression is None


def test_config_rules_match_on_every_selector(tmp_path: Path) -> None:
    dep = Finding(
        scanner="osv",
        category=Category.SCA,
        rule_id="GHSA-xxxx",
        title="t",
        message="m",
        severity=Severity.HIGH,
        location=Location("requirements.txt", 2),
        package=Package("PyPI", "Jinja2", "2.10"),
        advisories=("GHSA-xxxx", "CVE-2019-10906"),
    )
    by_alias = IgnoreRule(
        reason="not reachable",
        source="pipeline-guard.yml:4",
        advisory="CVE-2019-10906",
        package="jinja2",
    )
    wrong_path = IgnoreRule(
        reason="r", source="pipeline-guard.yml:9", rule="GHSA-xxxx", path="other/**"
    )
    result = apply_suppressions([dep], [wrong_path, by_alias], SourceFiles(tmp_path))
    suppression = result.findings[0].suppression
    assert suppression is not None
    assert (suppression.kind, suppression.source) == ("external", "pipeline-guard.yml:4")


def test_expired_entry_stops_applying_and_says_so(tmp_path: Path) -> None:
    rule = IgnoreRule(
        reason="temporary", source="pipeline-guard.yml:7", rule="B602", expires=dt.date(2026, 1, 1)
    )
    result = apply_suppressions(
        [code_finding(1)], [rule], SourceFiles(tmp_path), today=dt.date(2026, 1, 2)
    )
    assert result.findings[0].suppression is None
    assert result.notes == [
        "pipeline-guard.yml:7: ignore entry expired on 2026-01-01 and no longer applies (temporary)"
    ]


def test_native_nosec_and_nosemgrep_mark_instead_of_hiding(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "run(a)  # nosec B602 input is a constant\n"
        "run(b)  # nosemgrep: pg.python.x\n"
        "run(c)  # nosec B101\n"
    )
    findings = [code_finding(1), code_finding(2), code_finding(3)]
    result = apply_suppressions(findings, [], SourceFiles(tmp_path))
    first, second, third = result.findings
    assert first.suppression is not None
    assert first.suppression.reason == "bandit inline ignore: # nosec B602 input is a constant"
    assert second.suppression is not None
    assert second.suppression.reason.startswith("semgrep inline ignore: nosemgrep")
    assert third.suppression is None  # a nosec for another test id does not apply
