"""SARIF reporter: schema-valid, GitHub-ready, deterministic, within GitHub's limits."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import random
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pipeline_guard.model import (
    Category,
    Finding,
    Location,
    Package,
    ScannerError,
    ScannerRun,
    ScanReport,
    Severity,
    Source,
    Suppression,
    Verdict,
)
from pipeline_guard.reporters import sarif
from pipeline_guard.severity_scale import (
    SARIF_LEVEL,
    security_severity,
    severity_from_sarif_level,
    severity_from_score,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SARIF_SCHEMA = json.loads((SHARED / "schemas" / "sarif-schema-2.1.0.json").read_text())
VALIDATOR = jsonschema.Draft4Validator(SARIF_SCHEMA)


def fp(n: int) -> str:
    return f"{n:064x}"


def finding(**kw: Any) -> Finding:
    base: dict[str, Any] = {
        "scanner": "semgrep",
        "category": Category.SAST,
        "rule_id": "python.lang.security.audit.subprocess-shell-true",
        "title": "subprocess call with shell=True",
        "message": "Found 'subprocess' function with 'shell=True'.",
        "severity": Severity.HIGH,
        "location": Location("src/app.py", 12, 12, 5, 40, "subprocess.run(cmd, shell=True)"),
        "fingerprint": fp(1),
    }
    base.update(kw)
    return Finding(**base)


def report(
    findings: tuple[Finding, ...],
    runs: tuple[ScannerRun, ...] | None = None,
    stage: str = "release",
    root: str = "/work/repo",
) -> ScanReport:
    if runs is None:
        names = sorted({(f.scanner, f.category) for f in findings})
        runs = tuple(ScannerRun(n, c, "1.0.0") for n, c in names)
    return ScanReport(
        root=root,
        stage=stage,
        findings=findings,
        runs=runs,
        verdict=Verdict(stage, True, 0),
        started_at="2025-05-01T10:00:00Z",
        duration=3.2,
        tool_version="0.1.0",
    )


def render(
    rep: ScanReport, limits: sarif.SarifLimits = sarif.GITHUB_LIMITS
) -> tuple[dict[str, Any], list[str], str]:
    text, warnings = sarif.render_with_warnings(rep, limits)
    doc = json.loads(text)
    VALIDATOR.validate(doc)
    return doc, warnings, text


def run_of(doc: dict[str, Any], name: str) -> dict[str, Any]:
    runs: list[dict[str, Any]] = [r for r in doc["runs"] if r["tool"]["driver"]["name"] == name]
    [run] = runs
    return run


SHELL = finding(
    cwes=("CWE-78",),
    confidence="HIGH",
    help_url="https://semgrep.dev/r/python.lang.security.audit.subprocess-shell-true",
    tags=("python", "owasp-a03"),
    sources=(
        Source("semgrep", "python.lang.security.audit.subprocess-shell-true", 12),
        Source("bandit", "B602", 12),
    ),
    baseline_state="new",
)
ASSERT = finding(
    scanner="bandit",
    rule_id="B101",
    title="assert_used",
    message="Use of assert detected.",
    severity=Severity.LOW,
    location=Location("tests/test x#1.py", 3, None, None, None, "assert x"),
    cwes=("CWE-703",),
    confidence="high",
    fingerprint=fp(2),
    suppression=Suppression("inSource", "test code", "tests/test x#1.py:3", owner="@sec"),
    baseline_state="unchanged",
)
FLASK = finding(
    scanner="osv",
    category=Category.SCA,
    rule_id="GHSA-m2qf-hxjv-5gpq",
    title="Flask vulnerable to possible disclosure of permanent session cookie",
    message="flask 2.0.1 is affected by GHSA-m2qf-hxjv-5gpq (CVE-2023-30861).",
    severity=Severity.HIGH,
    location=Location("requirements.txt"),
    package=Package(
        "PyPI",
        "flask",
        "2.0.1",
        ("2.2.5", "2.3.2"),
        "requirements.txt",
        None,
        "pkg:pypi/flask@2.0.1",
    ),
    advisories=("GHSA-m2qf-hxjv-5gpq", "CVE-2023-30861", "PYSEC-2023-62"),
    cwes=("CWE-539",),
    cvss_score=7.5,
    cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    help_url="https://osv.dev/vulnerability/GHSA-m2qf-hxjv-5gpq",
    fingerprint=fp(3),
)
OPENSSL = finding(
    scanner="image",
    category=Category.IMAGE,
    rule_id="CVE-2024-0727",
    title="openssl: denial of service via null dereference",
    message="openssl 3.1.4-r2 in registry.example.com/app:1.4 is affected.",
    severity=Severity.MEDIUM,
    location=Location("registry.example.com/app:1.4"),
    package=Package(
        "Alpine:v3.19", "openssl", "3.1.4-r2", ("3.1.4-r5",), None, "sha256:" + "c" * 64
    ),
    fingerprint=fp(4),
)
CHECKOV_DOWN = ScannerRun(
    "checkov",
    Category.IAC,
    None,
    errors=(ScannerError("checkov", "timeout", "checkov did not finish within 600s", "tail"),),
)


def full_report() -> ScanReport:
    runs = (
        ScannerRun("semgrep", Category.SAST, "1.185.0", findings=(SHELL,), targets=4),
        ScannerRun(
            "bandit",
            Category.SAST,
            "1.9.4",
            findings=(ASSERT,),
            targets=4,
            notes=("src/broken.py: syntax error, not scanned",),
        ),
        ScannerRun("osv", Category.SCA, "0.1.0", findings=(FLASK,), targets=1),
        ScannerRun("image", Category.IMAGE, "0.1.0", findings=(OPENSSL,), targets=1),
        CHECKOV_DOWN,
        ScannerRun("secrets", Category.SECRET, "0.1.0", targets=4),
    )
    return report((OPENSSL, FLASK, ASSERT, SHELL), runs, stage="pr")


def test_one_run_per_scanner_including_empty_and_failed_ones() -> None:
    doc, warnings, _ = render(full_report())
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-schema-2.1.0.json")
    names = [r["tool"]["driver"]["name"] for r in doc["runs"]]
    assert names == ["bandit", "checkov", "image", "osv", "secrets", "semgrep"]
    assert warnings == []
    ids = [r["automationDetails"]["id"] for r in doc["runs"]]
    assert ids == [f"pipeline-guard/pr/{n}/" for n in names]
    secrets = run_of(doc, "secrets")
    assert secrets["results"] == [] and secrets["tool"]["driver"]["rules"] == []
    assert secrets["invocations"] == [{"executionSuccessful": True}]
    checkov = run_of(doc, "checkov")
    assert "version" not in checkov["tool"]["driver"]
    assert checkov["tool"]["driver"]["informationUri"] == "https://www.checkov.io"
    [inv] = checkov["invocations"]
    assert inv["executionSuccessful"] is False
    [note] = inv["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["message"]["text"] == "checkov timeout: checkov did not finish within 600s"
    assert note["properties"] == {"detail": "tail"}
    bandit = run_of(doc, "bandit")
    [bnote] = bandit["invocations"][0]["toolExecutionNotifications"]
    assert bnote == {
        "level": "warning",
        "message": {"text": "src/broken.py: syntax error, not scanned"},
    }
    semgrep = run_of(doc, "semgrep")
    assert semgrep["tool"]["driver"]["version"] == "1.185.0"
    assert semgrep["tool"]["driver"]["semanticVersion"] == "1.185.0"
    assert semgrep["conversion"]["tool"]["driver"] == {"name": "pipeline-guard", "version": "0.1.0"}
    assert semgrep["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///work/repo/"}}


def test_rule_carries_github_metadata() -> None:
    doc, _, _ = render(full_report())
    [rule] = run_of(doc, "semgrep")["tool"]["driver"]["rules"]
    assert rule["id"] == "python.lang.security.audit.subprocess-shell-true"
    assert rule["shortDescription"] == {"text": "subprocess call with shell=True"}
    assert rule["fullDescription"] == {"text": "Found 'subprocess' function with 'shell=True'."}
    assert rule["defaultConfiguration"] == {"level": "error"}
    assert rule["helpUri"] == SHELL.help_url
    assert rule["properties"]["tags"] == [
        "security",
        "sast",
        "external/cwe/cwe-78",
        "python",
        "owasp-a03",
    ]
    assert rule["properties"]["precision"] == "high"
    assert rule["properties"]["security-severity"] == "8.0"
    assert "Found 'subprocess' function" in rule["help"]["text"]
    assert "[CWE\\-78](https://cwe.mitre.org/data/definitions/78.html)" in rule["help"]["markdown"]
    [osv_rule] = run_of(doc, "osv")["tool"]["driver"]["rules"]
    # the advisory's CVSS score sits in the high band: GitHub gets the real score
    assert osv_rule["properties"]["security-severity"] == "7.5"
    assert "Package: PyPI flask 2.0.1; fixed in: 2.2.5, 2.3.2" in osv_rule["help"]["text"]
    [bandit_rule] = run_of(doc, "bandit")["tool"]["driver"]["rules"]
    assert bandit_rule["defaultConfiguration"] == {"level": "note"}
    assert bandit_rule["properties"]["security-severity"] == "2.0"


def test_results_locations_fingerprints_and_states() -> None:
    doc, _, _ = render(full_report())
    [res] = run_of(doc, "semgrep")["results"]
    assert res["ruleId"] == SHELL.rule_id
    assert (
        run_of(doc, "semgrep")["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
    )
    assert res["level"] == "error"
    assert res["message"] == {"text": SHELL.message}
    phys = res["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"] == {"uri": "src/app.py", "uriBaseId": "%SRCROOT%"}
    assert phys["region"] == {
        "startLine": 12,
        "startColumn": 5,
        "endLine": 12,
        "endColumn": 40,
        "snippet": {"text": "subprocess.run(cmd, shell=True)"},
    }
    assert res["partialFingerprints"] == {"primaryLocationLineHash": fp(1)}
    assert res["fingerprints"] == {"pipeline-guard/v1": fp(1)}
    assert res["baselineState"] == "new"
    assert "suppressions" not in res
    assert res["properties"]["severity"] == "high"
    assert res["properties"]["sources"] == [
        {"scanner": "semgrep", "ruleId": SHELL.rule_id, "startLine": 12},
        {"scanner": "bandit", "ruleId": "B602", "startLine": 12},
    ]

    [sup] = run_of(doc, "bandit")["results"]
    # space and '#' percent-encoded: the URI must not end at '#'
    assert (
        sup["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "tests/test%20x%231.py"
    )
    assert sup["baselineState"] == "unchanged"
    assert sup["suppressions"] == [
        {
            "kind": "inSource",
            "status": "accepted",
            "justification": "test code",
            "properties": {"source": "tests/test x#1.py:3", "owner": "@sec"},
        }
    ]

    [vuln] = run_of(doc, "osv")["results"]
    loc = vuln["locations"][0]
    # no line from the tool: line 1 of the manifest, so GitHub accepts the result
    assert loc["physicalLocation"]["region"] == {"startLine": 1}
    assert loc["physicalLocation"]["artifactLocation"]["uri"] == "requirements.txt"
    assert loc["logicalLocations"] == [
        {"fullyQualifiedName": "pkg:pypi/flask@2.0.1", "kind": "module"}
    ]
    assert vuln["properties"]["package"]["fixedVersions"] == ["2.2.5", "2.3.2"]
    assert vuln["properties"]["advisories"][1] == "CVE-2023-30861"

    [img] = run_of(doc, "image")["results"]
    # an image reference: ':' encoded so the relative reference is not read as a scheme
    uri = img["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "registry.example.com/app%3A1.4"
    assert img["level"] == "warning"


def test_output_is_deterministic_whatever_the_input_order() -> None:
    rep = full_report()
    shuffled = dataclasses.replace(
        rep,
        findings=tuple(reversed(rep.findings)),
        runs=tuple(reversed(rep.runs)),
    )
    assert sarif.render(rep) == sarif.render(shuffled)


def test_absolute_path_outside_root_and_relative_root() -> None:
    outside = finding(location=Location("/opt/lib/x.py", 2))
    doc, _, _ = render(report((outside,), root="."))
    [res] = doc["runs"][0]["results"]
    assert res["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "file:///opt/lib/x.py"
    }
    assert "uri" not in doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]


def test_message_brackets_cannot_form_sarif_embedded_links() -> None:
    f = finding(message="see [here](https://evil.example) or [1](0)")
    doc, _, _ = render(report((f,)))
    text = doc["runs"][0]["results"][0]["message"]["text"]
    assert text == "see \\[here\\](https://evil.example) or \\[1\\](0)"


def test_security_severity_follows_our_severity_not_a_contradicting_score() -> None:
    # config overrode a critical advisory down to low: GitHub must show low
    overridden = dataclasses.replace(FLASK, severity=Severity.LOW, cvss_score=9.8)
    assert security_severity(overridden) == 2.0
    assert (
        security_severity(dataclasses.replace(FLASK, cvss_score=9.8, severity=Severity.CRITICAL))
        == 9.8
    )
    assert security_severity(dataclasses.replace(FLASK, cvss_score=None)) == 8.0
    info = finding(severity=Severity.INFO)
    doc, _, _ = render(report((info,)))
    [rule] = doc["runs"][0]["tool"]["driver"]["rules"]
    assert "security-severity" not in rule["properties"]  # 0.0 would mean "not security"
    assert rule["defaultConfiguration"] == {"level": "note"}


def test_severity_scale_tables() -> None:
    assert [SARIF_LEVEL[s] for s in sorted(Severity, reverse=True)] == [
        "error",
        "error",
        "warning",
        "note",
        "note",
    ]
    assert severity_from_score(9.0) is Severity.CRITICAL
    assert severity_from_score(8.9) is Severity.HIGH
    assert severity_from_score(4.0) is Severity.MEDIUM
    assert severity_from_score(0.1) is Severity.LOW
    assert severity_from_score(0.0) is Severity.INFO
    with pytest.raises(ValueError, match="outside"):
        severity_from_score(10.5)
    assert severity_from_sarif_level(None) is Severity.MEDIUM  # SARIF's default level
    assert severity_from_sarif_level("error") is Severity.HIGH
    with pytest.raises(ValueError, match="unknown SARIF level"):
        severity_from_sarif_level("fatal")


def test_raw_secret_values_never_reach_the_file() -> None:
    secret = "AKIAIOSFODNN7EXAMPLE"
    leaked = finding(
        scanner="secrets",
        category=Category.SECRET,
        rule_id="aws-access-key-id",
        message=f"AWS key {secret} in config",
        location=Location("config.py", 3, snippet="KEY = 'AKIA****'"),
    )
    run = ScannerRun(
        "secrets",
        Category.SECRET,
        "0.1.0",
        findings=(leaked,),
        redact=(secret,),
        errors=(ScannerError("secrets", "parse", "bad line", f"line: {secret}"),),
    )
    _, _, text = render(report((leaked,), (run,)))
    assert secret not in text
    assert "AWS key AKIA" in text and " in config" in text


def test_results_over_the_per_run_limit_drop_lowest_severity_first() -> None:
    n = sarif.GITHUB_LIMITS.results_per_run + 2
    sev = [Severity.HIGH] * (n - 3) + [Severity.INFO, Severity.LOW, Severity.INFO]
    many = tuple(
        finding(
            rule_id=f"rule-{i % 40}",
            location=Location(f"src/m{i % 250}.py", i // 250 + 1),
            severity=sev[i],
            fingerprint=fp(i),
            message=f"finding {i}",
        )
        for i in range(n)
    )
    doc, warnings, _ = render(report(many))
    [run] = doc["runs"]
    assert len(run["results"]) == 25_000
    kept = Counter(r["properties"]["severity"] for r in run["results"])
    assert kept == {"high": 24_999, "low": 1}  # both infos left out, the low one kept
    assert len(run["tool"]["driver"]["rules"]) == 40
    assert warnings == [
        "semgrep: more results than GitHub's limit of 25,000 per run; "
        "left out the 2 lowest-severity results (2 info)"
    ]
    assert run["properties"]["warnings"] == warnings


def test_more_than_twenty_runs_keeps_failed_and_most_severe() -> None:
    runs = []
    findings = []
    for i in range(23):
        name = f"tool{i:02d}"
        if i < 20:
            f = finding(scanner=name, fingerprint=fp(i), severity=Severity.HIGH)
            findings.append(f)
            runs.append(ScannerRun(name, Category.SAST, "1.0.0", findings=(f,)))
        elif i == 20:
            findings.append(finding(scanner=name, fingerprint=fp(i), severity=Severity.LOW))
            runs.append(ScannerRun(name, Category.SAST, "1.0.0"))
        else:
            errors = (ScannerError(name, "crash", "boom"),) if i == 21 else ()
            runs.append(ScannerRun(name, Category.SAST, "1.0.0", errors=errors))
    doc, warnings, _ = render(report(tuple(findings), tuple(runs)))
    names = [r["tool"]["driver"]["name"] for r in doc["runs"]]
    assert len(names) == 20
    assert "tool21" in names  # failed: must stay visible
    assert "tool20" not in names and "tool22" not in names
    assert names == sorted(names)
    [warning] = warnings
    # 20 high runs + 1 failed: the failed one stays, a tie drops the last name
    assert warning == (
        "23 scanners ran but GitHub accepts at most 20 runs per SARIF file: left out the "
        "runs of tool19 (1 high), tool20 (1 low), tool22 (no results)"
    )
    assert doc["properties"]["warnings"] == [warning]
    first_notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert {"level": "warning", "message": {"text": warning}} in first_notes


def test_file_over_the_gzip_limit_drops_lowest_severity_results() -> None:
    rng = random.Random(7)
    order = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO]
    many = tuple(
        finding(
            rule_id=f"rule-{i % 10}",
            severity=order[i % 5],
            # random text does not compress: the file size tracks the result count
            message="".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(300)),
            location=Location(f"src/f{i}.py", 1 + i),
            fingerprint=fp(i),
        )
        for i in range(500)
    )
    limits = sarif.SarifLimits(gzip_bytes=60_000)
    doc, warnings, text = render(report(many), limits)
    assert len(gzip.compress(text.encode("utf-8"))) <= 60_000
    results = doc["runs"][0]["results"]
    kept = Counter(r["properties"]["severity"] for r in results)
    assert 0 < len(results) < 500
    # lowest severities go first: every critical is kept, no info survives
    assert kept["critical"] == 100 and kept["info"] == 0
    [warning] = warnings
    assert "to keep the SARIF file under GitHub's 60,000-byte gzip limit" in warning
    assert f"left out {500 - len(results)} lowest-severity results" in warning
    run = doc["runs"][0]
    assert run["properties"]["warnings"] == [warning]
    assert {"level": "warning", "message": {"text": warning}} in run["invocations"][0][
        "toolExecutionNotifications"
    ]


def test_file_too_big_even_without_results_says_so() -> None:
    doc, warnings, _ = render(report((SHELL,)), sarif.SarifLimits(gzip_bytes=200))
    assert doc["runs"][0]["results"] == []
    assert warnings == [
        "the SARIF file is over GitHub's 200-byte gzip limit even without results; "
        "GitHub will reject it",
        "semgrep: left out 1 lowest-severity results (1 high) to keep the SARIF file under "
        "GitHub's 200-byte gzip limit",
    ]


def test_rule_tags_capped_at_github_limit_with_a_warning() -> None:
    tagged = finding(tags=tuple(f"tag{i}" for i in range(30)))
    doc, warnings, _ = render(report((tagged,)))
    [rule] = doc["runs"][0]["tool"]["driver"]["rules"]
    assert len(rule["properties"]["tags"]) == 20
    assert rule["properties"]["tags"][:2] == ["security", "sast"]
    assert warnings == [
        "semgrep: 1 rule had more than 20 tags (GitHub's limit); the extra tags were left out"
    ]


def test_long_descriptions_clipped_to_github_limit() -> None:
    long = finding(title="T" * 2000, message="M" * 5000)
    doc, _, _ = render(report((long,)))
    [rule] = doc["runs"][0]["tool"]["driver"]["rules"]
    assert len(rule["shortDescription"]["text"]) == 1024
    assert len(rule["fullDescription"]["text"]) == 1024
    assert doc["runs"][0]["results"][0]["message"]["text"] == "M" * 5000


def test_no_scanner_ran_gives_an_empty_valid_log() -> None:
    doc, warnings, _ = render(report((), ()))
    assert doc["runs"] == [] and warnings == []


@pytest.mark.skipif(
    not os.environ.get("SARIF_MULTITOOL"),
    reason="set SARIF_MULTITOOL to the Sarif.Multitool binary (npm @microsoft/sarif-multitool)",
)
def test_github_ingestion_rules_of_the_sarif_multitool(tmp_path: Path) -> None:
    log = tmp_path / "pipeline-guard.sarif"
    log.write_text(sarif.render(full_report()), encoding="utf-8")
    out = tmp_path / "validation.sarif"
    subprocess.run(
        [
            os.environ["SARIF_MULTITOOL"],
            "validate",
            "--rule-kind",
            "Sarif;Gh",
            "--log",
            "ForceOverwrite",
            "-o",
            str(out),
            str(log),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    # The multitool exits 0 even when rules fail: read its own SARIF output.
    # SARIF2005 (tool metadata: a missing version or home page) is the only
    # accepted warning: a tool that is not installed has no version to give.
    problems = [
        r["ruleId"]
        for run in json.loads(out.read_text())["runs"]
        for r in run.get("results", [])
        if r.get("level", "warning") in ("error", "warning") and r["ruleId"] != "SARIF2005"
    ]
    assert problems == []
