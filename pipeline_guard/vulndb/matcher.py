"""OSV matching: is package@version affected by these advisories, and how to fix it.

Implements the OSV schema's evaluation algorithm
(https://ossf.github.io/osv-schema/#evaluation):

* an `affected[]` entry applies when its `package.ecosystem` equals the
  queried one exactly ("Debian:11" is not "Debian:12"; only the spelling of the
  ecosystem name is canonicalized) and its name equals the queried name under
  `pipeline_guard.vulndb.names.normalize_name` (PyPI: PEP 503, ...);
* the version is affected if it is listed in `versions[]`, or lies in any
  `ECOSYSTEM` or `SEMVER` range: events sorted by version (the data does not
  always sort them), `introduced` (with "0" before everything) makes it
  affected, `fixed` at or below it and `last_affected` below it make it
  unaffected, `limit` events bound the range; `GIT` ranges need the commit
  graph and are ignored;
* withdrawn advisories are skipped.

`ECOSYSTEM` ranges use the ecosystem's ordering and `SEMVER` ranges SemVer 2.0
(Go's with its "v" and "go" prefixes), see `versions/`. A version the ordering
cannot parse (an old non-PEP 440 PyPI release, say) can match only through the
enumerated `versions[]`, and the match says so in its notes. A range whose own
events cannot be parsed is skipped the same way.

Compiled ranges are cached per advisory object (by identity, holding a
reference so the id stays valid), so matching many versions against the
advisories a store hands out is a few tuple comparisons each. The matcher
treats advisories as read-only: change a copy, not a dict it has seen.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline_guard.model import Severity
from pipeline_guard.vulndb.names import canonical_ecosystem, normalize_name
from pipeline_guard.vulndb.severity import advisory_severity
from pipeline_guard.vulndb.versions import (
    InvalidVersion,
    UnknownEcosystem,
    VersionOrdering,
    ordering_for,
    semver_ordering_for,
)

__all__ = [
    "AffectedMatch",
    "VulnMatch",
    "affected_by",
    "id_rank",
    "is_orderable",
    "match_package",
    "merge_aliases",
    "normalize_name",
]

log = logging.getLogger(__name__)

Advisory = Mapping[str, Any]

_INTRODUCED, _FIXED, _LAST_AFFECTED = 0, 1, 2
_EVENT_KINDS = {"introduced": _INTRODUCED, "fixed": _FIXED, "last_affected": _LAST_AFFECTED}
# The cache holds compiled advisories; past this many it starts over.
_CACHE_LIMIT = 100_000

# Identifier prefixes by preference for a merged match's primary id (lower wins).
_ECOSYSTEM_DBS = frozenset({"PYSEC", "RUSTSEC", "GO", "MAL", "OSV", "RSEC", "HSEC", "PSF", "BIT"})
_DISTRO_DBS = frozenset(
    {"DSA", "DLA", "DTSA", "ALSA", "ALBA", "ALEA", "ALPINE", "RLSA", "RXSA", "RHSA", "USN",
     "SUSE", "openSUSE", "UBUNTU", "DEBIAN", "MGASA", "PHSA", "CGA", "OESA"}
)  # fmt: skip


# --- compiled advisories --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Range:
    ordering: VersionOrdering
    # (sort key, kind); key None is introduced "0". Sorted by version.
    events: tuple[tuple[Any, int], ...]
    limits: tuple[Any, ...] | None  # None: no limit events; a None item is "*"


@dataclass(frozen=True, slots=True)
class _Entry:
    versions: frozenset[str]
    ranges: tuple[_Range, ...]
    fixed: tuple[str, ...]
    last_affected: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass
class _Compiled:
    advisory: Advisory  # keeps the object alive so its id() is not reused
    raw: dict[tuple[str, str], list[Mapping[str, Any]]]
    entries: dict[tuple[str, str], tuple[_Entry, ...]] = field(default_factory=dict)
    # Per package: the VulnMatch fields that do not depend on the queried version.
    templates: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


_CACHE: dict[int, _Compiled] = {}


def _range_ordering(range_type: str, ecosystem: str) -> VersionOrdering:
    if range_type == "SEMVER":
        return semver_ordering_for(ecosystem)
    return ordering_for(ecosystem)


def _compile_range(rng: Mapping[str, Any], ecosystem: str, advisory_id: str) -> _Range:
    """Raises InvalidVersion or UnknownEcosystem when the range cannot be evaluated."""
    ordering = _range_ordering(rng["type"], ecosystem)
    events: list[tuple[tuple[int, Any], int]] = []
    limits: list[Any] = []
    for event in rng.get("events", ()):
        for name, value in event.items():
            if name == "limit":
                limits.append(None if "*" in value else ordering.key(value))
            elif name in _EVENT_KINDS:
                kind = _EVENT_KINDS[name]
                if kind == _INTRODUCED and value == "0":
                    events.append(((0, None), kind))
                else:
                    events.append(((1, ordering.key(value)), kind))
    # Stable sort by version alone: equal versions keep the data's order.
    events.sort(key=lambda e: e[0])
    return _Range(
        ordering=ordering,
        events=tuple((k[1], kind) for k, kind in events),
        limits=tuple(limits) if limits else None,
    )


def _compile_entry(entry: Mapping[str, Any], ecosystem: str, advisory_id: str) -> _Entry:
    ranges: list[_Range] = []
    fixed: list[str] = []
    last: list[str] = []
    notes: list[str] = []
    for rng in entry.get("ranges", ()):
        if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        for event in rng.get("events", ()):
            fixed.extend(v for k, v in event.items() if k == "fixed")
            last.extend(v for k, v in event.items() if k == "last_affected")
        try:
            ranges.append(_compile_range(rng, ecosystem, advisory_id))
        except (InvalidVersion, UnknownEcosystem) as exc:
            note = f"{advisory_id}: a {rng['type']} range was not evaluated ({exc}); "
            note += "only its enumerated versions are matched"
            log.warning(note)
            notes.append(note)
    return _Entry(
        versions=frozenset(entry.get("versions", ())),
        ranges=tuple(ranges),
        fixed=tuple(dict.fromkeys(fixed)),
        last_affected=tuple(dict.fromkeys(last)),
        notes=tuple(notes),
    )


def _compiled(advisory: Advisory) -> _Compiled:
    cached = _CACHE.get(id(advisory))
    if cached is not None and cached.advisory is advisory:
        return cached
    raw: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for entry in advisory.get("affected", ()):
        pkg = entry.get("package") or {}
        eco, name = pkg.get("ecosystem"), pkg.get("name")
        if isinstance(eco, str) and isinstance(name, str):
            canonical = canonical_ecosystem(eco)
            raw.setdefault((canonical, normalize_name(canonical, name)), []).append(entry)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    compiled = _CACHE[id(advisory)] = _Compiled(advisory, raw)
    return compiled


def _package_key(ecosystem: str, name: str) -> tuple[str, str]:
    canonical = canonical_ecosystem(ecosystem)
    return (canonical, normalize_name(canonical, name))


def _entries_for(advisory: Advisory, pkg: tuple[str, str]) -> tuple[_Entry, ...]:
    compiled = _compiled(advisory)
    entries = compiled.entries.get(pkg)
    if entries is None:
        advisory_id = str(advisory.get("id", "?"))
        raw = compiled.raw.get(pkg, ())
        entries = tuple(_compile_entry(e, pkg[0], advisory_id) for e in raw)
        compiled.entries[pkg] = entries
    return entries


# --- evaluation -----------------------------------------------------------------------------


def _in_range(version_key: Any, rng: _Range) -> bool:
    if rng.limits is not None and not any(
        limit is None or version_key < limit for limit in rng.limits
    ):
        return False
    affected = False
    for event_key, kind in rng.events:
        if event_key is not None:
            if event_key > version_key:
                break  # events are sorted: none after this one can apply
            if kind == _LAST_AFFECTED and not version_key > event_key:
                continue
        affected = kind == _INTRODUCED
    return affected


class _VersionKeys:
    """The queried version's key under each ordering, computed once."""

    def __init__(self, version: str) -> None:
        self.version = version
        self._keys: dict[int, Any] = {}
        self.unparsed: list[str] = []

    def key(self, ordering: VersionOrdering) -> Any:
        slot = id(ordering)
        if slot not in self._keys:
            try:
                self._keys[slot] = ordering.key(self.version)
            except InvalidVersion:
                self._keys[slot] = None
                self.unparsed.append(ordering.name)
        return self._keys[slot]


