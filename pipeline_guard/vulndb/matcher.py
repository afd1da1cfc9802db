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
events cannot be parsed is skipped the same way; `unevaluated_ranges` lists
those for a package, so a caller can say so even when nothing matched.

How it stays fast: the advisories a package has are compiled together,
once, into a `_PackageIndex`. Per version ordering it holds the distinct event
and limit keys of all their ranges in ascending order, and for every region
on and between those keys the advisories whose ranges cover it. A lookup is
then one version key, one `bisect` and a list index, however many advisories
and events the package has. The region tables are filled by running the same
`_in_range` walk on region numbers instead of version keys, so they say
exactly what walking each range would. Enumerated `versions[]` are a dict
from version to advisories.

Indexes are cached by the identity of the advisories (holding references so
the ids stay valid), which matches how the store hands them out: the same
parsed dicts for the same package. The matcher treats advisories as
read-only: change a copy, not a dict it has seen.
"""

from __future__ import annotations

import functools
import logging
import operator
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

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
    "VulnInfo",
    "VulnMatch",
    "affected_by",
    "id_rank",
    "is_orderable",
    "match_package",
    "merge_aliases",
    "normalize_name",
    "unevaluated_ranges",
]

log = logging.getLogger(__name__)

Advisory = Mapping[str, Any]
Package = tuple[str, str]  # (canonical ecosystem, normalized name)

_INTRODUCED, _FIXED, _LAST_AFFECTED = 0, 1, 2
_EVENT_KINDS = {"introduced": _INTRODUCED, "fixed": _FIXED, "last_affected": _LAST_AFFECTED}
# Each cache (package indexes, sequences, advisories' entries) starts over past this size.
_INDEX_LIMIT = 50_000

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


@dataclass
class _Compiled:
    """One advisory's `affected[]` entries for one package, while an index is built."""

    entries: list[Mapping[str, Any]] = field(default_factory=list)
    ranges: list[_Range] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)
    fixed: list[str] = field(default_factory=list)
    last_affected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # ranges that could not be compiled


def _range_ordering(range_type: str, ecosystem: str) -> VersionOrdering:
    if range_type == "SEMVER":
        return semver_ordering_for(ecosystem)
    return ordering_for(ecosystem)


def _compile_range(rng: Mapping[str, Any], ecosystem: str) -> _Range:
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


def _compile(advisory: Advisory, advisory_id: str, pkg: Package) -> _Compiled:
    out = _Compiled()
    for entry in _entries_for(advisory, pkg):
        out.entries.append(entry)
        out.versions.update(entry.get("versions", ()))
        for rng in entry.get("ranges", ()):
            if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            for event in rng.get("events", ()):
                if "fixed" in event:
                    out.fixed.append(event["fixed"])
                if "last_affected" in event:
                    out.last_affected.append(event["last_affected"])
            try:
                out.ranges.append(_compile_range(rng, pkg[0]))
            except (InvalidVersion, UnknownEcosystem) as exc:
                note = f"{advisory_id}: a {rng['type']} range was not evaluated ({exc}); "
                note += "only its enumerated versions are matched"
                log.debug(note)
                out.notes.append(note)
    return out


# Per advisory (held, so its id stays valid): its `affected[]` positions by package.
# An advisory can name dozens of packages (a distribution's kernel update), and
# the index of each needs only its own entries.
_ENTRIES: dict[int, tuple[Advisory, dict[Package, tuple[int, ...]]]] = {}


def _entries_for(advisory: Advisory, pkg: Package) -> list[Mapping[str, Any]]:
    """The advisory's `affected[]` entries for this package."""
    affected = advisory.get("affected", ())
    known = _ENTRIES.get(id(advisory))
    if known is None:
        grouped: dict[Package, list[int]] = {}
        for i, entry in enumerate(affected):
            entry_pkg = _entry_package(entry)
            if entry_pkg is not None:
                grouped.setdefault(entry_pkg, []).append(i)
        if len(_ENTRIES) >= _INDEX_LIMIT:
            _ENTRIES.clear()
        known = _ENTRIES[id(advisory)] = (advisory, {p: tuple(i) for p, i in grouped.items()})
    return [affected[i] for i in known[1].get(pkg, ())]


