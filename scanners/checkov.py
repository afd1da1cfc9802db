"""Checkov adapter: IaC misconfiguration (Terraform, CloudFormation, Kubernetes, Helm,
Dockerfile, CI workflows).

Recipe: sort the scan's files into checkov frameworks, run
`checkov --directory=<root> --skip-path ...` over exactly those files, parse the
JSON, normalize `failed_checks` (and inline-skipped checks, kept as suppressed
findings) into `Finding`s.

Why `--directory` plus skip paths rather than `-f` per file: checkov judges a
Terraform resource in the context of its module (variables, module calls); with
`-f` a bucket made public through a module argument is missed. So checkov walks the
root, and every directory or file that holds nothing we want to scan is skipped
with an anchored regex. In a restricted scan (changed files only) a changed
Terraform file brings its sibling `.tf` files and a changed chart file brings its
whole Helm chart, because that is the unit checkov evaluates.

Safety: the root is passed as `--directory=<root>` (one argv token) and checkov
runs from the work dir, so it does not load a `.checkov.yaml` from the scanned
repository: such a file can name `external-checks-dir`, i.e. run the repository's
Python code inside the scanner.

Offline: `--skip-download` and `BC_SKIP_MAPPING=TRUE`, else checkov tries to reach
its platform (tracebacks, up to 40 s of DNS waits).

Severity: checkov OSS reports none, so it comes from the curated map in
`data/checkov_severity.yaml` (see docs/checkov-severity.md). Precedence, first
match wins, and the finding's tags say which one applied:

    options.severity[check_id]      -> tag severity:config
    checkov's own severity          -> tag severity:checkov   (only with a platform key)
    map `checks`                    -> tag severity:map
    map `families` (longest prefix) -> tag severity:family-default
    map `default`                   -> tag severity:default
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from pipeline_guard.model import Category, Finding, Location, Severity, Suppression
from pipeline_guard.scanner import (
    RunOutput,
    ScanContext,
    ScanFailure,
    Scanner,
    run_tool,
    tool_version,
)

#: every framework the adapter can sort files into; all of them run by default
DEFAULT_FRAMEWORKS: tuple[str, ...] = (
    "terraform",
    "cloudformation",
    "kubernetes",
    "helm",
    "kustomize",
    "dockerfile",
    "github_actions",
    "gitlab_ci",
    "azure_pipelines",
    "bitbucket_pipelines",
    "circleci_pipelines",
    "arm",
    "bicep",
    "serverless",
)

#: Directories checkov never walks into (its CKV_IGNORED_DIRECTORIES default); no skip
#: path is needed for them, and `.terraform` must stay readable for module resolution.
CHECKOV_IGNORED_DIRS = frozenset({"node_modules", ".terraform", ".serverless"})

TERRAFORM_SUFFIXES = (".tf", ".tf.json", ".tfvars")
YAML_SUFFIXES = (".yaml", ".yml")
#: checkov's Dockerfile name pattern also matches e.g. `dockerfile.yaml` (a rule file)
NOT_DOCKERFILE_SUFFIXES = (
    *YAML_SUFFIXES,
    ".json",
    ".md",
    ".rst",
    ".txt",
    ".py",
    ".sh",
    ".dockerignore",
)
SNIFF_BYTES = 256 * 1024
SEVERITY_MAP_RESOURCE = "data/checkov_severity.yaml"
POLICY_INDEX_URL = "https://www.checkov.io/5.Policy%20Index/{framework}.html"
OFFLINE_ENV = {
    "BC_SKIP_MAPPING": "TRUE",
    # our skip paths decide what is scanned, including hidden directories
    "CKV_IGNORE_HIDDEN_DIRECTORIES": "false",
}

_DOCKERFILE = re.compile(r"^(?:.+\.)?[Dd]ockerfile(?:\..+)?$")
_K8S_YAML = re.compile(r"^apiVersion:\s*\S", re.M), re.compile(r"^kind:\s*\S", re.M)
_K8S_JSON = re.compile(r'"apiVersion"\s*:'), re.compile(r'"kind"\s*:')
_CFN = re.compile(r"AWSTemplateFormatVersion|^Resources:\s*$|\"Resources\"\s*:", re.M)
_CFN_TYPE = re.compile(r"AWSTemplateFormatVersion|[\"'\s]AWS::\w+::\w+")
_ARM = re.compile(r"schema\.management\.azure\.com/schemas/[^\"]*deploymentTemplate")


# --------------------------------------------------------------------------- severity


@dataclass(frozen=True)
class SeverityMap:
    """The curated severity map: exact check ids, id-prefix families, a default."""

    default: Severity
    families: tuple[tuple[str, Severity], ...]  # longest prefix first
    checks: Mapping[str, Severity] = field(default_factory=dict)

    def lookup(self, check_id: str) -> tuple[Severity, str]:
        """Severity for a check id, and the tag saying where it came from."""
        if check_id in self.checks:
            return self.checks[check_id], "severity:map"
        for prefix, severity in self.families:
            if check_id.startswith(prefix):
                return severity, "severity:family-default"
        return self.default, "severity:default"


def parse_severity_map(data: Any) -> SeverityMap:
    """Build a SeverityMap from the YAML document; ValueError on a malformed one."""
    if not isinstance(data, dict):
        raise ValueError("checkov severity map: expected a mapping at the top level")
    families = {str(k): Severity.parse(str(v)) for k, v in (data.get("families") or {}).items()}
    checks = {str(k): Severity.parse(str(v)) for k, v in (data.get("checks") or {}).items()}
    return SeverityMap(
        default=Severity.parse(str(data.get("default", "medium"))),
        families=tuple(sorted(families.items(), key=lambda kv: -len(kv[0]))),
        checks=checks,
    )


@functools.cache
def load_severity_map() -> SeverityMap:
    """The severity map shipped with pipeline-guard (read once per process)."""
    text = (
        resources.files("pipeline_guard.scanners")
        .joinpath(SEVERITY_MAP_RESOURCE)
        .read_text(encoding="utf-8")
    )
    return parse_severity_map(yaml.safe_load(text))


# ------------------------------------------------------------------- file selection


@dataclass(frozen=True)
class ScanPlan:
    """What checkov is asked to look at.

    `frameworks`: the configured frameworks that have files here, with those files.
    `keep_files` / `keep_dirs`: everything checkov may read (root-relative); all else
    under the root is skipped. `keep_dirs` are whole units (Helm charts, kustomize dirs).
    """

    frameworks: Mapping[str, tuple[str, ...]]
    keep_files: frozenset[str]
    keep_dirs: frozenset[str]

    def covers(self, path: str) -> bool:
        """Is a root-relative path inside what we asked checkov to scan?"""
        if path in self.keep_files or "" in self.keep_dirs:
            return True
        return any(path.startswith(f"{d}/") for d in self.keep_dirs)


def classify(root: Path, files: Iterable[str], enabled: Iterable[str]) -> dict[str, list[str]]:
    """Sort root-relative files into the enabled checkov frameworks they belong to."""
    wanted = set(enabled)
    charts = _ChartFinder(root)
    out: dict[str, list[str]] = {}
    for rel in files:
        if not (root / rel).is_file():
            continue  # e.g. deleted in the change under review
        framework = _framework_of(root, rel, charts)
        if framework in wanted:
            out.setdefault(framework, []).append(rel)
    return out


def _framework_of(root: Path, rel: str, charts: _ChartFinder) -> str | None:
    path = PurePosixPath(rel)
    name = path.name
    lower = name.lower()
    if lower.endswith((*YAML_SUFFIXES, ".tpl", ".json")) and charts.chart_of(rel) is not None:
        return "helm"
    if lower in ("kustomization.yaml", "kustomization.yml", "kustomization"):
        return "kustomize"
    if lower.endswith(TERRAFORM_SUFFIXES):
        return "terraform"
    if _DOCKERFILE.fullmatch(name) and not lower.endswith(NOT_DOCKERFILE_SUFFIXES):
        return "dockerfile"
    if lower.endswith(".bicep"):
        return "bicep"
    by_name = _framework_by_name(rel, lower)
    if by_name is not None:
        return by_name
    if lower.endswith((*YAML_SUFFIXES, ".json", ".template")):
        return _sniff(root / rel, lower.endswith(".json"))
    return None


def _framework_by_name(rel: str, lower: str) -> str | None:
    if lower.endswith(YAML_SUFFIXES):
        if f"/{rel}".rsplit("/", 1)[0].endswith("/.github/workflows"):
            return "github_actions"
        if rel.startswith(".circleci/") or "/.circleci/" in rel:
            return "circleci_pipelines" if lower.startswith("config.") else None
        names = {
            ".gitlab-ci": "gitlab_ci",
            "azure-pipelines": "azure_pipelines",
            "bitbucket-pipelines": "bitbucket_pipelines",
            "serverless": "serverless",
        }
        return names.get(lower.rsplit(".", 1)[0])
    return None


def _sniff(path: Path, is_json: bool) -> str | None:
    """Kubernetes, CloudFormation or ARM, judged from the file's opening bytes."""
    try:
        with path.open("rb") as fh:
            text = fh.read(SNIFF_BYTES).decode("utf-8", "replace")
    except OSError:
        return None
    if is_json and _ARM.search(text):
        return "arm"
    if _CFN.search(text) and _CFN_TYPE.search(text):
        return "cloudformation"
    api, kind = _K8S_JSON if is_json else _K8S_YAML
    if api.search(text) and kind.search(text):
        return "kubernetes"
    return None