@dataclass(frozen=True)
class AffectedMatch:
    """Why one advisory affects package@version."""

    advisory_id: str
    ecosystem: str
    name: str
    version: str
    via: str  # "range" or "versions" (listed in the enumeration only)
    fixed_versions: tuple[str, ...]  # every `fixed` in this package's ranges
    last_affected: tuple[str, ...]
    notes: tuple[str, ...] = ()


def _evaluate(
    advisory: Advisory, entries: tuple[_Entry, ...], keys: _VersionKeys
) -> tuple[str, tuple[str, ...]] | None:
    """(via, notes) when the version is affected, else None."""
    if advisory.get("withdrawn"):
        return None
    via = None
    for entry in entries:
        for rng in entry.ranges:
            version_key = keys.key(rng.ordering)
            if version_key is not None and _in_range(version_key, rng):
                return "range", _notes(entries)
        if keys.version in entry.versions:
            via = "versions"
    if via is None:
        return None
    notes = _notes(entries)
    if keys.unparsed:
        notes += (
            f"version {keys.version!r} is not a valid {', '.join(sorted(set(keys.unparsed)))} "
            "version: matched through the advisory's enumerated versions only",
        )
    return via, notes


def _notes(entries: tuple[_Entry, ...]) -> tuple[str, ...]:
    return tuple(n for e in entries for n in e.notes)