def _entry_package(entry: Mapping[str, Any]) -> Package | None:
    pkg = entry.get("package") or {}
    eco, name = pkg.get("ecosystem"), pkg.get("name")
    if isinstance(eco, str) and isinstance(name, str):
        return _package_key(eco, name)
    return None


@functools.lru_cache(maxsize=65_536)
def _package_key(ecosystem: str, name: str) -> Package:
    canonical = canonical_ecosystem(ecosystem)
    return (canonical, normalize_name(canonical, name))


def _in_range(version_key: Any, rng: _Range) -> bool:
    """OSV's event walk over one range. Also run on region numbers (see `_covered`)."""
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


# --- package index --------------------------------------------------------------------------


@dataclass(slots=True)
class _Slot:
    """One (not withdrawn) advisory of a package index."""

    order: int  # position in the index: `id_rank` order of the record id, then input order
    advisory: Advisory
    record: str
    entry: Mapping[str, Any]  # the first `affected[]` entry for the package (its severity)
    fixed: tuple[str, ...]  # every `fixed` in the package's ranges, in data order
    last_affected: tuple[str, ...]
    notes: tuple[str, ...]  # ranges that could not be compiled
    info: VulnInfo | None = None  # filled on the first match


# (slot, via, notes): one advisory affecting the queried version.
_Hit = tuple[_Slot, str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class _Table:
    """The ranges of one ordering, as regions of the version line.

    `bounds` are the distinct event and limit keys, ascending. A version whose
    key equals bounds[i] is in region 2i+1; one strictly between bounds[i-1]
    and bounds[i] is in region 2i. `hits[region]` are the slots (in slot
    order, as ready-made range hits) with a range of this ordering covering it.
    """

    ordering: VersionOrdering
    bounds: list[Any]
    hits: list[tuple[_Hit, ...]]
    users: frozenset[int]  # slots with at least one range of this ordering


@dataclass(frozen=True, slots=True)
class _PackageIndex:
    """Every advisory of one package, compiled for lookups by version."""

    advisories: tuple[Advisory, ...]  # keeps the cache key's ids from being reused
    pkg: Package
    slots: tuple[_Slot, ...]
    tables: tuple[_Table, ...]
    listed: dict[str, tuple[int, ...]]  # enumerated `versions[]` -> slots, ascending
    # The common case, one ordering and no enumerations: that table, whose
    # answer is the whole answer (a lookup touches less memory this way).
    only: _Table | None

    def find(self, version: str) -> tuple[_Hit, ...]:
        """Every slot affecting `version`, in slot order."""
        only = self.only
        if only is None:
            return self._find_any(version)
        try:
            key = only.ordering.key(version)
        except InvalidVersion:
            return ()
        bounds = only.bounds
        i = bisect_left(bounds, key)
        return only.hits[2 * i + 1 if i < len(bounds) and not key < bounds[i] else 2 * i]

    def _find_any(self, version: str) -> tuple[_Hit, ...]:
        found: tuple[_Hit, ...] = ()
        unparsed: list[_Table] = []
        for table in self.tables:
            try:
                key = table.ordering.key(version)
            except InvalidVersion:
                unparsed.append(table)
                continue
            bounds = table.bounds
            i = bisect_left(bounds, key)
            hits = table.hits[2 * i + 1 if i < len(bounds) and not key < bounds[i] else 2 * i]
            if hits:
                found = _in_slot_order((*found, *hits)) if found else hits
        if version in self.listed:
            return self._with_listed(found, version, unparsed)
        return found

    def _with_listed(
        self, found: tuple[_Hit, ...], version: str, unparsed: list[_Table]
    ) -> tuple[_Hit, ...]:
        ranged = {slot.order for slot, _, _ in found}
        listed_only = [self.slots[s] for s in self.listed[version] if s not in ranged]
        return _in_slot_order(
            (
                *found,
                *(
                    (slot, "versions", _listed_notes(slot, version, unparsed))
                    for slot in listed_only
                ),
            )
        )


def _in_slot_order(hits: Iterable[_Hit]) -> tuple[_Hit, ...]:
    unique = {hit[0].order: hit for hit in hits}
    return tuple(unique[order] for order in sorted(unique))


def _listed_notes(slot: _Slot, version: str, unparsed: list[_Table]) -> tuple[str, ...]:
    names = sorted({t.ordering.name for t in unparsed if slot.order in t.users})
    if not names:
        return slot.notes
    return (
        *slot.notes,
        f"version {version!r} is not a valid {', '.join(names)} "
        "version: matched through the advisory's enumerated versions only",
    )


_INDEXES: dict[tuple[Package, tuple[int, ...]], _PackageIndex] = {}
# The index last used for a sequence object, by the sequence's id, with the
# ecosystem and name it was asked for: callers keep the list the store gave them
# per package, so this usually answers, after checking that the sequence still
# holds the same advisories.
_BY_SEQUENCE: dict[int, tuple[Sequence[Advisory], str, str, _PackageIndex]] = {}


def _index(advisories: Sequence[Advisory], ecosystem: str, name: str) -> _PackageIndex:
    known = _BY_SEQUENCE.get(id(advisories))
    if (
        known is not None
        and known[1] == ecosystem
        and known[2] == name
        and known[3].advisories == tuple(advisories)
    ):
        return known[3]
    index = _index_of(advisories, _package_key(ecosystem, name))
    if len(_BY_SEQUENCE) >= _INDEX_LIMIT:
        _BY_SEQUENCE.clear()
    # Holding the sequence keeps its id from being reused while the entry exists.
    _BY_SEQUENCE[id(advisories)] = (advisories, ecosystem, name, index)
    return index


def _index_of(advisories: Sequence[Advisory], pkg: Package) -> _PackageIndex:
    cache_key = (pkg, tuple(map(id, advisories)))
    index = _INDEXES.get(cache_key)
    if index is None:
        if len(_INDEXES) >= _INDEX_LIMIT:
            _INDEXES.clear()
        index = _INDEXES[cache_key] = _build_index(tuple(advisories), pkg)
    return index


def _build_index(advisories: tuple[Advisory, ...], pkg: Package) -> _PackageIndex:
    ids = [str(advisory.get("id", "?")) for advisory in advisories]
    slots: list[_Slot] = []
    by_ordering: dict[int, list[tuple[int, _Range]]] = {}
    listed: dict[str, list[int]] = {}
    for i in sorted(range(len(advisories)), key=lambda i: id_rank(ids[i])):
        if advisories[i].get("withdrawn"):
            continue
        compiled = _compile(advisories[i], ids[i], pkg)
        if not compiled.entries:
            continue
        s = len(slots)
        slots.append(
            _Slot(
                order=s,
                advisory=advisories[i],
                record=ids[i],
                entry=compiled.entries[0],
                fixed=tuple(dict.fromkeys(compiled.fixed)),
                last_affected=tuple(dict.fromkeys(compiled.last_affected)),
                notes=tuple(compiled.notes),
            )
        )
        for rng in compiled.ranges:
            by_ordering.setdefault(id(rng.ordering), []).append((s, rng))
        for version in compiled.versions:
            listed.setdefault(version, []).append(s)
    range_hits: list[_Hit] = [(slot, "range", slot.notes) for slot in slots]
    tables = tuple(_build_table(ranges, range_hits) for ranges in by_ordering.values())
    return _PackageIndex(
        advisories=advisories,
        pkg=pkg,
        slots=tuple(slots),
        tables=tables,
        listed={version: tuple(found) for version, found in listed.items()},
        only=tables[0] if len(tables) == 1 and not listed else None,
    )


def _build_table(ranges: list[tuple[int, _Range]], range_hits: list[_Hit]) -> _Table:
    ordering = ranges[0][1].ordering
    bounds: list[Any] = []
    for key in sorted(k for _, rng in ranges for k in _range_keys(rng)):
        if not bounds or bounds[-1] < key:  # drop keys equal to the previous one
            bounds.append(key)
    size = 2 * len(bounds) + 1
    covered: dict[int, list[tuple[int, int]]] = {}
    for s, rng in ranges:
        covered.setdefault(s, []).extend(_covered(rng, bounds))
    # A slot's bit flips at the start and the end of each of its (disjoint) intervals.
    flips = [0] * (size + 1)
    for s, intervals in covered.items():
        for start, stop in _union(intervals):
            flips[start] ^= 1 << s
            flips[stop] ^= 1 << s
    hits: list[tuple[_Hit, ...]] = []
    shared: dict[int, tuple[_Hit, ...]] = {}
    mask = 0
    for region in range(size):
        mask ^= flips[region]
        if mask not in shared:
            bits = range(mask.bit_length())
            shared[mask] = tuple(range_hits[s] for s in bits if mask >> s & 1)
        hits.append(shared[mask])
    return _Table(ordering, bounds, hits, frozenset(covered))


def _range_keys(rng: _Range) -> Iterable[Any]:
    yield from (k for k, _ in rng.events if k is not None)
    yield from (k for k in rng.limits or () if k is not None)


def _region(bounds: list[Any], key: Any) -> int:
    i = bisect_left(bounds, key)
    return 2 * i + 1 if i < len(bounds) and not key < bounds[i] else 2 * i


def _covered(rng: _Range, bounds: list[Any]) -> list[tuple[int, int]]:
    """The region intervals [start, stop) that `rng` covers.

    Region numbers order like the keys they stand for, so `_in_range` on them
    gives the range's answer for every version in the region. The answer can
    only change at an event's or limit's region, so it is constant on each
    such region and on each run of regions between two of them: one probe each.
    """

    def region(key: Any) -> int | None:
        return None if key is None else _region(bounds, key)

    as_regions = _Range(
        ordering=rng.ordering,
        events=tuple((region(k), kind) for k, kind in rng.events),
        limits=None if rng.limits is None else tuple(region(k) for k in rng.limits),
    )
    starts = [0]
    for critical in sorted(set(_range_keys(as_regions))):
        starts += [critical, critical + 1]
    stops = [*starts[1:], 2 * len(bounds) + 1]
    return [(a, b) for a, b in zip(starts, stops, strict=True) if _in_range(a, as_regions)]


def _union(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, stop in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], stop))
        else:
            out.append((start, stop))
    return out


