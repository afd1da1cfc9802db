"""The local OSV advisory database: a read-only SQLite file built by `importer`.

Layout (schema version `SCHEMA_VERSION`):

- `advisories`: one row per advisory per dump it came from, with the advisory's
  original JSON bytes zlib-compressed (nothing is re-serialized or dropped);
- `affected`: (normalized name, ecosystem as written, advisory row), the lookup
  index; only entries whose ecosystem belongs to the dump are indexed, so a GHSA
  record that also lists Maven packages inside the npm dump is found only under npm;
- `dumps`: per imported dump (base ecosystem) its source, import time and counts;
- `releases`: per dump the exact ecosystems seen ("Debian:11", "Debian:12"...);
- `meta`: format marker and schema version.

The file is only ever replaced whole (temp file + rename), never written in
place, which is why readers may open it `immutable`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from pipeline_guard.vulndb.names import base_ecosystem, canonical_ecosystem, normalize_name

SCHEMA_VERSION = 1
FORMAT_MARKER = "pipeline-guard-osv"
UPDATE_HINT = "run `pipeline-guard db update`"

SCHEMA_SQL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE dumps (
    ecosystem TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    advisories INTEGER NOT NULL,
    packages INTEGER NOT NULL,
    invalid INTEGER NOT NULL,
    newest_modified TEXT
);
CREATE TABLE releases (
    dump TEXT NOT NULL,
    ecosystem TEXT NOT NULL,
    packages INTEGER NOT NULL,
    PRIMARY KEY (dump, ecosystem)
) WITHOUT ROWID;
CREATE TABLE advisories (
    rid INTEGER PRIMARY KEY,
    dump TEXT NOT NULL,
    id TEXT NOT NULL,
    modified TEXT,
    withdrawn INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE affected (
    name TEXT NOT NULL,
    ecosystem TEXT NOT NULL,
    rid INTEGER NOT NULL,
    PRIMARY KEY (name, ecosystem, rid)
) WITHOUT ROWID;
"""

# Created after the bulk insert: building an index once is cheaper than growing it.
INDEX_SQL = """
CREATE UNIQUE INDEX advisories_dump_id ON advisories (dump, id);
CREATE INDEX advisories_id ON advisories (id);
"""

#: Parsed advisories kept in memory per open database, weighed by their JSON size;
#: parsed dicts take about 4x that, so the cache stays under ~70 MB.
PARSED_CACHE_BYTES = 16 * 1024**2


class VulnDBError(Exception):
    """Anything wrong with the vulnerability database or its sources; the message says the fix."""


class DatabaseMissing(VulnDBError):
    """There is no database file where one was expected."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no vulnerability database at {path}: {UPDATE_HINT}")
        self.path = path


class DatabaseInvalid(VulnDBError):
    """The file exists but is no usable pipeline-guard database (corrupt, foreign, old schema)."""


def compress(data: bytes) -> bytes:
    """How advisory JSON is stored; level 6 is zlib's default speed/size balance."""
    return zlib.compress(data, 6)


def decompress(blob: bytes) -> bytes:
    return zlib.decompress(blob)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class EcosystemStatus:
    """One imported dump: where it came from, when, and what it holds."""

    name: str  # base ecosystem, e.g. "Debian"
    advisories: int
    packages: int  # distinct (ecosystem, normalized name) pairs, e.g. per Debian release
    source: str  # URL or local path of the zip
    imported_at: datetime
    invalid: int = 0  # members skipped because they were not valid advisory JSON
    newest_modified: str | None = None  # newest `modified` among its advisories
    releases: tuple[str, ...] = ()  # exact ecosystems seen, e.g. ("Debian:10", "Debian:11")