def _affected(
    advisory: Advisory, pkg: tuple[str, str], name: str, keys: _VersionKeys
) -> AffectedMatch | None:
    entries = _entries_for(advisory, pkg)
    result = _evaluate(advisory, entries, keys)
    if result is None:
        return None
    return AffectedMatch(
        advisory_id=str(advisory.get("id", "?")),
        ecosystem=pkg[0],
        name=name,
        version=keys.version,
        via=result[0],
        fixed_versions=tuple(dict.fromkeys(v for e in entries for v in e.fixed)),
        last_affected=tuple(dict.fromkeys(v for e in entries for v in e.last_affected)),
        notes=result[1],
    )


def affected_by(
    advisory: Advisory, ecosystem: str, name: str, version: str
) -> AffectedMatch | None:
    """How `advisory` affects name@version in `ecosystem`, or None if it does not."""
    return _affected(advisory, _package_key(ecosystem, name), name, _VersionKeys(version))


def is_orderable(ecosystem: str, version: str) -> bool:
    """Whether ranges can be evaluated for this version (else only enumerations match)."""
    try:
        ordering_for(canonical_ecosystem(ecosystem)).key(version)
    except (InvalidVersion, UnknownEcosystem):
        return False
    return True


# --- results --------------------------------------------------------------------------------


def id_rank(identifier: str) -> tuple[int, str]:
    """Sort key for ids: GHSA, then ecosystem databases (PYSEC, RUSTSEC, GO...),
    then distribution advisories (DSA, ALSA, ALPINE...), then CVE, then the rest;
    ties by the id itself. The first id of a merged match is its primary."""
    prefix = identifier.split("-", 1)[0]
    if prefix == "GHSA":
        rank = 0
    elif prefix in _ECOSYSTEM_DBS:
        rank = 1
    elif prefix in _DISTRO_DBS:
        rank = 2
    elif prefix == "CVE":
        rank = 3
    else:
        rank = 4
    return (rank, identifier)