# --- single advisories ----------------------------------------------------------------------


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


def affected_by(
    advisory: Advisory, ecosystem: str, name: str, version: str
) -> AffectedMatch | None:
    """How `advisory` affects name@version in `ecosystem`, or None if it does not."""
    index = _index_of((advisory,), _package_key(ecosystem, name))
    for slot, via, notes in index.find(version):
        return AffectedMatch(
            advisory_id=slot.record,
            ecosystem=index.pkg[0],
            name=name,
            version=version,
            via=via,
            fixed_versions=slot.fixed,
            last_affected=slot.last_affected,
            notes=notes,
        )
    return None


def unevaluated_ranges(
    advisories: Sequence[Advisory], ecosystem: str, name: str
) -> tuple[tuple[str, str], ...]:
    """(advisory id, note) for each range of the package's advisories that cannot be
    evaluated (its events do not parse): those advisories match only through their
    enumerated versions, so without any they match nothing, and the caller should say so.
    Withdrawn advisories are left out."""
    return tuple(
        (slot.record, note)
        for slot in _index(advisories, ecosystem, name).slots
        for note in slot.notes
    )


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
class VulnInfo:
    """What a match reports that no queried version changes: one advisory, or several
    merged, as it applies to one package."""

    ids: tuple[str, ...]  # primary first (see id_rank), then the other records and aliases
    records: tuple[str, ...]  # ids of the advisories that matched
    related: tuple[str, ...]  # upstream/related ids not in `ids` (e.g. a DSA's CVEs)
    ecosystem: str
    summary: str
    details: str
    severity: Severity
    severity_source: str  # see pipeline_guard.vulndb.severity.SeverityInfo
    cvss_score: float | None
    cvss_vector: str | None
    fixed_versions: tuple[str, ...]  # every fix in the matching package's ranges, ascending
    fixes_by_record: tuple[tuple[str, tuple[str, ...]], ...]
    help_url: str
    references: tuple[str, ...]
    published: str | None
    modified: str | None
    cwes: tuple[str, ...]


