"""Image adapter: vulnerable OS and language packages in container images, and risky config.

Recipe: for each image reference in the scan (`images:` of the stage, `--image`),
read the image from its source (docker archive, OCI layout, Docker daemon or
registry: `pipeline_guard.image`), list its OS and language packages with the
layer that installed each, match them in the local OSV database in the OS's own
ecosystem and version ordering (`Debian:12` by source package, `Alpine:v3.18` by
origin, `AlmaLinux:9`, PyPI, npm, Maven, Go), and check the image config.

Each vulnerability finding is located at the image reference (a logical
location; the snippet is the `created_by` line of the layer that installed the
package) and names the layer's diff id and the package's path in the image.
An image that cannot be read is an error of the run; the other images' findings
are kept. Ecosystems without advisories in the database, and stale data, are
reported as stale data (a gate failure where the stage says so).

Severity table:

    vulnerabilities   the advisory's own rating, exactly as the `osv` scanner reads it
                      (CVSS base score bands, GHSA words, vendor words; unrated: medium)
    IMAGE-ROOT-USER       medium   IMAGE-ENV-SECRET      medium
    IMAGE-NO-HEALTHCHECK  low      IMAGE-LATEST-BASE     low
    secrets in ENV/labels the secrets detector's own severity (its id is the rule id)

The `severity` option (rule id, advisory id or alias -> level) overrides it.

Options (the `image:` section of pipeline-guard.yml):

    platform                str        linux/amd64  which manifest of a multi-platform image
    insecure_registries     bool|list  []           plain-HTTP registries: host[:port] names;
                                                    `true` (or "loopback") allows loopback hosts
    catalogers              list       all          dpkg, apk, rpm, python, node, java, go
    config_checks           bool       true         report image configuration issues
    max_uncompressed_bytes  int        16 GiB       decompressed bytes per image (bomb guard)
    max_members             int        2000000      files per image
    max_file_bytes          int        64 MiB       largest file read into memory (DBs, jars)
    max_db_age_days         number     7            older advisory data is stale
    severity                map        {}           rule/advisory id -> severity
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline_guard.image.analyze import AnalyzeSettings, ImageAnalysis, analyze
from pipeline_guard.image.catalogers import CATALOGERS, FoundPackage
from pipeline_guard.image.config_checks import ConfigIssue
from pipeline_guard.image.errors import ImageError
from pipeline_guard.image.limits import Limits
from pipeline_guard.image.manifests import DEFAULT_PLATFORM, parse_platform
from pipeline_guard.image.sources import SourceSettings
from pipeline_guard.model import Category, Finding, Location, Package, ScannerRun, Severity
from pipeline_guard.scanner import RunOutput, ScanContext, ScanFailure, Scanner
from pipeline_guard.scanners.osv import version_label
from pipeline_guard.sources.base import Dependency
from pipeline_guard.vulndb.advice import advisory_summary, clip, fix_advice
from pipeline_guard.vulndb.matcher import VulnMatch, match_package, merge_aliases
from pipeline_guard.vulndb.names import normalize_name
from pipeline_guard.vulndb.paths import default_db_path
from pipeline_guard.vulndb.scanning import max_db_age_days, open_db, severity_overrides
from pipeline_guard.vulndb.store import VulnDB

_OS_KINDS = frozenset({"deb", "apk", "rpm"})


class ImageScanner(Scanner):
    """Container images: packages against the local OSV database, plus config checks."""

    name = "image"
    category = Category.IMAGE
    description = "Vulnerable OS and language packages in container images, risky image config"

    def applies(self, ctx: ScanContext) -> bool:
        return bool(ctx.images)

    def targets(self, ctx: ScanContext) -> int:
        return len(ctx.images)

    def version(self) -> str | None:
        label: str = version_label(default_db_path())
        return label

    def scan(self, ctx: ScanContext) -> ScannerRun:
        # The database the run used is known only from ctx, which version() never sees.
        run = super().scan(ctx)
        return dataclasses.replace(run, tool_version=version_label(self._db_path(ctx)))

    def run(self, ctx: ScanContext) -> RunOutput:
        options = ImageOptions.read(self.options, ctx.work_dir, self.timeout)
        output = RunOutput([])
        analyses: list[ImageAnalysis] = []
        for reference in ctx.images:
            try:
                analyses.append(analyze(reference, options.analyze))
            except ImageError as exc:
                output.errors.append(
                    ScanFailure(exc.kind, f"image {reference}: {exc.message}", exc.detail)
                )
        if not analyses:
            first = output.errors[0]
            raise ScanFailure(first.kind, first.message, first.detail)
        with open_db(self._db_path(ctx)) as db:
            output.stale_data.extend(_coverage(db, analyses, options.max_db_age_days))
            lookup = _Advisories(db)
            for analysis in analyses:
                output.notes.extend(_summary_notes(analysis))
                output.findings.extend(_vulnerabilities(analysis, lookup, options.severity))
                for issue in analysis.config_issues:
                    output.findings.append(_config_finding(analysis, issue, options.severity))
                    output.redact.extend(issue.redact)
        return output

    def _db_path(self, ctx: ScanContext) -> Path:
        return ctx.db_path or default_db_path()


@dataclasses.dataclass(frozen=True)
class ImageOptions:
    analyze: AnalyzeSettings
    max_db_age_days: float
    severity: Mapping[str, Severity]

    @classmethod
    def read(cls, options: Mapping[str, Any], work_dir: Path, timeout: float) -> ImageOptions:
        """Validated options; a bad value is a `config` failure naming the key."""
        try:
            limits = Limits.read(options)
            platform = parse_platform(str(options.get("platform", DEFAULT_PLATFORM)))
        except ImageError as exc:
            raise ScanFailure("config", exc.message) from None
        source = SourceSettings(
            platform=platform,
            limits=limits,
            insecure_registries=_insecure(options.get("insecure_registries", [])),
            work_dir=work_dir,
            timeout=min(timeout, 300.0),
        )
        return cls(
            analyze=AnalyzeSettings(
                source=source,
                catalogers=_catalogers(options.get("catalogers", list(CATALOGERS))),
                config_checks=_bool(options, "config_checks", True),
            ),
            max_db_age_days=max_db_age_days(options, "image"),
            severity=severity_overrides(options, "image"),
        )


def _insecure(value: Any) -> tuple[str, ...]:
    if value is True:
        return ("loopback",)
    if value is False or value is None:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ScanFailure(
        "config", f"image.insecure_registries must be true/false or a list of hosts, not {value!r}"
    )


def _catalogers(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScanFailure("config", f"image.catalogers must be a list of names, not {value!r}")
    unknown = [v for v in value if v not in CATALOGERS]
    if unknown:
        raise ScanFailure(
            "config",
            f"image.catalogers: unknown cataloger {unknown[0]!r} (known: {', '.join(CATALOGERS)})",
        )
    return tuple(value)


def _bool(options: Mapping[str, Any], key: str, default: bool) -> bool:
    value = options.get(key, default)
    if not isinstance(value, bool):
        raise ScanFailure("config", f"image.{key} must be true or false, not {value!r}")
    return value


def _coverage(db: VulnDB, analyses: Sequence[ImageAnalysis], max_age_days: float) -> list[str]:
    """Ecosystems (with release) the database has nothing for, and stale data."""
    counts: dict[str, int] = {}
    for analysis in analyses:
        for pkg in analysis.packages:
            if pkg.ecosystem:
                counts[pkg.ecosystem] = counts.get(pkg.ecosystem, 0) + 1
    missing = [eco for eco in sorted(counts) if not db.has_ecosystem(eco)]
    notes = [
        f"no {eco} advisories in the vulnerability database: {counts[eco]} image packages "
        f"not checked (run `pipeline-guard db update --ecosystem {eco.split(':')[0]}`)"
        for eco in missing
    ]
    present = [eco for eco in counts if eco not in missing]
    stale = db.status().staleness_message(max_age_days, present) if present else None
    if stale:
        notes.append(stale)
    return notes


class _Advisories:
    """Advisory lookups cached per (ecosystem, name) across images."""

    def __init__(self, db: VulnDB) -> None:
        self._db = db
        self._cache: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def matches(self, pkg: FoundPackage) -> list[VulnMatch]:
        assert pkg.ecosystem is not None
        key = (pkg.ecosystem, normalize_name(pkg.ecosystem, pkg.match_name))
        if key not in self._cache:
            self._cache[key] = self._db.advisories_for(pkg.ecosystem, pkg.match_name)
        advisories = self._cache[key]
        if not advisories:
            return []
        found = match_package(advisories, pkg.ecosystem, pkg.match_name, pkg.match_version)
        return merge_aliases(found)


def _vulnerabilities(
    analysis: ImageAnalysis, lookup: _Advisories, overrides: Mapping[str, Severity]
) -> list[Finding]:
    out = []
    for copies in _grouped(analysis.packages):
        for match in lookup.matches(copies[0]):
            out.append(_vuln_finding(analysis, copies, match, overrides))
    return out


def _grouped(packages: Iterable[FoundPackage]) -> list[list[FoundPackage]]:
    """Copies of one package at one version (several paths or layers) report once,
    at the lowest layer, naming every path."""
    groups: dict[tuple[str, ...], list[FoundPackage]] = {}
    for pkg in packages:
        if pkg.ecosystem is None:
            continue
        key = (pkg.ecosystem, pkg.name, pkg.version, pkg.match_name, pkg.match_version)
        groups.setdefault(key, []).append(pkg)
    for copies in groups.values():
        copies.sort(key=lambda p: (p.layer.index if p.layer else -1, p.path))
    return list(groups.values())


def _vuln_finding(
    analysis: ImageAnalysis,
    copies: list[FoundPackage],
    match: VulnMatch,
    overrides: Mapping[str, Severity],
) -> Finding:
    pkg = copies[0]
    image = str(analysis.reference)
    summary = advisory_summary(match)
    override = next((overrides[i] for i in match.ids if i in overrides), None)
    return Finding(
        scanner="image",
        category=Category.IMAGE,
        rule_id=match.primary_id,
        title=clip(f"{pkg.name} {pkg.version}: {summary}"),
        message=_vuln_message(image, copies, match, summary),
        severity=override if override is not None else match.severity,
        location=Location(path=image, snippet=_layer_line(pkg)),
        package=Package(
            ecosystem=pkg.ecosystem or "",
            name=pkg.name,
            version=pkg.version,
            fixed_versions=match.fixed_versions,
            manifest=image,
            layer=pkg.layer.diff_id if pkg.layer else None,
            purl=pkg.purl,
        ),
        # Distribution advisories name their CVEs as upstream ids; users search by CVE.
        advisories=(*match.ids, *match.related),
        cwes=match.cwes,
        help_url=match.help_url,
        tags=("image", "os-package" if pkg.kind in _OS_KINDS else "language-package", pkg.kind),
        cvss_score=match.cvss_score,
        cvss_vector=match.cvss_vector,
    )


def _vuln_message(image: str, copies: list[FoundPackage], match: VulnMatch, summary: str) -> str:
    pkg = copies[0]
    aliases = f" (also {', '.join(match.aliases)})" if match.aliases else ""
    sentence = summary if summary.endswith((".", "…", "!", "?")) else f"{summary}."
    source = ""
    if (pkg.match_name, pkg.match_version) != (pkg.name, pkg.version):
        source = f" (source package {pkg.match_name} {pkg.match_version})"
    where = f"/{pkg.path}"
    others = sorted({f"/{c.path}" for c in copies[1:]} - {where})
    if others:
        where += f" (also {', '.join(others)})"
    layer = _layer_text(pkg)
    dep = Dependency(pkg.ecosystem or "", pkg.name, pkg.match_version, image, 0)
    return (
        f"{pkg.name} {pkg.version}{source} in image {image} is affected by "
        f"{match.primary_id}{aliases}: {sentence} Installed by {layer}; recorded in {where}. "
        f"{fix_advice(dep, match)}"
    )


def _layer_text(pkg: FoundPackage) -> str:
    if pkg.layer is None:
        return "an unknown layer"
    step = f": `{pkg.layer.created_by}`" if pkg.layer.created_by else ""
    return f"layer {pkg.layer.number} ({pkg.layer.diff_id}){step}"


def _layer_line(pkg: FoundPackage) -> str | None:
    if pkg.layer is None:
        return None
    return pkg.layer.created_by or f"layer {pkg.layer.number} {pkg.layer.diff_id}"


def _config_finding(
    analysis: ImageAnalysis, issue: ConfigIssue, overrides: Mapping[str, Severity]
) -> Finding:
    image = str(analysis.reference)
    return Finding(
        scanner="image",
        category=Category.IMAGE,
        rule_id=issue.rule_id,
        title=issue.title,
        message=f"{image}: {issue.message}",
        severity=overrides.get(issue.rule_id, issue.severity),
        location=Location(path=image, snippet=issue.snippet),
        confidence=issue.confidence,
        cwes=issue.cwes,
        help_url=issue.help_url,
        tags=("image", *issue.tags),
    )


def _summary_notes(analysis: ImageAnalysis) -> list[str]:
    image = str(analysis.reference)
    os_name = analysis.os.pretty_name if analysis.os else "no OS detected"
    layers = len(analysis.layers)
    head = (
        f"{image}: {os_name}, {analysis.platform}, {len(analysis.packages)} packages in "
        f"{layers} layer{'s' if layers != 1 else ''} (image {analysis.image_id})"
    )
    return [head, *(f"{image}: {note}" for note in analysis.notes)]