@dataclass(frozen=True)
class VulnMatch:
    """One vulnerability affecting package@version: one advisory, or several merged."""

    ids: tuple[str, ...]  # primary first (see id_rank), then the other records and aliases
    records: tuple[str, ...]  # ids of the advisories that matched
    related: tuple[str, ...]  # upstream/related ids not in `ids` (e.g. a DSA's CVEs)
    ecosystem: str
    name: str
    version: str
    summary: str
    details: str
    severity: Severity
    severity_source: str
    cvss_score: float | None
    cvss_vector: str | None
    fixed_versions: tuple[str, ...]  # every fix in the matching package's ranges, ascending
    fixes_by_record: tuple[tuple[str, tuple[str, ...]], ...]
    help_url: str
    references: tuple[str, ...]
    published: str | None
    modified: str | None
    cwes: tuple[str, ...]
    via: str  # "range" if any record matched by range, else "versions"
    notes: tuple[str, ...] = ()

    @property
    def primary_id(self) -> str:
        return self.ids[0]

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.ids[1:]

    def lowest_fix_above(self, version: str | None = None) -> str | None:
        """The lowest version that fixes every merged record, above `version`.

        For each record, the lowest of its fixes greater than the installed
        version; the answer is the highest of those. None when a record has no
        fix above the version, or the version cannot be ordered.
        """
        installed = self.version if version is None else version
        try:
            ordering = _fix_ordering(self.ecosystem)
            floor = ordering.key(installed)
        except (InvalidVersion, UnknownEcosystem):
            return None
        needed: list[tuple[Any, str]] = []
        for _record, fixes in self.fixes_by_record:
            above = [
                (k, f) for f in fixes if (k := _safe_key(ordering, f)) is not None and k > floor
            ]
            if not above:
                return None
            needed.append(min(above, key=lambda kf: kf[0]))
        return max(needed, key=lambda kf: kf[0])[1] if needed else None


def _fix_ordering(ecosystem: str) -> VersionOrdering:
    try:
        return ordering_for(ecosystem)
    except UnknownEcosystem:
        return semver_ordering_for(ecosystem)


def _safe_key(ordering: VersionOrdering, version: str) -> Any:
    try:
        return ordering.key(version)
    except InvalidVersion:
        return None


def _sorted_versions(ecosystem: str, versions: Iterable[str]) -> tuple[str, ...]:
    unique = list(dict.fromkeys(versions))
    ordering = _fix_ordering(ecosystem)
    keyed = [(k, v) for v in unique if (k := _safe_key(ordering, v)) is not None]
    unordered = sorted(v for v in unique if _safe_key(ordering, v) is None)
    return tuple(v for _, v in sorted(keyed, key=lambda kv: kv[0])) + tuple(unordered)


def _cwes(advisory: Advisory) -> tuple[str, ...]:
    raw = (advisory.get("database_specific") or {}).get("cwe_ids") or ()
    out = []
    for cwe in raw:
        text = str(cwe).upper()
        out.append(text if text.startswith("CWE-") else f"CWE-{text}")
    return tuple(out)


def _template(advisory: Advisory, pkg: tuple[str, str]) -> dict[str, Any]:
    """VulnMatch fields for this advisory and package that no version changes (cached)."""
    compiled = _compiled(advisory)
    cached = compiled.templates.get(pkg)
    if cached is not None:
        return cached
    record = str(advisory.get("id", "?"))
    aliases = [str(a) for a in advisory.get("aliases") or ()]
    related = [str(r) for key in ("upstream", "related") for r in advisory.get(key) or ()]
    ids = tuple(sorted({record, *aliases}, key=id_rank))
    raw_entries = compiled.raw.get(pkg)
    sev = advisory_severity(advisory, raw_entries[0] if raw_entries else None)
    fixes = tuple(dict.fromkeys(v for e in _entries_for(advisory, pkg) for v in e.fixed))
    template: dict[str, Any] = {
        "ids": ids,
        "records": (record,),
        "related": tuple(sorted(set(related) - set(ids), key=id_rank)),
        "ecosystem": pkg[0],
        "summary": str(advisory.get("summary") or ""),
        "details": str(advisory.get("details") or ""),
        "severity": sev.severity,
        "severity_source": sev.source,
        "cvss_score": sev.score,
        "cvss_vector": sev.vector,
        "fixed_versions": _sorted_versions(pkg[0], fixes),
        "fixes_by_record": ((record, fixes),),
        "help_url": f"https://osv.dev/vulnerability/{record}",
        "references": tuple(
            dict.fromkeys(str(r["url"]) for r in advisory.get("references") or () if r.get("url"))
        ),
        "published": advisory.get("published"),
        "modified": advisory.get("modified"),
        "cwes": _cwes(advisory),
    }
    compiled.templates[pkg] = template
    return template


