"""OSV adapter: known vulnerabilities in pinned dependencies, matched offline.

Recipe: find the lockfiles and manifests among the scan's files
(`pipeline_guard.sources`), parse them, look every pinned package up in the
local OSV database (`pipeline_guard.vulndb`), match its version, fold aliases
of one vulnerability together, and report one finding per (manifest, package,
version, vulnerability), located on the line that declares the package.

Nothing is skipped silently: unpinned or non-registry entries, malformed
lockfiles, ecosystems the database has no data for and a stale database all
become notes; a missing database is a `config` failure that says how to fix it.

Severity table: the advisory's own rating, as `pipeline_guard.vulndb.severity`
reads it (first usable wins):

    CVSS v3 / v4 / v2 base score  9.0-10 -> critical, 7.0-8.9 -> high,
                                  4.0-6.9 -> medium, 0.1-3.9 -> low, 0 -> info
    GHSA word                     CRITICAL -> critical, HIGH -> high,
                                  MODERATE -> medium, LOW -> low
    vendor prefix (Red Hat style) Critical / Important / Moderate / Low
    RustSec informational         notice -> info, unmaintained -> low
    no rating at all              medium (DEFAULT_SEVERITY)

The `severity` option (advisory id or any alias -> level) overrides it.

Every finding is tagged with where its severity came from (`SEVERITY_TAGS`),
so a default medium can be told from a rated one:

    severity:cvss-v3 / cvss-v4 / cvss-v2  scored from the advisory's vector
    severity:database                     the database's word (GHSA, Ubuntu)
    severity:vendor                       Red Hat-style summary prefix
    severity:informational                RustSec notice / unmaintained
    severity:default                      nobody rated it: DEFAULT_SEVERITY
    severity:config                       the `severity` option

What the matcher could not fully evaluate goes into the run's notes, once per
package@version and advisory: a version its ecosystem's ordering cannot parse
(matched through enumerated versions only), and advisory ranges whose events do
not parse (such an advisory matches nothing unless it enumerates versions).

Options (the `osv:` section of pipeline-guard.yml):

    max_db_age_days  number, default 7     older advisory data is reported as stale
    include_dev      bool,   default true  also check dev-only dependencies
    severity         map,    default {}    advisory id -> critical|high|medium|low|info
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pipeline_guard import __version__
from pipeline_guard.model import Category, Finding, Location, Package, ScannerRun, Severity
from pipeline_guard.scanner import RunOutput, ScanContext, ScanFailure, Scanner
from pipeline_guard.sources.base import Dependency
from pipeline_guard.sources.loader import Collected, collect, manifest_files
from pipeline_guard.vulndb.advice import advisory_summary, clip, fix_advice
from pipeline_guard.vulndb.matcher import (
    VulnMatch,
    is_orderable,
    match_package,
    merge_aliases,
    unevaluated_ranges,
)
from pipeline_guard.vulndb.names import normalize_name
from pipeline_guard.vulndb.paths import default_db_path
from pipeline_guard.vulndb.scanning import max_db_age_days, open_db, severity_overrides
from pipeline_guard.vulndb.store import VulnDB, VulnDBError

# `VulnMatch.severity_source` (see pipeline_guard.vulndb.severity) -> finding tag.
SEVERITY_TAGS: Mapping[str, str] = {
    "CVSS_V3": "severity:cvss-v3",
    "CVSS_V4": "severity:cvss-v4",
    "CVSS_V2": "severity:cvss-v2",
    "database": "severity:database",
    "vendor": "severity:vendor",
    "informational": "severity:informational",
    "default": "severity:default",
}
OVERRIDE_TAG = "severity:config"
OSV_URL = "https://osv.dev/vulnerability/"


class OsvScanner(Scanner):
    """Pinned dependencies in lockfiles against the local OSV advisory database."""

    name = "osv"
    category = Category.SCA
    description = "Known vulnerabilities in locked dependencies (local OSV database)"
    fast = True

    def applies(self, ctx: ScanContext) -> bool:
        return bool(manifest_files(ctx.files))

    def targets(self, ctx: ScanContext) -> int:
        return len(manifest_files(ctx.files))

    def version(self) -> str | None:
        return version_label(default_db_path())

    def scan(self, ctx: ScanContext) -> ScannerRun:
        # The database the run used is known only from ctx, which version() never sees.
        run = super().scan(ctx)
        return dataclasses.replace(run, tool_version=version_label(self._db_path(ctx)))

    def run(self, ctx: ScanContext) -> RunOutput:
        options = _Options.read(self.options)
        collected = collect(ctx.root, ctx.files)
        if collected.errors and not collected.manifests:
            raise ScanFailure(
                "input",
                f"no dependency manifest could be read: {collected.errors[0]}",
                "\n".join(str(e) for e in collected.errors),
            )
        output = RunOutput([], notes=_manifest_notes(collected))
        # A malformed lockfile among good ones: the others' findings are kept,
        # and the error still fails a stage that fails closed.
        output.errors.extend(
            ScanFailure("input", f"{error}: not scanned") for error in collected.errors
        )
        deps = _selected(collected.dependencies, options, output.notes)
        with open_db(self._db_path(ctx)) as db:
            output.stale_data.extend(_coverage_notes(db, deps, options.max_db_age_days))
            matcher = _Matcher(db)
            for dep in deps:
                for match in matcher.matches(dep, output.notes):
                    output.findings.append(_finding(dep, match, options.severity))
        return output

    def _db_path(self, ctx: ScanContext) -> Path:
        return ctx.db_path or default_db_path()


@dataclasses.dataclass(frozen=True)
class _Options:
    max_db_age_days: float
    include_dev: bool
    severity: Mapping[str, Severity]

    @classmethod
    def read(cls, options: Mapping[str, Any]) -> _Options:
        """Validated options; a bad value is a `config` failure naming the key."""
        include_dev = options.get("include_dev", True)
        if not isinstance(include_dev, bool):
            raise ScanFailure(
                "config", f"osv.include_dev must be true or false, not {include_dev!r}"
            )
        return cls(max_db_age_days(options, "osv"), include_dev, severity_overrides(options, "osv"))


def version_label(db_path: Path) -> str:
    """`pipeline-guard <version> / db <last import>`, or `/ no db` without a database."""
    try:
        with VulnDB.open(db_path) as db:
            imported = db.status().last_import
    except (VulnDBError, OSError):
        return f"pipeline-guard {__version__} / no db"
    return f"pipeline-guard {__version__} / db {imported:%Y-%m-%dT%H:%MZ}"


def _manifest_notes(collected: Collected) -> list[str]:
    notes = [str(item) for item in collected.not_checked]
    notes.extend(collected.notes)
    return notes


def _selected(deps: list[Dependency], options: _Options, notes: list[str]) -> list[Dependency]:
    """The dependencies to check; direct declarations first, so a package pinned both
    directly and deeper in one lockfile is reported where the project declares it."""
    deps = sorted(deps, key=lambda d: d.direct is not True)
    if options.include_dev:
        return deps
    kept = [d for d in deps if not d.dev]
    if len(kept) < len(deps):
        notes.append(
            f"{len(deps) - len(kept)} dev-only dependencies not checked (include_dev: false)"
        )
    return kept


def _coverage_notes(db: VulnDB, deps: list[Dependency], max_age_days: float) -> list[str]:
    """Ecosystems the database cannot answer for, and stale data."""
    used = sorted({d.ecosystem for d in deps})
    missing = [eco for eco in used if not db.has_ecosystem(eco)]
    if used and len(missing) == len(used):
        raise ScanFailure(
            "config",
            f"the vulnerability database at {db.path} has no advisories for "
            f"{', '.join(missing)}: run `pipeline-guard db update --ecosystem {missing[0]}`",
        )
    notes = [
        f"no {eco} advisories in the vulnerability database: {_count(deps, eco)} not checked "
        f"(run `pipeline-guard db update --ecosystem {eco}`)"
        for eco in missing
    ]
    present = [eco for eco in used if eco not in missing]
    stale = db.status().staleness_message(max_age_days, present) if present else None
    if stale:
        notes.append(stale)
    return notes


def _count(deps: Iterable[Dependency], ecosystem: str) -> str:
    n = sum(1 for d in deps if d.ecosystem == ecosystem)
    return f"{n} {ecosystem} dependenc{'y' if n == 1 else 'ies'}"


class _Matcher:
    """Advisory lookups cached per package, one result per (manifest, package, vuln), and
    the matcher's notes once per package@version and advisory."""

    def __init__(self, db: VulnDB) -> None:
        self._db = db
        self._advisories: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._seen: set[tuple[str, str, str, str, str]] = set()
        self._noted: set[str] = set()

    def matches(self, dep: Dependency, notes: list[str]) -> list[VulnMatch]:
        key = (dep.ecosystem, normalize_name(dep.ecosystem, dep.name))
        if key not in self._advisories:
            self._advisories[key] = self._db.advisories_for(dep.ecosystem, dep.name)
        advisories = self._advisories[key]
        if not advisories:
            return []
        where = f"{dep.manifest}:{dep.line} {dep.name} {dep.version}"
        if not is_orderable(dep.ecosystem, dep.version):
            notes.append(
                f"{where}: not a valid {dep.ecosystem} version, only compared with the "
                "advisories' listed versions"
            )
        found = merge_aliases(match_package(advisories, dep.ecosystem, dep.name, dep.version))
        self._note_matcher_limits(dep, advisories, found, notes)
        out = []
        for match in found:
            seen = (dep.manifest, *key, dep.version, match.primary_id)
            if seen in self._seen:
                continue
            self._seen.add(seen)
            out.append(match)
        return out

    def _note_matcher_limits(
        self,
        dep: Dependency,
        advisories: list[dict[str, Any]],
        found: list[VulnMatch],
        notes: list[str],
    ) -> None:
        label = f"{dep.ecosystem} {dep.name}@{dep.version}"
        for match in found:
            for note in match.notes:
                self._note(notes, f"{label}, {match.primary_id}: {note}")
        matched = {record for match in found for record in match.records}
        for record, note in unevaluated_ranges(advisories, dep.ecosystem, dep.name):
            if record not in matched:
                self._note(notes, f"{label}: {note}, and {dep.version} is not one of them")

    def _note(self, notes: list[str], text: str) -> None:
        if text not in self._noted:
            self._noted.add(text)
            notes.append(text)