@dataclass(frozen=True)
class DBStatus:
    """What `db status` shows and what the stale-DB gate checks."""

    path: Path
    schema_version: int
    ecosystems: tuple[EcosystemStatus, ...]
    size_bytes: int
    built_at: datetime
    checked_at: datetime = field(default_factory=utc_now)

    @property
    def advisories(self) -> int:
        return sum(e.advisories for e in self.ecosystems)

    @property
    def last_import(self) -> datetime:
        """The most recent import of any ecosystem."""
        return max((e.imported_at for e in self.ecosystems), default=self.built_at)

    @property
    def oldest_import(self) -> datetime:
        """The least recent import of any ecosystem: how old the stalest data is."""
        return min((e.imported_at for e in self.ecosystems), default=self.built_at)

    @property
    def age(self) -> timedelta:
        """Time since the oldest ecosystem import.

        Conservative on purpose: after `db update --ecosystem PyPI` the npm data
        is as old as it was, and a stale-DB gate must still see that. Use
        `is_stale(..., ecosystems=[...])` to judge only what a scan uses.
        """
        return self.checked_at - self.oldest_import

    def ecosystem(self, name: str) -> EcosystemStatus | None:
        base = base_ecosystem(canonical_ecosystem(name))
        return next((e for e in self.ecosystems if e.name == base), None)

    def stale_ecosystems(
        self, max_age_days: float, ecosystems: Iterable[str] | None = None
    ) -> list[str]:
        """Ecosystems older than `max_age_days`, or asked for and never imported."""
        limit = timedelta(days=max_age_days)
        wanted = (
            [e.name for e in self.ecosystems]
            if ecosystems is None
            else sorted({base_ecosystem(canonical_ecosystem(e)) for e in ecosystems})
        )
        out = []
        for name in wanted:
            status = self.ecosystem(name)
            if status is None or self.checked_at - status.imported_at > limit:
                out.append(name)
        return out

    def is_stale(self, max_age_days: float, ecosystems: Iterable[str] | None = None) -> bool:
        """True when any ecosystem (or any of `ecosystems`) is older than `max_age_days`.

        An ecosystem asked for but never imported counts as stale: no data is
        worse than old data.
        """
        return bool(self.stale_ecosystems(max_age_days, ecosystems))

    def staleness_message(
        self, max_age_days: float, ecosystems: Iterable[str] | None = None
    ) -> str | None:
        """One line for the user when the data is stale, else None."""
        stale = self.stale_ecosystems(max_age_days, ecosystems)
        if not stale:
            return None
        parts = []
        for name in stale:
            status = self.ecosystem(name)
            if status is None:
                parts.append(f"{name} never imported")
            else:
                days = (self.checked_at - status.imported_at).total_seconds() / 86400
                parts.append(f"{name} {days:.1f} days old")
        return (
            f"vulnerability database is stale ({', '.join(parts)}; limit {max_age_days:g} days): "
            f"{UPDATE_HINT}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for `db status --format json`."""
        return {
            "path": str(self.path),
            "schema_version": self.schema_version,
            "size_bytes": self.size_bytes,
            "built_at": self.built_at.isoformat(),
            "age_seconds": int(self.age.total_seconds()),
            "advisories": self.advisories,
            "ecosystems": [
                {
                    "name": e.name,
                    "advisories": e.advisories,
                    "packages": e.packages,
                    "source": e.source,
                    "imported_at": e.imported_at.isoformat(),
                    "invalid": e.invalid,
                    "newest_modified": e.newest_modified,
                    "releases": list(e.releases),
                }
                for e in self.ecosystems
            ],
        }


class VulnDB:
    """Read-only access to an imported OSV database.

    Safe to share between threads. Advisories are returned as the parsed OSV
    dicts and are cached: callers must treat them as read-only (copy before
    changing anything), because the next caller gets the same objects.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, schema_version: int) -> None:
        self.path = path
        self.schema_version = schema_version
        self._conn = conn
        self._lock = threading.Lock()
        self._parsed: OrderedDict[int, tuple[dict[str, Any], int]] = OrderedDict()
        self._parsed_bytes = 0

    @classmethod
    def open(cls, path: Path) -> VulnDB:
        """Open the database read-only; DatabaseMissing / DatabaseInvalid say how to fix it."""
        path = Path(path)
        if not path.is_file():
            raise DatabaseMissing(path)
        conn = connect_readonly(path)
        try:
            version = read_schema_version(conn, path)
        except BaseException:
            conn.close()
            raise
        if version != SCHEMA_VERSION:
            conn.close()
            raise DatabaseInvalid(
                f"vulnerability database at {path} has schema version {version}, "
                f"this pipeline-guard needs {SCHEMA_VERSION}: {UPDATE_HINT}"
            )
        return cls(path, conn, version)

    def __enter__(self) -> VulnDB:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._parsed.clear()
            self._parsed_bytes = 0

    def advisories_for(self, ecosystem: str, name: str) -> list[dict[str, Any]]:
        """Every advisory (withdrawn included) with an `affected[]` entry for this package.

        `ecosystem` with a release ("Debian:12", "Alpine:v3.11") matches that
        release exactly; a bare OS ecosystem ("Debian") matches every release.
        The name is normalized the same way the import did (`names.normalize_name`).
        Sorted by advisory id. The dicts are shared: do not mutate them.
        """
        eco = canonical_ecosystem(ecosystem)
        key = normalize_name(eco, name)
        if ":" in eco:
            sql = "SELECT DISTINCT rid FROM affected WHERE name = ? AND ecosystem = ?"
            params: tuple[str, ...] = (key, eco)
        else:
            # ':' sorts just before ';', so this range is "starts with ECOSYSTEM:".
            sql = (
                "SELECT DISTINCT rid FROM affected WHERE name = ? "
                "AND (ecosystem = ? OR (ecosystem > ? AND ecosystem < ?))"
            )
            params = (key, eco, f"{eco}:", f"{eco};")
        with self._lock:
            rids = [row[0] for row in self._conn.execute(sql, params)]
            found = self._load(rids)
        return sorted(found, key=lambda adv: str(adv.get("id", "")))

    def advisory(self, advisory_id: str) -> dict[str, Any] | None:
        """One advisory by id (the newest copy when several dumps carry it), or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT rid FROM advisories WHERE id = ? ORDER BY modified DESC LIMIT 1",
                (advisory_id,),
            ).fetchone()
            if row is None:
                return None
            return self._load([row[0]])[0]

    def ecosystems(self) -> list[str]:
        """The base ecosystems imported, sorted."""
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT ecosystem FROM dumps ORDER BY 1")]

    def has_ecosystem(self, ecosystem: str) -> bool:
        """Is there data for this ecosystem? With a release ("Debian:12"), for that release."""
        eco = canonical_ecosystem(ecosystem)
        with self._lock:
            if ":" in eco:
                sql, params = "SELECT 1 FROM releases WHERE ecosystem = ?", (eco,)
            else:
                sql, params = "SELECT 1 FROM dumps WHERE ecosystem = ?", (eco,)
            return self._conn.execute(sql, params).fetchone() is not None

    def status(self) -> DBStatus:
        """Per-ecosystem counts, sources and import times, plus the schema and file size."""
        with self._lock:
            built = self._meta("built_at")
            releases: dict[str, list[str]] = {}
            for dump, eco in self._conn.execute(
                "SELECT dump, ecosystem FROM releases ORDER BY dump, ecosystem"
            ):
                releases.setdefault(dump, []).append(eco)
            ecosystems = tuple(
                EcosystemStatus(
                    name=row[0],
                    source=row[1],
                    imported_at=datetime.fromisoformat(row[2]),
                    advisories=row[3],
                    packages=row[4],
                    invalid=row[5],
                    newest_modified=row[6],
                    releases=tuple(r for r in releases.get(row[0], ()) if r != row[0]),
                )
                for row in self._conn.execute(
                    "SELECT ecosystem, source, imported_at, advisories, packages, invalid, "
                    "newest_modified FROM dumps ORDER BY ecosystem"
                )
            )
        return DBStatus(
            path=self.path,
            schema_version=self.schema_version,
            ecosystems=ecosystems,
            size_bytes=self.path.stat().st_size,
            built_at=datetime.fromisoformat(built) if built else utc_now(),
        )

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _load(self, rids: list[int]) -> list[dict[str, Any]]:
        """Parsed advisories for row ids, from the cache or the file. Caller holds the lock."""
        missing = [rid for rid in rids if rid not in self._parsed]
        fresh: dict[int, dict[str, Any]] = {}
        if missing:
            marks = ",".join("?" * len(missing))
            # pipeline-guard: ignore[pg.python.sql-string-format] only "?" marks are formatted in
            for rid, blob in self._conn.execute(
                # pipeline-guard: ignore[B608] only "?" placeholders are formatted; values are bound
                f"SELECT rid, data FROM advisories WHERE rid IN ({marks})",  # noqa: S608
                missing,
            ):
                raw = decompress(blob)
                fresh[rid] = json.loads(raw)
                self._parsed[rid] = (fresh[rid], len(raw))
                self._parsed_bytes += len(raw)
        out = []
        for rid in rids:
            if rid in fresh:
                out.append(fresh[rid])
            else:
                self._parsed.move_to_end(rid)
                out.append(self._parsed[rid][0])
        while self._parsed_bytes > PARSED_CACHE_BYTES and len(self._parsed) > 1:
            self._parsed_bytes -= self._parsed.popitem(last=False)[1][1]
        return out


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection; `immutable` because the file is only ever replaced, never edited."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"
    try:
        return sqlite3.connect(uri, uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise DatabaseInvalid(f"cannot open vulnerability database {path}: {exc}") from None


def read_schema_version(conn: sqlite3.Connection, path: Path) -> int:
    """The schema version of an open database; DatabaseInvalid when it is not ours or corrupt."""
    try:
        rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.Error as exc:
        raise DatabaseInvalid(
            f"{path} is not a pipeline-guard vulnerability database ({exc}): "
            f"delete it and {UPDATE_HINT}"
        ) from None
    if rows.get("format") != FORMAT_MARKER or not str(rows.get("schema_version", "")).isdigit():
        raise DatabaseInvalid(
            f"{path} is not a pipeline-guard vulnerability database: delete it and {UPDATE_HINT}"
        )
    return int(rows["schema_version"])
