"""The checkov adapter, run for real on small IaC fixtures.

Each checkov run costs 3-6 s, so every scenario runs once (module-scoped fixtures)
and the tests read its result.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from pipeline_guard.model import Finding, ScannerRun, Severity
from pipeline_guard.scanner import RunOutput, ScanContext, ScanFailure, run_tool
from pipeline_guard.scanners.checkov import (
    DEFAULT_FRAMEWORKS,
    OFFLINE_ENV,
    CheckovScanner,
    load_severity_map,
    parse_output,
    parse_severity_map,
    plan_scan,
    skip_patterns,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("checkov")]

FIXTURES = Path(__file__).parent / "fixtures" / "iac"
PROJECT = FIXTURES / "project"
UNSCANNABLE = FIXTURES / "unscannable"


def all_files(root: Path) -> tuple[str, ...]:
    return tuple(sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()))


def run_raw(scanner: CheckovScanner, ctx: ScanContext) -> tuple[object, RunOutput]:
    """Checkov's parsed JSON (to see its shape) and the adapter's normalized output."""
    plan = plan_scan(ctx, DEFAULT_FRAMEWORKS)
    stdout = scanner.execute(ctx, plan)
    return json.loads(stdout), scanner.normalize(ctx, plan, stdout)


def find(findings: tuple[Finding, ...] | list[Finding], rule: str, path: str) -> Finding:
    matches = [f for f in findings if f.rule_id == rule and f.location.path == path]
    assert len(matches) == 1, f"{rule} on {path}: {len(matches)} findings"
    return matches[0]


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, RunOutput]:
    ctx = ScanContext(
        root=PROJECT, files=all_files(PROJECT), work_dir=tmp_path_factory.mktemp("work")
    )
    return run_raw(CheckovScanner(), ctx)


@pytest.fixture(scope="module")
def dockerfile_only(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, RunOutput]:
    scanner = CheckovScanner(
        {"skip_checks": ["CKV_DOCKER_7"], "severity": {"CKV_DOCKER_4": "critical"}}
    )
    ctx = ScanContext(
        root=PROJECT, files=("docker/Dockerfile",), work_dir=tmp_path_factory.mktemp("work")
    )
    return run_raw(scanner, ctx)


@pytest.fixture(scope="module")
def unscannable(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, RunOutput]:
    ctx = ScanContext(
        root=UNSCANNABLE, files=all_files(UNSCANNABLE), work_dir=tmp_path_factory.mktemp("work")
    )
    return run_raw(CheckovScanner(), ctx)


# ------------------------------------------------------------- several frameworks


def test_several_frameworks_come_as_a_list(full: tuple[object, RunOutput]) -> None:
    raw, _ = full
    assert isinstance(raw, list)
    types = {r["check_type"] for r in raw}
    assert types == {"terraform", "cloudformation", "kubernetes", "dockerfile", "github_actions"}


@pytest.mark.parametrize(
    ("rule", "path", "lines", "severity"),
    [
        ("CKV_AWS_57", "terraform/aws/main.tf", (6, 9), Severity.CRITICAL),  # public write
        ("CKV_AWS_20", "terraform/aws/main.tf", (6, 9), Severity.HIGH),  # public read
        ("CKV_AWS_24", "terraform/aws/main.tf", (11, 30), Severity.HIGH),  # SSH from anywhere
        ("CKV_AWS_25", "terraform/aws/main.tf", (11, 30), Severity.HIGH),  # RDP from anywhere
        ("CKV_AWS_3", "terraform/aws/main.tf", (32, 36), Severity.MEDIUM),  # unencrypted EBS
        ("CKV_AWS_17", "terraform/aws/main.tf", (38, 47), Severity.HIGH),  # public RDS
        ("CKV_AWS_62", "terraform/aws/main.tf", (49, 59), Severity.CRITICAL),  # "*:*" policy
        ("CKV_AZURE_9", "terraform/azure/main.tf", (13, 25), Severity.HIGH),
        ("CKV_AZURE_59", "terraform/azure/main.tf", (2, 11), Severity.HIGH),
        ("CKV_GCP_2", "terraform/gcp/main.tf", (2, 12), Severity.HIGH),
        ("CKV_GCP_28", "terraform/gcp/main.tf", (14, 18), Severity.HIGH),
        ("CKV_AWS_57", "cloudformation/bucket.yaml", (13, 16), Severity.CRITICAL),
        ("CKV_AWS_24", "cloudformation/bucket.yaml", (4, 12), Severity.HIGH),
        ("CKV_K8S_16", "k8s/deployment.yaml", (2, 38), Severity.HIGH),  # privileged
        ("CKV_K8S_27", "k8s/deployment.yaml", (2, 38), Severity.HIGH),  # docker socket
        ("CKV_K8S_19", "k8s/deployment.yaml", (2, 38), Severity.HIGH),  # hostNetwork
        ("CKV_K8S_23", "k8s/deployment.yaml", (2, 38), Severity.MEDIUM),  # runs as root
        ("CKV_K8S_35", "k8s/deployment.yaml", (2, 38), Severity.MEDIUM),  # secret in env
        ("CKV_DOCKER_7", "docker/Dockerfile", (1, 1), Severity.LOW),  # :latest
        ("CKV2_DOCKER_2", "docker/Dockerfile", (4, 4), Severity.HIGH),  # curl -k
        ("CKV_DOCKER_6", "docker/Dockerfile", (2, 2), Severity.INFO),  # MAINTAINER
        ("CKV_GHA_2", ".github/workflows/triage.yml", (13, 17), Severity.CRITICAL),
        ("CKV_GHA_3", ".github/workflows/triage.yml", (16, 19), Severity.HIGH),
        ("CKV2_GHA_1", ".github/workflows/triage.yml", (5, 6), Severity.MEDIUM),
    ],
)
def test_misconfigurations_found_with_mapped_severity(
    full: tuple[object, RunOutput],
    rule: str,
    path: str,
    lines: tuple[int, int],
    severity: Severity,
) -> None:
    finding = find(full[1].findings, rule, path)
    assert (finding.location.start_line, finding.location.end_line) == lines
    assert finding.severity == severity
    assert "severity:map" in finding.tags
    assert finding.suppression is None


def test_finding_fields(full: tuple[object, RunOutput]) -> None:
    finding = find(full[1].findings, "CKV_AWS_24", "terraform/aws/main.tf")
    assert finding.scanner == "checkov"
    assert finding.category.value == "iac"
    assert finding.title == "Ensure no security groups allow ingress from 0.0.0.0:0 to port 22"
    assert "aws_security_group.admin" in finding.message
    assert finding.help_url == "https://www.checkov.io/5.Policy%20Index/terraform.html"
    assert "framework:terraform" in finding.tags
    assert finding.fingerprint == "" and finding.sources == ()


def test_unmapped_check_uses_family_default(full: tuple[object, RunOutput]) -> None:
    finding = find(full[1].findings, "CKV2_AZURE_38", "terraform/azure/main.tf")
    assert "CKV2_AZURE_38" not in load_severity_map().checks
    assert finding.severity == Severity.MEDIUM
    assert "severity:family-default" in finding.tags


def test_module_argument_is_evaluated_in_context(full: tuple[object, RunOutput]) -> None:
    # the bucket is public only through terraform/app's module call: -f per file misses it
    public = [
        f
        for f in full[1].findings
        if f.rule_id == "CKV_AWS_20" and f.location.path == "terraform/modules/website/main.tf"
    ]
    assert [f.message for f in public] == [
        "S3 Bucket has an ACL defined which allows public READ access. "
        "(resource: module.website.aws_s3_bucket.site)"
    ]


def test_inline_skip_is_kept_as_suppressed_finding(full: tuple[object, RunOutput]) -> None:
    skipped = [f for f in full[1].findings if f.suppression is not None]
    assert [(f.rule_id, f.location.path, f.location.start_line) for f in skipped] == [
        ("CKV_AWS_18", "terraform/aws/main.tf", 61)
    ]
    assert skipped[0].suppression is not None
    assert skipped[0].suppression.kind == "inSource"
    assert skipped[0].suppression.reason == "access logs are collected by the organization trail"


def test_chart_not_rendered_is_a_note_not_silence(full: tuple[object, RunOutput]) -> None:
    findings, notes = full[1].findings, full[1].notes
    if shutil.which("helm") is None:
        assert notes == [
            "checkov ran no helm checks on 3 file(s) (charts/webapp/Chart.yaml, "
            "charts/webapp/templates/deployment.yaml, charts/webapp/values.yaml): helm is not "
            "installed, so checkov skipped the chart(s); install helm 3"
        ]
    else:
        assert any(f.location.path.startswith("charts/webapp/") for f in findings)
        assert notes == []


# ------------------------------------------------------------------ one framework


def test_one_framework_comes_as_a_dict(dockerfile_only: tuple[object, RunOutput]) -> None:
    raw, output = dockerfile_only
    assert isinstance(raw, dict) and raw["check_type"] == "dockerfile"
    assert {f.location.path for f in output.findings} == {"docker/Dockerfile"}
    assert output.notes == []


def test_skip_checks_drops_the_check(dockerfile_only: tuple[object, RunOutput]) -> None:
    rules = sorted(f.rule_id for f in dockerfile_only[1].findings)
    assert rules == [
        "CKV2_DOCKER_2",
        "CKV_DOCKER_1",
        "CKV_DOCKER_2",
        "CKV_DOCKER_3",
        "CKV_DOCKER_4",
        "CKV_DOCKER_6",
    ]


def test_configured_severity_wins(dockerfile_only: tuple[object, RunOutput]) -> None:
    add = find(dockerfile_only[1].findings, "CKV_DOCKER_4", "docker/Dockerfile")
    assert add.severity == Severity.CRITICAL
    assert "severity:config" in add.tags
    healthcheck = find(dockerfile_only[1].findings, "CKV_DOCKER_2", "docker/Dockerfile")
    assert healthcheck.severity == Severity.LOW and "severity:map" in healthcheck.tags


# --------------------------------------------------------------- nothing scanned


def test_nothing_scanned_is_a_bare_summary_and_notes(
    unscannable: tuple[object, RunOutput],
) -> None:
    raw, output = unscannable
    assert isinstance(raw, dict) and "results" not in raw and raw["passed"] == 0
    assert output.findings == []
    assert output.notes == [
        "checkov ran no kubernetes checks on 1 file(s) (k8s/broken.yaml): checkov could not "
        "parse them or found nothing it checks; they were not checked",
        "checkov ran no terraform checks on 1 file(s) (terraform/variables.tf): checkov could "
        "not parse them or found nothing it checks; they were not checked",
    ]


# ------------------------------------------------------- restricted scan, full path


@pytest.fixture(scope="module")
def restricted(tmp_path_factory: pytest.TempPathFactory) -> tuple[ScanContext, ScannerRun]:
    ctx = ScanContext(
        root=PROJECT,
        files=("terraform/aws/main.tf", "docker/Dockerfile", "README.md"),
        restricted=True,
        work_dir=tmp_path_factory.mktemp("work"),
    )
    return ctx, CheckovScanner().scan(ctx)


def test_restricted_scan_reads_only_the_given_files_and_their_module(
    restricted: tuple[ScanContext, ScannerRun],
) -> None:
    ctx, run = restricted
    assert run.errors == () and run.notes == ()
    assert run.tool_version is not None and run.tool_version.startswith("3.")
    assert run.targets == 2
    paths = {f.location.path for f in run.findings}
    assert paths == {"terraform/aws/main.tf", "docker/Dockerfile"}
    plan = plan_scan(ctx, DEFAULT_FRAMEWORKS)
    assert "terraform/aws/variables.tf" in plan.keep_files  # the module's other file


def test_skip_paths_cover_everything_else() -> None:
    ctx = ScanContext(root=PROJECT, files=("terraform/aws/main.tf",), restricted=True)
    patterns = skip_patterns(PROJECT, plan_scan(ctx, DEFAULT_FRAMEWORKS))
    base = re.escape(os.path.abspath(PROJECT))
    skipped = sorted(p.removeprefix(f"^{base}/").removesuffix("$") for p in patterns)
    assert skipped == [
        r"\.github",
        "charts",
        "cloudformation",
        "docker",
        "k8s",
        "terraform/app",
        "terraform/azure",
        "terraform/gcp",
        "terraform/modules",
    ]


# ----------------------------------------------------------- input handling, config


def test_file_classification() -> None:
    ctx = ScanContext(root=PROJECT, files=(*all_files(PROJECT), "README.md"))
    plan = plan_scan(ctx, DEFAULT_FRAMEWORKS)
    assert {k: sorted(v) for k, v in plan.frameworks.items()} == {
        "cloudformation": ["cloudformation/bucket.yaml"],
        "dockerfile": ["docker/Dockerfile"],
        "github_actions": [".github/workflows/triage.yml"],
        "helm": [
            "charts/webapp/Chart.yaml",
            "charts/webapp/templates/deployment.yaml",
            "charts/webapp/values.yaml",
        ],
        "kubernetes": ["k8s/deployment.yaml"],
        "terraform": [
            "terraform/app/main.tf",
            "terraform/aws/main.tf",
            "terraform/aws/variables.tf",
            "terraform/azure/main.tf",
            "terraform/gcp/main.tf",
            "terraform/modules/website/main.tf",
        ],
    }
    assert CheckovScanner().applies(ctx)
    assert not CheckovScanner().applies(ScanContext(root=PROJECT, files=("README.md",)))


def test_repository_that_is_a_chart(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    for rel in ("Chart.yaml", "values.yaml", "templates/web.yaml", "Dockerfile"):
        (tmp_path / rel).write_text("name: x\n")
    ctx = ScanContext(root=tmp_path, files=all_files(tmp_path), restricted=True)
    plan = plan_scan(ctx, DEFAULT_FRAMEWORKS)
    assert {k: sorted(v) for k, v in plan.frameworks.items()} == {
        "dockerfile": ["Dockerfile"],
        "helm": ["Chart.yaml", "templates/web.yaml", "values.yaml"],
    }
    assert plan.keep_dirs == {""} and plan.covers("templates/web.yaml")
    assert skip_patterns(tmp_path, plan) == []


def test_names_that_look_like_dockerfiles(tmp_path: Path) -> None:
    for rel in ("Dockerfile.prod", "api.Dockerfile", "dockerfile.yaml", "Dockerfile.md"):
        (tmp_path / rel).write_text("FROM scratch\n")
    plan = plan_scan(ScanContext(root=tmp_path, files=all_files(tmp_path)), DEFAULT_FRAMEWORKS)
    assert dict(plan.frameworks) == {"dockerfile": ("Dockerfile.prod", "api.Dockerfile")}


def test_frameworks_option_narrows_and_secrets_is_refused() -> None:
    ctx = ScanContext(root=PROJECT, files=all_files(PROJECT))
    assert CheckovScanner({"frameworks": ["dockerfile"]}).targets(ctx) == 1
    for bad, message in (
        ("secrets", "'secrets' is not allowed"),
        ("kubernets", "did you mean 'kubernetes'?"),
        ("ansible", "'ansible' is not supported"),
    ):
        run = CheckovScanner({"frameworks": [bad]}).scan(ctx)
        assert [e.kind for e in run.errors] == ["config"]
        assert message in run.errors[0].message


def test_unparseable_output_is_a_parse_failure() -> None:
    for stdout in ("Traceback (most recent call last):", '[{"no": "results"}]', "42"):
        with pytest.raises(ScanFailure) as info:
            parse_output(stdout)
        assert info.value.kind == "parse"


def test_severity_map_precedence() -> None:
    smap = parse_severity_map(
        {
            "default": "low",
            "families": {"CKV_": "medium", "CKV_K8S_": "high"},
            "checks": {"CKV_K8S_8": "info"},
        }
    )
    assert smap.lookup("CKV_K8S_8") == (Severity.INFO, "severity:map")
    assert smap.lookup("CKV_K8S_9") == (Severity.HIGH, "severity:family-default")
    assert smap.lookup("CKV_AWS_1") == (Severity.MEDIUM, "severity:family-default")
    assert smap.lookup("OTHER_1") == (Severity.LOW, "severity:default")
    with pytest.raises(ValueError):
        parse_severity_map({"checks": {"CKV_AWS_1": "severe"}})


# -------------------------------------------------------------- the severity map


def test_every_mapped_check_exists_in_checkov(tmp_path: Path) -> None:
    result = run_tool(
        ["checkov", "--list", "--skip-download"], timeout=300, cwd=tmp_path, env=OFFLINE_ENV
    )
    registry = set(re.findall(r"^\|\s*\d+\s*\|\s*(CKV2?_[A-Z0-9]+_\d+)\s*\|", result.stdout, re.M))
    assert len(registry) > 1000  # the listing was parsed, not empty
    smap = load_severity_map()
    assert len(smap.checks) >= 150
    assert sorted(set(smap.checks) - registry) == []
    families = {re.sub(r"\d+$", "", check) for check in registry}
    assert sorted(prefix for prefix, _ in smap.families if prefix not in families) == []


def test_map_covers_each_platform() -> None:
    checks = load_severity_map().checks
    for prefix, minimum in (
        ("CKV_AWS_", 60),
        ("CKV_AZURE_", 30),
        ("CKV_GCP_", 30),
        ("CKV_K8S_", 30),
        ("CKV_DOCKER_", 8),
        ("CKV_GHA_", 5),
    ):
        assert sum(c.startswith(prefix) for c in checks) >= minimum, prefix