_T = TypeVar("_T")


class _FromInfo(Generic[_T]):
    """A `VulnMatch` attribute that reads the field of the same name from its `info`."""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._get = operator.attrgetter(name)

    @overload
    def __get__(self, match: None, owner: type[Any] | None = None) -> _FromInfo[_T]: ...

    @overload
    def __get__(self, match: VulnMatch, owner: type[Any] | None = None) -> _T: ...

    def __get__(self, match: VulnMatch | None, owner: type[Any] | None = None) -> Any:
        return self if match is None else self._get(match.info)


@dataclass(frozen=True)
class VulnMatch:
    """One vulnerability affecting package@version: one advisory, or several merged.

    The fields no version changes sit in `info`, built once per advisory and
    package and shared by all its matches (a match is then cheap to make); they
    read as attributes of the match too: `match.ids` is `match.info.ids`.
    """

    info: VulnInfo
    name: str
    version: str
    via: str  # "range" if any record matched by range, else "versions"
    notes: tuple[str, ...] = ()

    ids = _FromInfo[tuple[str, ...]]()
    records = _FromInfo[tuple[str, ...]]()
    related = _FromInfo[tuple[str, ...]]()
    ecosystem = _FromInfo[str]()
    summary = _FromInfo[str]()
    details = _FromInfo[str]()
    severity = _FromInfo[Severity]()
    severity_source = _FromInfo[str]()
    cvss_score = _FromInfo[float | None]()
    cvss_vector = _FromInfo[str | None]()
    fixed_versions = _FromInfo[tuple[str, ...]]()
    fixes_by_record = _FromInfo[tuple[tuple[str, tuple[str, ...]], ...]]()
    help_url = _FromInfo[str]()
    references = _FromInfo[tuple[str, ...]]()
    published = _FromInfo[str | None]()
    modified = _FromInfo[str | None]()
    cwes = _FromInfo[tuple[str, ...]]()

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


