"""ScanReport builders for the reporter tests (formatters are unit-tested on
reports built directly, as the CLI would hand them over)."""

from __future__ import annotations

from collections.abc import Sequence

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

HOSTILE_PATH = "src/<img src=x onerror=alert(1)>.py"
HOSTILE_MESSAGE = (
    "](javascript:alert(1)) | @org/team `rm -rf` <!-- pipeline-guard:default --> "
    "<script>alert(2)</script>"
)
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def finding(
    severity: Severity,
    rule: str,
    path: str,
    line: int | None,
    message: str = "",
    *,
    scanner: str = "bandit",
    category: Category = Category.SAST,
    state: str | None = "new",
    package: Package | None = None,
    suppression: Suppression | None = None,
    help_url: str | None = None,
    cwes: tuple[str, ...] = (),
) -> Finding:
    return Finding(
        scanner=scanner,
        category=category,
        rule_id=rule,
        title=(message or rule)[:60],
        message=message or f"{rule} in {path}",
        severity=severity,
        location=Location(path, line, line),
        package=package,
        help_url=help_url,
        cwes=cwes,
        fingerprint=f"{rule}:{path}:{line}:{severity.label}",
        sources=(Source(scanner, rule, line),),
        suppression=suppression,
        baseline_state=state,
    )


def mixed_findings() -> list[Finding]:
    """Two new (critical sca, high sast), one existing low with a hostile path and
    message, one suppressed medium iac."""
    return [
        finding(
            Severity.HIGH,
            "B602",
            "app.py",
            3,
            "subprocess call with shell=True identified",
            help_url="https://bandit.readthedocs.io/en/latest/plugins/b602.html",
            cwes=("CWE-78",),
        ),
        finding(
            Severity.CRITICAL,
            "GHSA-9wx4-h78v-vm56",
            "requirements.txt",
            2,
            "requests: Proxy-Authorization header leaked on redirect",
            scanner="osv",
            category=Category.SCA,
            package=Package("PyPI", "requests", "2.19.1", ("2.20.0", "2.31.0")),
            help_url="https://osv.dev/vulnerability/GHSA-9wx4-h78v-vm56",
        ),
        finding(Severity.LOW, "B101", HOSTILE_PATH, 7, HOSTILE_MESSAGE, state="unchanged"),
        finding(
            Severity.MEDIUM,
            "CKV_AWS_20",
            "infra/main.tf",
            1,
            "S3 bucket is public",
            scanner="checkov",
            category=Category.IAC,
            suppression=Suppression("external", "demo bucket", "pipeline-guard.yml:12"),
        ),
    ]


def report(
    findings: Sequence[Finding] | None = None,
    *,
    stage: str = "pr",
    passed: bool | None = None,
    reasons: Sequence[str] = (),
    errors: Sequence[ScannerError] = (),
    notes: Sequence[str] = (),
    versions: dict[str, str | None] | None = None,
) -> ScanReport:
    """A report whose runs are the scanners of its findings (plus `versions`)."""
    found = tuple(mixed_findings() if findings is None else findings)
    names = dict.fromkeys([*(f.scanner for f in found), *(versions or {})])
    categories = {f.scanner: f.category for f in found}
    runs = tuple(
        ScannerRun(
            scanner=name,
            category=categories.get(name, Category.SAST),
            tool_version=(versions or {}).get(name, "1.0.0"),
            findings=tuple(f for f in found if f.scanner == name),
            errors=tuple(e for e in errors if e.scanner == name),
            duration=1.25,
            targets=3,
        )
        for name in names
    )
    is_passed = passed if passed is not None else not (reasons or errors)
    code = 0 if is_passed else (3 if errors else 1)
    return ScanReport(
        root="/work/project",
        stage=stage,
        findings=found,
        runs=runs,
        verdict=Verdict(stage, is_passed, code, tuple(reasons)),
        started_at="2025-01-02T03:04:05Z",
        duration=4.5,
        tool_version="0.1.0",
        notes=tuple(notes),
        commit=COMMIT,
    )


def blocked_report() -> ScanReport:
    return report(reasons=("2 new finding(s) at or above high (1 critical, 1 high)",))