def _finding(dep: Dependency, match: VulnMatch, overrides: Mapping[str, Severity]) -> Finding:
    summary = advisory_summary(match)
    override = next((overrides[i] for i in match.ids if i in overrides), None)
    if override is not None:
        severity_tag = OVERRIDE_TAG
    else:
        severity_tag = SEVERITY_TAGS.get(match.severity_source, f"severity:{match.severity_source}")
    return Finding(
        scanner="osv",
        category=Category.SCA,
        rule_id=match.primary_id,
        title=clip(f"{dep.name} {dep.version}: {summary}"),
        message=_message(dep, match, summary),
        severity=override if override is not None else match.severity,
        location=Location(path=dep.manifest, start_line=dep.line),
        package=Package(
            ecosystem=dep.ecosystem,
            name=dep.name,
            version=dep.version,
            fixed_versions=match.fixed_versions,
            manifest=dep.manifest,
            purl=dep.purl,
        ),
        advisories=match.ids,
        cwes=match.cwes,
        help_url=OSV_URL + match.primary_id,
        tags=(*_tags(dep), severity_tag),
        cvss_score=match.cvss_score,
        cvss_vector=match.cvss_vector,
    )


def _message(dep: Dependency, match: VulnMatch, summary: str) -> str:
    aliases = f" (also {', '.join(match.aliases)})" if match.aliases else ""
    sentence = summary if summary.endswith((".", "…", "!", "?")) else f"{summary}."
    return (
        f"{dep.name} {dep.version} is affected by {match.primary_id}{aliases}: {sentence} "
        f"{fix_advice(dep, match)}"
    )


def _tags(dep: Dependency) -> tuple[str, ...]:
    tags = ["dependency", dep.ecosystem]
    if dep.direct is not None:
        tags.append("direct" if dep.direct else "transitive")
    if dep.dev:
        tags.append("dev")
    if dep.optional:
        tags.append("optional")
    return tuple(tags)