def match_package(
    advisories: Sequence[Advisory], ecosystem: str, name: str, version: str
) -> list[VulnMatch]:
    """One VulnMatch per advisory affecting name@version, ordered by id.

    Call `merge_aliases` on the result to fold aliases of one vulnerability together.
    """
    keys = _VersionKeys(version)
    pkg = _package_key(ecosystem, name)
    out = []
    for advisory in advisories:
        result = _evaluate(advisory, _entries_for(advisory, pkg), keys)
        if result is not None:
            out.append(
                VulnMatch(
                    **_template(advisory, pkg),
                    name=name,
                    version=version,
                    via=result[0],
                    notes=result[1],
                )
            )
    out.sort(key=lambda m: id_rank(m.records[0]))
    return out


# --- alias merging --------------------------------------------------------------------------


def merge_aliases(matches: Sequence[VulnMatch]) -> list[VulnMatch]:
    """Fold matches that name the same vulnerability into one.

    Two matches are one vulnerability when their identifier sets overlap:
    id and `aliases` (PYSEC/GHSA/CVE), and `upstream`/`related` (Debian,
    Alpine, AlmaLinux records point at their CVEs that way). The merged match
    lists every id (primary first by `id_rank`), the most severe rating, every
    fix, and fix advice that fixes all of them (`lowest_fix_above`).
    """
    parent = list(range(len(matches)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, match in enumerate(matches):
        for identifier in (*match.ids, *match.related):
            j = owner.setdefault(identifier, i)
            parent[find(i)] = find(j)
    groups: dict[int, list[VulnMatch]] = {}
    for i, match in enumerate(matches):
        groups.setdefault(find(i), []).append(match)
    merged = [_merge(group) for group in groups.values()]
    merged.sort(key=lambda m: id_rank(m.ids[0]))
    return merged


def _merge(group: list[VulnMatch]) -> VulnMatch:
    if len(group) == 1:
        return group[0]
    group = sorted(group, key=lambda m: id_rank(m.records[0]))
    lead = group[0]
    rated = max(group, key=lambda m: (m.severity, m.cvss_score is not None, m.cvss_score or 0.0))
    ids = sorted({i for m in group for i in m.ids}, key=id_rank)
    dates = [m.published for m in group if m.published]
    modified = [m.modified for m in group if m.modified]
    return VulnMatch(
        ids=tuple(ids),
        records=tuple(r for m in group for r in m.records),
        related=tuple(sorted({r for m in group for r in m.related} - set(ids), key=id_rank)),
        ecosystem=lead.ecosystem,
        name=lead.name,
        version=lead.version,
        summary=lead.summary,
        details=lead.details,
        severity=rated.severity,
        severity_source=rated.severity_source,
        cvss_score=rated.cvss_score,
        cvss_vector=rated.cvss_vector,
        fixed_versions=_sorted_versions(
            lead.ecosystem, (v for m in group for v in m.fixed_versions)
        ),
        fixes_by_record=tuple(f for m in group for f in m.fixes_by_record),
        help_url=lead.help_url,
        references=tuple(dict.fromkeys(r for m in group for r in m.references)),
        published=min(dates) if dates else None,
        modified=max(modified) if modified else None,
        cwes=tuple(dict.fromkeys(c for m in group for c in m.cwes)),
        via="range" if any(m.via == "range" for m in group) else "versions",
        notes=tuple(dict.fromkeys(n for m in group for n in m.notes)),
    )