def _info(slot: _Slot, pkg: Package) -> VulnInfo:
    """The match fields of this advisory and package that no version changes."""
    advisory, record, fixes = slot.advisory, slot.record, slot.fixed
    aliases = [str(a) for a in advisory.get("aliases") or ()]
    related = [str(r) for key in ("upstream", "related") for r in advisory.get(key) or ()]
    ids = tuple(sorted({record, *aliases}, key=id_rank))
    sev = advisory_severity(advisory, slot.entry)
    return VulnInfo(
        ids=ids,
        records=(record,),
        related=tuple(sorted(set(related) - set(ids), key=id_rank)),
        ecosystem=pkg[0],
        summary=str(advisory.get("summary") or ""),
        details=str(advisory.get("details") or ""),
        severity=sev.severity,
        severity_source=sev.source,
        cvss_score=sev.score,
        cvss_vector=sev.vector,
        fixed_versions=_sorted_versions(pkg[0], fixes),
        fixes_by_record=((record, fixes),),
        help_url=f"https://osv.dev/vulnerability/{record}",
        references=tuple(
            dict.fromkeys(str(r["url"]) for r in advisory.get("references") or () if r.get("url"))
        ),
        published=advisory.get("published"),
        modified=advisory.get("modified"),
        cwes=_cwes(advisory),
    )


def match_package(
    advisories: Sequence[Advisory], ecosystem: str, name: str, version: str
) -> list[VulnMatch]:
    """One VulnMatch per advisory affecting name@version, ordered by id.

    Call `merge_aliases` on the result to fold aliases of one vulnerability together.
    """
    index = _index(advisories, ecosystem, name)
    out = []
    for slot, via, notes in index.find(version):
        info = slot.info
        if info is None:
            info = slot.info = _info(slot, index.pkg)
        # The hot path: the frozen __init__ sets each field through object.__setattr__;
        # filling the instance dict at once makes the same object in half the time.
        match = _new(VulnMatch)
        _setattr(
            match,
            "__dict__",
            {"info": info, "name": name, "version": version, "via": via, "notes": notes},
        )
        out.append(match)
    return out


_new = object.__new__
_setattr = object.__setattr__


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
    info = VulnInfo(
        ids=tuple(ids),
        records=tuple(r for m in group for r in m.records),
        related=tuple(sorted({r for m in group for r in m.related} - set(ids), key=id_rank)),
        ecosystem=lead.ecosystem,
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
    )
    return VulnMatch(
        info=info,
        name=lead.name,
        version=lead.version,
        via="range" if any(m.via == "range" for m in group) else "versions",
        notes=tuple(dict.fromkeys(n for m in group for n in m.notes)),
    )