class _ChartFinder:
    """Which Helm chart (a directory holding Chart.yaml) a file sits in, cached."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._is_chart: dict[str, bool] = {}

    def chart_of(self, rel: str) -> str | None:
        """The chart directory holding `rel` ("" for a chart at the root), or None."""
        for parent in PurePosixPath(rel).parents:
            key = "" if parent.as_posix() == "." else parent.as_posix()
            if key not in self._is_chart:
                self._is_chart[key] = (self.root / key / "Chart.yaml").is_file()
            if self._is_chart[key]:
                return key
        return None


def plan_scan(ctx: ScanContext, frameworks: Sequence[str]) -> ScanPlan:
    """Decide what checkov reads: the applicable files, grown to whole units."""
    classified = classify(ctx.root, ctx.files, frameworks)
    keep_files: set[str] = set()
    keep_dirs: set[str] = set()
    charts = _ChartFinder(ctx.root)
    for framework, files in classified.items():
        for rel in files:
            keep_files.add(rel)
            if framework == "helm":
                chart = charts.chart_of(rel)
                keep_dirs.add(_parent(rel) if chart is None else chart)
            elif framework == "kustomize":
                keep_dirs.add(_parent(rel))
            elif framework == "terraform" and ctx.restricted:
                keep_files.update(_terraform_siblings(ctx.root, rel))
    return ScanPlan(
        frameworks={k: tuple(v) for k, v in classified.items()},
        keep_files=frozenset(keep_files),
        keep_dirs=frozenset(keep_dirs),
    )


def _terraform_siblings(root: Path, rel: str) -> list[str]:
    """The other Terraform files of a file's module (its directory)."""
    parent = _parent(rel)
    try:
        entries = list(os.scandir(root / parent if parent else root))
    except OSError:
        return []
    return [
        f"{parent}/{e.name}" if parent else e.name
        for e in entries
        if e.is_file() and e.name.lower().endswith(TERRAFORM_SUFFIXES)
    ]


def skip_patterns(root: Path, plan: ScanPlan) -> list[str]:
    """Anchored `--skip-path` regexes for everything under root that is not in the plan.

    Only directories on the way to kept files are listed, so the list stays short:
    a directory holding nothing kept is skipped whole.
    """
    if "" in plan.keep_dirs:
        return []  # the root itself is a unit (a repository that is one Helm chart)
    kept = plan.keep_files | plan.keep_dirs
    ancestors = {p.as_posix() for k in kept for p in PurePosixPath(k).parents}
    base = os.path.abspath(root)
    patterns = []
    for directory in sorted(ancestors):
        rel_dir = "" if directory == "." else directory
        try:
            entries = sorted(os.scandir(os.path.join(base, rel_dir)), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if rel in kept or rel in ancestors or entry.name in CHECKOV_IGNORED_DIRS:
                continue
            patterns.append(f"^{re.escape(os.path.join(base, rel))}$")
    return patterns


def _parent(rel: str) -> str:
    parent = PurePosixPath(rel).parent.as_posix()
    return "" if parent == "." else parent


# --------------------------------------------------------------------- the scanner


class CheckovScanner(Scanner):
    """Infrastructure-as-code misconfiguration scanner (checkov)."""

    name = "checkov"
    category = Category.IAC
    description = "IaC misconfiguration: Terraform, CloudFormation, Kubernetes, Helm, Docker, CI"

    def applies(self, ctx: ScanContext) -> bool:
        try:
            return bool(classify(ctx.root, ctx.files, self._frameworks()))
        except ScanFailure:
            return True  # a config error must surface from scan(), not vanish here

    def targets(self, ctx: ScanContext) -> int:
        try:
            frameworks = self._frameworks()
        except ScanFailure:
            return 0
        return sum(len(v) for v in classify(ctx.root, ctx.files, frameworks).values())

    def version(self) -> str | None:
        return tool_version("checkov", distribution="checkov", env=OFFLINE_ENV)

    def run(self, ctx: ScanContext) -> RunOutput:
        plan = plan_scan(ctx, self._frameworks())
        if not plan.frameworks:
            return RunOutput([], notes=["checkov: no files it understands among the scan's files"])
        return self.normalize(ctx, plan, self.execute(ctx, plan))

    def execute(self, ctx: ScanContext, plan: ScanPlan) -> str:
        """Run checkov over the plan; its JSON stdout."""
        ctx.work_dir.mkdir(parents=True, exist_ok=True)
        result = run_tool(
            self._argv(ctx.root, plan),
            timeout=self.timeout,
            cwd=ctx.work_dir,
            env=OFFLINE_ENV,
            ok_codes=(0, 1),  # 1: failed checks found
        )
        return result.stdout

    def normalize(self, ctx: ScanContext, plan: ScanPlan, stdout: str) -> RunOutput:
        """Findings and notes from checkov's JSON stdout."""
        reports = parse_output(stdout)
        output = RunOutput([])
        for report in reports:
            output.findings.extend(self._findings(ctx, plan, report))
            output.notes.extend(parse_error_notes(ctx, report))
        output.notes.extend(coverage_notes(plan, reports))
        return output

    # -- argv

    def _frameworks(self) -> list[str]:
        frameworks = [str(f) for f in self.options.get("frameworks") or DEFAULT_FRAMEWORKS]
        for name in frameworks:
            if name in ("secrets", "all"):
                raise ScanFailure(
                    "config",
                    f"checkov.frameworks: {name!r} is not allowed; pipeline-guard's own "
                    "secrets scanner covers secrets",
                )
            if name not in DEFAULT_FRAMEWORKS:
                # only frameworks whose files classify() recognizes: any other would be
                # passed to checkov but find all its files skipped, i.e. pass silently
                close = difflib.get_close_matches(name, DEFAULT_FRAMEWORKS, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ScanFailure(
                    "config",
                    f"checkov.frameworks: {name!r} is not supported; {hint}"
                    f"supported: {', '.join(DEFAULT_FRAMEWORKS)}",
                )
        return frameworks

    def _argv(self, root: Path, plan: ScanPlan) -> list[str]:
        argv = [
            "checkov",
            f"--directory={os.path.abspath(root)}",
            "--output=json",
            "--skip-download",
            "--framework",
            *sorted(plan.frameworks),
            "--skip-framework=secrets",
        ]
        skip_checks = [str(c) for c in self.options.get("skip_checks") or []]
        if skip_checks:
            argv.append(f"--skip-check={','.join(skip_checks)}")
        argv += [f"--skip-path={p}" for p in skip_patterns(root, plan)]
        return argv

    # -- normalize

    def _findings(
        self, ctx: ScanContext, plan: ScanPlan, report: Mapping[str, Any]
    ) -> list[Finding]:
        framework = str(report.get("check_type", ""))
        results = report.get("results") or {}
        out = []
        for key, suppressed in (("failed_checks", False), ("skipped_checks", True)):
            for record in results.get(key) or []:
                finding = self._finding(ctx, framework, record, suppressed)
                # a module called from a kept file can put findings in an excluded dir
                if PurePosixPath(finding.location.path).is_absolute() or plan.covers(
                    finding.location.path
                ):
                    out.append(finding)
        return out

    def _finding(
        self, ctx: ScanContext, framework: str, record: Mapping[str, Any], suppressed: bool
    ) -> Finding:
        check_id = str(record["check_id"])
        severity, source = self._severity(check_id, record.get("severity"))
        path = record_path(ctx, record)
        start, end = _line_range(record.get("file_line_range"))
        resource = record.get("resource") or "?"
        title = str(record.get("check_name") or check_id)
        return Finding(
            scanner=self.name,
            category=self.category,
            rule_id=check_id,
            title=title,
            message=f"{title} (resource: {resource})",
            severity=severity,
            location=Location(path=path, start_line=start, end_line=end),
            help_url=record.get("guideline") or POLICY_INDEX_URL.format(framework=framework),
            tags=("iac", f"framework:{framework}", source),
            suppression=_inline_suppression(record, path, start) if suppressed else None,
        )

    def _severity(self, check_id: str, reported: Any) -> tuple[Severity, str]:
        override = (self.options.get("severity") or {}).get(check_id)
        if override is not None:
            return Severity.parse(str(override)), "severity:config"
        if isinstance(reported, str) and reported.strip():
            try:
                return Severity.parse(reported), "severity:checkov"
            except ValueError:
                pass  # an unknown platform level falls back to our map
        return load_severity_map().lookup(check_id)


# ------------------------------------------------------------------------ parsing


def parse_output(stdout: str) -> list[dict[str, Any]]:
    """Checkov's JSON as a list of per-framework reports.

    Checkov prints a dict for one framework, a list for several, and a bare summary
    dict (no `results`) when nothing was scanned; the last becomes an empty list.
    """
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise ScanFailure(
            "parse", f"checkov printed something that is not JSON ({exc})", stdout[:2000]
        ) from None
    reports = []
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict) and isinstance(item.get("results"), dict):
            reports.append(item)
        elif not (isinstance(item, dict) and "passed" in item and "failed" in item):
            raise ScanFailure(
                "parse", "checkov's JSON is neither a report nor a summary", stdout[:2000]
            )
    return reports


def record_path(ctx: ScanContext, record: Mapping[str, Any]) -> str:
    """A check record's file, relative to the scan root.

    `file_abs_path` is absolute when checkov ran with --directory; `file_path` is
    relative to that directory with a leading '/'.
    """
    abs_path = str(record.get("file_abs_path") or "")
    if os.path.isabs(abs_path):
        return ctx.relative(abs_path)
    return ctx.relative(str(record.get("file_path", "")).lstrip("/"))


def parse_error_notes(ctx: ScanContext, report: Mapping[str, Any]) -> list[str]:
    """One note per file checkov failed to parse (it was not checked)."""
    framework = report.get("check_type", "?")
    errors = (report.get("results") or {}).get("parsing_errors") or []
    return [
        f"checkov could not parse {ctx.relative(str(path))} ({framework}); it was not checked"
        for path in errors
    ]


def coverage_notes(plan: ScanPlan, reports: Sequence[Mapping[str, Any]]) -> list[str]:
    """Notes for frameworks that had files but got no check result at all.

    Zero results is never a pass: checkov silently drops a framework whose helper
    binary is missing (helm, kubectl/kustomize) and silently ignores a YAML file it
    cannot parse.
    """
    ran = {str(r.get("check_type")) for r in reports if _result_count(r) > 0}
    notes = []
    for framework, files in sorted(plan.frameworks.items()):
        if framework in ran:
            continue
        listed = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        notes.append(
            f"checkov ran no {framework} checks on {len(files)} file(s) ({listed}): "
            f"{_missing_reason(framework)}"
        )
    return notes


def _result_count(report: Mapping[str, Any]) -> int:
    summary = report.get("summary") or {}
    keys = ("passed", "failed", "skipped", "parsing_errors")
    return sum(int(summary.get(k) or 0) for k in keys)


def _missing_reason(framework: str) -> str:
    if framework == "helm" and shutil.which("helm") is None:
        return "helm is not installed, so checkov skipped the chart(s); install helm 3"
    if framework == "kustomize" and not (shutil.which("kubectl") or shutil.which("kustomize")):
        return "neither kubectl nor kustomize is installed, so checkov skipped kustomize"
    return "checkov could not parse them or found nothing it checks; they were not checked"


def _line_range(value: Any) -> tuple[int | None, int | None]:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        start, end = value
        if start > 0:
            return start, max(start, end)
    return None, None


def _inline_suppression(record: Mapping[str, Any], path: str, line: int | None) -> Suppression:
    check_result = record.get("check_result") or {}
    reason = str(check_result.get("suppress_comment") or "skipped by a checkov:skip comment")
    where = f"{path}:{line}" if line else path
    return Suppression(kind="inSource", reason=reason, source=where)
