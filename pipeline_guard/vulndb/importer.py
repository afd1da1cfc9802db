"""Building the OSV database from per-ecosystem dumps (`<Ecosystem>-all.zip`).

An update never touches the live file: a new SQLite file is built beside it
(`<name>.tmp-<random>`), filled, indexed, vacuumed and fsynced, then renamed
over the old one. Ecosystems not being updated are copied from the old file.
Anything going wrong (a bad zip, a network error, Ctrl-C) leaves the old
database as it was.

Dumps are untrusted input: each is checked to be a zip, every member name must
be a plain top-level file, and sizes, member count and compression ratio are
capped before anything is decompressed (`ZipLimits`). Members are read as
streams; nothing is extracted to disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from pipeline_guard.vulndb.download import DEFAULT_ECOSYSTEMS, OSV_BASE_URL, dump_url, fetch
from pipeline_guard.vulndb.names import base_ecosystem, canonical_ecosystem, normalize_name
from pipeline_guard.vulndb.store import (
    FORMAT_MARKER,
    INDEX_SQL,
    SCHEMA_SQL,
    SCHEMA_VERSION,
    DatabaseInvalid,
    VulnDBError,
    compress,
    connect_readonly,
    read_schema_version,
    utc_now,
)

#: Temp files and download dirs of an interrupted (killed) update older than this are removed.
STALE_TEMP_SECONDS = 3600
BATCH = 500
PROGRESS_EVERY = 500
SQLITE_MAGIC = b"SQLite format 3\x00"


class SourceError(VulnDBError):
    """A source that cannot be used: missing, ambiguous, or not an OSV dump."""


class ZipRejected(SourceError):
    """A dump refused for safety: bad names, too big, too many members, bomb-like ratio, corrupt."""


@dataclass(frozen=True)
class Source:
    """Where advisories come from.

    `location` is a local `<Ecosystem>-all.zip` or `<Ecosystem>/all.zip`, a
    directory holding such zips, a URL of one zip, or a mirror base URL laid
    out like OSV's bucket (`<base>/<Ecosystem>/all.zip`). `ecosystem` names the
    dump when its file name does not.
    """

    location: str
    ecosystem: str | None = None

    def __str__(self) -> str:
        return self.location


@dataclass(frozen=True)
class ZipLimits:
    """Caps applied to every dump before decompressing it (zip bomb guard)."""

    max_total_bytes: int = 2 * 1024**3  # sum of uncompressed member sizes
    max_member_bytes: int = 64 * 1024**2  # largest real advisory is well under 1 MiB
    max_members: int = 2_000_000  # official npm (malicious-package reports) is ~250k
    max_ratio: float = 100.0  # uncompressed/compressed; real advisories stay under 50
    ratio_min_bytes: int = 1024**2  # tiny members may compress well without harm


@dataclass(frozen=True)
class ImportProgress:
    """Reported to the `progress` callback: phase is "download" or "import"."""

    ecosystem: str
    phase: str
    done: int
    total: int


@dataclass(frozen=True)
class EcosystemImport:
    """What one dump contributed."""

    ecosystem: str
    source: str
    advisories: int
    packages: int
    invalid: tuple[str, ...] = ()  # member names skipped: not advisory JSON
    ignored: tuple[str, ...] = ()  # member names skipped: not *.json
    duplicates: int = 0  # same id twice in one dump; the newest `modified` was kept


@dataclass(frozen=True)
class ImportResult:
    db_path: Path
    imported: tuple[EcosystemImport, ...]
    carried_over: tuple[str, ...]  # ecosystems copied unchanged from the previous database
    warnings: tuple[str, ...] = ()
    duration: float = 0.0

    @property
    def advisories(self) -> int:
        return sum(e.advisories for e in self.imported)


ProgressCallback = Callable[[ImportProgress], None]


@dataclass(frozen=True)
class Dump:
    """One ecosystem's dump to import: a local zip path or a URL to download."""

    ecosystem: str
    location: str
    remote: bool


def import_sources(
    sources: Sequence[Source | str | Path],
    db_path: Path,
    ecosystems: list[str] | None = None,
    *,
    limits: ZipLimits | None = None,
    progress: ProgressCallback | None = None,
    timeout: float = 30,
    retries: int = 3,
    backoff: float = 1.0,
    now: datetime | None = None,
) -> ImportResult:
    """Import OSV dumps into the database at `db_path`, replacing it atomically.

    No sources means OSV's own bucket. `ecosystems` (base names, any case)
    restricts what directories and base URLs contribute; None means every dump
    a directory holds, or `DEFAULT_ECOSYSTEMS` for a base URL. Raises
    SourceError / ZipRejected / DownloadError (all VulnDBError) and leaves the
    old database untouched when anything fails.
    """
    started = time.monotonic()
    db_path = Path(db_path)
    limits = limits or ZipLimits()
    dumps = resolve_dumps([_as_source(s) for s in sources] or [Source(OSV_BASE_URL)], ecosystems)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    _check_target(db_path)
    _remove_stale_temps(db_path)
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(
        prefix=f".{db_path.name}.download-", dir=db_path.parent
    ) as work:
        local = _fetch_all(dumps, Path(work), progress, timeout, retries, backoff)
        fd, tmp_name = tempfile.mkstemp(prefix=f"{db_path.name}.tmp-", dir=db_path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            imported, carried = _build(
                tmp, db_path, dumps, local, limits, progress, now or utc_now(), warnings
            )
            _publish(tmp, db_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
    for item in imported:
        warnings.extend(_member_warnings(item))
    return ImportResult(
        db_path=db_path,
        imported=tuple(imported),
        carried_over=tuple(carried),
        warnings=tuple(warnings),
        duration=time.monotonic() - started,
    )


def resolve_dumps(sources: Sequence[Source], ecosystems: list[str] | None) -> list[Dump]:
    """Expand sources into one dump per ecosystem; SourceError on anything ambiguous."""
    wanted = None if ecosystems is None else [_base(e) for e in ecosystems]
    found: dict[str, Dump] = {}
    for source in sources:
        for dump in _expand(source, wanted):
            if dump.ecosystem in found:
                raise SourceError(
                    f"two sources for {dump.ecosystem}: {found[dump.ecosystem].location} "
                    f"and {dump.location}"
                )
            found[dump.ecosystem] = dump
    if not found:
        raise SourceError("nothing to import: no OSV dumps in the sources given")
    return list(found.values())


def _as_source(value: Source | str | Path) -> Source:
    return value if isinstance(value, Source) else Source(str(value))


def _base(ecosystem: str) -> str:
    return base_ecosystem(canonical_ecosystem(ecosystem))


def _is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def _expand(source: Source, wanted: list[str] | None) -> list[Dump]:
    if _is_url(source.location):
        if urlsplit(source.location).path.endswith(".zip"):
            eco = _named_ecosystem(source, PurePosixPath(unquote(urlsplit(source.location).path)))
            return [_single(source, eco, wanted, remote=True)]
        names = wanted if wanted is not None else list(DEFAULT_ECOSYSTEMS)
        return [Dump(eco, dump_url(source.location, eco), remote=True) for eco in names]
    path = Path(source.location).expanduser()
    if path.is_dir():
        return _scan_directory(path, wanted)
    if path.is_file():
        return [_single(source, _named_ecosystem(source, PurePosixPath(path)), wanted, False)]
    raise SourceError(f"no such file or directory: {path}")


def _single(source: Source, eco: str, wanted: list[str] | None, remote: bool) -> Dump:
    if wanted is not None and eco not in wanted:
        raise SourceError(
            f"{source.location} holds {eco}, which is not among the ecosystems asked for "
            f"({', '.join(wanted)})"
        )
    return Dump(eco, source.location, remote)


def _named_ecosystem(source: Source, path: PurePosixPath) -> str:
    """The dump's ecosystem: given explicitly, else from `<Eco>-all.zip` or `<Eco>/all.zip`."""
    if source.ecosystem:
        return _base(source.ecosystem)
    if path.name.endswith("-all.zip") and len(path.name) > len("-all.zip"):
        return _base(path.name[: -len("-all.zip")])
    if path.name == "all.zip" and path.parent.name:
        return _base(path.parent.name)
    raise SourceError(
        f"cannot tell which ecosystem {source.location} holds: name it <Ecosystem>-all.zip "
        "or <Ecosystem>/all.zip"
    )


def _scan_directory(directory: Path, wanted: list[str] | None) -> list[Dump]:
    available: dict[str, Path] = {}
    candidates = sorted(directory.glob("*-all.zip")) + sorted(directory.glob("*/all.zip"))
    for zip_path in candidates:
        eco = _named_ecosystem(Source(str(zip_path)), PurePosixPath(zip_path.as_posix()))
        if eco in available:
            raise SourceError(
                f"two dumps for {eco} in {directory}: {available[eco]} and {zip_path}"
            )
        available[eco] = zip_path
    if wanted is None:
        if not available:
            raise SourceError(
                f"no OSV dumps (<Ecosystem>-all.zip or <Ecosystem>/all.zip) in {directory}"
            )
        return [Dump(eco, str(p), remote=False) for eco, p in available.items()]
    missing = [eco for eco in wanted if eco not in available]
    if missing:
        raise SourceError(
            f"no dump for {', '.join(missing)} in {directory} "
            f"(expected {missing[0]}-all.zip or {missing[0]}/all.zip)"
        )
    return [Dump(eco, str(available[eco]), remote=False) for eco in wanted]


def _fetch_all(
    dumps: list[Dump],
    work: Path,
    progress: ProgressCallback | None,
    timeout: float,
    retries: int,
    backoff: float,
) -> dict[str, Path]:
    """Local paths of every dump, downloading remote ones first so no build starts offline."""
    local: dict[str, Path] = {}
    for n, dump in enumerate(dumps):
        if not dump.remote:
            local[dump.ecosystem] = Path(dump.location).expanduser()
            continue
        if progress:
            progress(ImportProgress(dump.ecosystem, "download", n, len(dumps)))
        dest = work / f"{quote(dump.ecosystem, safe='')}-all.zip"
        local[dump.ecosystem] = fetch(
            dump.location, dest, timeout=timeout, retries=retries, backoff=backoff
        )
    return local


def _check_target(db_path: Path) -> None:
    """Refuse to overwrite a file that is not ours (a mistyped PIPELINE_GUARD_DB).

    A corrupt database of ours is replaced; `carry_over` warns that it was not reused.
    """
    if db_path.is_dir():
        raise VulnDBError(f"{db_path} is a directory; the database path must name a file")
    if not db_path.exists() or db_path.stat().st_size == 0:
        return
    foreign = (
        f"refusing to replace {db_path}: it is {{what}} "
        "(is PIPELINE_GUARD_DB pointing at the right file?)"
    )
    with db_path.open("rb") as fh:
        if fh.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise VulnDBError(foreign.format(what="not a SQLite database"))
    try:
        conn = connect_readonly(db_path)
    except DatabaseInvalid:
        return
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError:
        return
    finally:
        conn.close()
    if "meta" not in tables or "advisories" not in tables:
        raise VulnDBError(foreign.format(what="a SQLite database but not pipeline-guard's"))


def _remove_stale_temps(db_path: Path) -> None:
    """Leftovers of an update that was killed (SIGKILL skips our cleanup)."""
    cutoff = time.time() - STALE_TEMP_SECONDS
    patterns = (f"{db_path.name}.tmp-*", f".{db_path.name}.download-*")
    for pattern in patterns:
        for leftover in db_path.parent.glob(pattern):
            with contextlib.suppress(OSError):
                if leftover.lstat().st_mtime >= cutoff:
                    continue
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()


def _build(
    tmp: Path,
    db_path: Path,
    dumps: list[Dump],
    local: dict[str, Path],
    limits: ZipLimits,
    progress: ProgressCallback | None,
    now: datetime,
    warnings: list[str],
) -> tuple[list[EcosystemImport], list[str]]:
    """Fill the new file: carried-over ecosystems first, then each dump; index and vacuum."""
    builder = _Builder(tmp)
    try:
        carried = builder.carry_over(db_path, {d.ecosystem for d in dumps}, warnings)
        imported = [
            builder.ingest(d.ecosystem, local[d.ecosystem], d.location, limits, progress, now)
            for d in dumps
        ]
        builder.finish(now)
    finally:
        builder.close()
    return imported, carried


def _publish(tmp: Path, db_path: Path) -> None:
    """fsync the new file, rename it over the old one, fsync the directory."""
    os.chmod(tmp, 0o644)  # advisory data is public; CI caches are often read by another user
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, db_path)
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        dir_fd = os.open(db_path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class _Builder:
    """Writes a fresh database file; only `finish` makes it complete."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}", uri=True)
        # A temp file we discard on any failure: no durability needed until `_publish`.
        self.conn.execute("PRAGMA journal_mode=MEMORY")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-65536")
        self.conn.executescript(SCHEMA_SQL)
        self.next_rid = 1

    def close(self) -> None:
        self.conn.close()

    def carry_over(self, old_path: Path, replaced: set[str], warnings: list[str]) -> list[str]:
        """Copy the ecosystems not being re-imported from the previous database."""
        if not old_path.is_file() or old_path.stat().st_size == 0:
            return []
        try:
            old = connect_readonly(old_path)
            try:
                version = read_schema_version(old, old_path)
                kept = [
                    r[0]
                    for r in old.execute("SELECT ecosystem FROM dumps ORDER BY 1")
                    if r[0] not in replaced
                ]
            finally:
                old.close()
        except (VulnDBError, sqlite3.Error) as exc:
            warnings.append(f"previous database not reused: {exc}")
            return []
        if version != SCHEMA_VERSION:
            warnings.append(
                f"previous database has schema version {version}, not {SCHEMA_VERSION}: "
                f"not carried over ({', '.join(kept) or 'nothing'}); import those ecosystems again"
            )
            return []
        return kept if kept and self._copy(old_path, kept, warnings) else []

    def _copy(self, old_path: Path, kept: list[str], warnings: list[str]) -> bool:
        uri = f"file:{quote(str(old_path.resolve()))}?mode=ro&immutable=1"
        statements = (
            "INSERT INTO dumps SELECT ecosystem, source, imported_at, advisories, packages, "
            "invalid, newest_modified FROM old.dumps WHERE ecosystem IN (SELECT name FROM keep)",
            "INSERT INTO releases SELECT dump, ecosystem, packages FROM old.releases "
            "WHERE dump IN (SELECT name FROM keep)",
            "INSERT INTO advisories SELECT rid, dump, id, modified, withdrawn, data "
            "FROM old.advisories WHERE dump IN (SELECT name FROM keep)",
            "INSERT INTO affected SELECT a.name, a.ecosystem, a.rid FROM old.affected a "
            "JOIN old.advisories v ON v.rid = a.rid WHERE v.dump IN (SELECT name FROM keep)",
        )
        self.conn.execute("CREATE TEMP TABLE keep (name TEXT PRIMARY KEY)")
        self.conn.executemany("INSERT INTO keep VALUES (?)", [(k,) for k in kept])
        self.conn.execute("ATTACH DATABASE ? AS old", (uri,))
        copied = True
        try:
            for sql in statements:
                self.conn.execute(sql)
            self.conn.commit()
        except sqlite3.Error as exc:
            self.conn.rollback()
            copied = False
            warnings.append(f"previous database unreadable, ecosystems not carried over: {exc}")
        finally:
            self.conn.execute("DETACH DATABASE old")
            self.conn.execute("DROP TABLE keep")
        top = self.conn.execute("SELECT MAX(rid) FROM advisories").fetchone()[0]
        self.next_rid = int(top or 0) + 1
        return copied

    def ingest(
        self,
        ecosystem: str,
        zip_path: Path,
        source: str,
        limits: ZipLimits,
        progress: ProgressCallback | None,
        now: datetime,
    ) -> EcosystemImport:
        """Import one dump; returns its counts. ZipRejected for an unsafe or corrupt zip."""
        first_rid = self.next_rid
        state = _DumpState()
        with _open_zip(zip_path, source) as archive:
            members, ignored = _checked_members(archive, source, limits)
            for n, info in enumerate(members, 1):
                raw = _read_member(archive, info, source, limits, state)
                record = _parse_advisory(raw)
                if record is None:
                    state.invalid.append(info.filename)
                else:
                    self._add(ecosystem, raw, record, state)
                if progress and (n % PROGRESS_EVERY == 0 or n == len(members)):
                    progress(ImportProgress(ecosystem, "import", n, len(members)))
        self._flush(state)
        self._drop(state.replaced)
        packages = self._record_dump(ecosystem, source, now, first_rid, state)
        self.conn.commit()
        return EcosystemImport(
            ecosystem=ecosystem,
            source=source,
            advisories=len(state.seen),
            packages=packages,
            invalid=tuple(state.invalid),
            ignored=tuple(ignored),
            duplicates=state.duplicates,
        )

    def _add(self, dump: str, raw: bytes, record: dict[str, Any], state: _DumpState) -> None:
        adv_id = record["id"]
        modified = record.get("modified") if isinstance(record.get("modified"), str) else None
        if adv_id in state.seen:
            state.duplicates += 1
            old_modified, old_rid = state.seen[adv_id]
            if (modified or "") <= (old_modified or ""):
                return
            state.replaced.append(old_rid)
        rid = self._reserve()
        state.seen[adv_id] = (modified, rid)
        withdrawn = 1 if record.get("withdrawn") else 0
        state.rows.append((rid, dump, adv_id, modified, withdrawn, compress(raw)))
        for eco, name in _affected_packages(record, dump):
            state.links.append((name, eco, rid))
        if modified and modified > (state.newest or ""):
            state.newest = modified
        if len(state.rows) >= BATCH:
            self._flush(state)

    def _reserve(self) -> int:
        rid = self.next_rid
        self.next_rid += 1
        return rid

    def _flush(self, state: _DumpState) -> None:
        self.conn.executemany("INSERT INTO advisories VALUES (?, ?, ?, ?, ?, ?)", state.rows)
        self.conn.executemany("INSERT OR IGNORE INTO affected VALUES (?, ?, ?)", state.links)
        state.rows.clear()
        state.links.clear()

    def _drop(self, rids: list[int]) -> None:
        if not rids:
            return
        self.conn.executemany("DELETE FROM advisories WHERE rid = ?", [(r,) for r in rids])
        self.conn.execute("CREATE TEMP TABLE dropped (rid INTEGER PRIMARY KEY)")
        self.conn.executemany("INSERT OR IGNORE INTO dropped VALUES (?)", [(r,) for r in rids])
        self.conn.execute("DELETE FROM affected WHERE rid IN (SELECT rid FROM dropped)")
        self.conn.execute("DROP TABLE dropped")

    def _record_dump(
        self, dump: str, source: str, now: datetime, first_rid: int, state: _DumpState
    ) -> int:
        """Write the dump's row and per-release counts; returns its package count."""
        per_release = self.conn.execute(
            "SELECT ecosystem, COUNT(DISTINCT name) FROM affected WHERE rid >= ? "
            "GROUP BY ecosystem",
            (first_rid,),
        ).fetchall()
        self.conn.executemany(
            "INSERT INTO releases VALUES (?, ?, ?)", [(dump, eco, n) for eco, n in per_release]
        )
        packages = sum(int(n) for _, n in per_release)
        self.conn.execute(
            "INSERT INTO dumps VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                dump,
                source,
                now.isoformat(),
                len(state.seen),
                packages,
                len(state.invalid),
                state.newest,
            ),
        )
        return packages

    def finish(self, now: datetime) -> None:
        """Indexes, statistics, metadata, then VACUUM so the file is compact."""
        self.conn.executescript(INDEX_SQL)
        self.conn.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("format", FORMAT_MARKER),
                ("schema_version", str(SCHEMA_VERSION)),
                ("built_at", now.isoformat()),
            ],
        )
        self.conn.commit()
        self.conn.execute("ANALYZE")
        self.conn.commit()
        self.conn.execute("VACUUM")


@dataclass
class _DumpState:
    seen: dict[str, tuple[str | None, int]] = field(default_factory=dict)
    rows: list[tuple[int, str, str, str | None, int, bytes]] = field(default_factory=list)
    links: list[tuple[str, str, int]] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)  # rows superseded by a newer duplicate
    duplicates: int = 0
    newest: str | None = None
    bytes_read: int = 0


@contextlib.contextmanager
def _open_zip(path: Path, source: str) -> Iterator[zipfile.ZipFile]:
    if not zipfile.is_zipfile(path):
        raise ZipRejected(f"{source} is not a zip file (truncated download or wrong file?)")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ZipRejected(f"{source} is not a readable zip file: {exc}") from None
    with archive:
        yield archive


def _checked_members(
    archive: zipfile.ZipFile, source: str, limits: ZipLimits
) -> tuple[list[zipfile.ZipInfo], list[str]]:
    """The *.json members, after every safety check on the whole archive; plus ignored names."""
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise ZipRejected(f"{source} has {len(infos)} members, over the {limits.max_members} limit")
    total = 0
    members: list[zipfile.ZipInfo] = []
    ignored: list[zipfile.ZipInfo] = []
    for info in infos:
        name = info.filename
        if "/" in name or "\\" in name or ".." in name or not name:
            raise ZipRejected(
                f"{source}: member {name!r} is not a plain top-level file name; "
                "an OSV dump has no folders, refusing the archive"
            )
        if info.flag_bits & 0x1:
            raise ZipRejected(f"{source}: member {name!r} is encrypted")
        _check_size(info, source, limits)
        total += info.file_size
        if total > limits.max_total_bytes:
            raise ZipRejected(
                f"{source} unpacks to more than {limits.max_total_bytes} bytes; refusing it"
            )
        (members if name.endswith(".json") else ignored).append(info)
    return members, [i.filename for i in ignored]


def _check_size(info: zipfile.ZipInfo, source: str, limits: ZipLimits) -> None:
    if info.file_size > limits.max_member_bytes:
        raise ZipRejected(
            f"{source}: member {info.filename!r} unpacks to {info.file_size} bytes, over the "
            f"{limits.max_member_bytes} byte limit"
        )
    if info.file_size >= limits.ratio_min_bytes and (
        info.file_size > info.compress_size * limits.max_ratio
    ):
        ratio = info.file_size / max(info.compress_size, 1)
        raise ZipRejected(
            f"{source}: member {info.filename!r} compresses {ratio:.0f}:1, over the "
            f"{limits.max_ratio:g}:1 limit (zip bomb?)"
        )


def _read_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    source: str,
    limits: ZipLimits,
    state: _DumpState,
) -> bytes:
    """The member's bytes; zipfile stops at the declared size and checks the CRC at the end."""
    try:
        with archive.open(info) as fh:
            data = fh.read(limits.max_member_bytes + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ZipRejected(f"{source}: member {info.filename!r} is corrupt: {exc}") from None
    state.bytes_read += len(data)
    if len(data) > limits.max_member_bytes or state.bytes_read > limits.max_total_bytes:
        raise ZipRejected(f"{source}: member {info.filename!r} unpacks past the size limits")
    return data


def _parse_advisory(raw: bytes) -> dict[str, Any] | None:
    """The advisory dict, or None when the bytes are not an OSV record we can index."""
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict):
        return None
    adv_id = record.get("id")
    if not isinstance(adv_id, str) or not adv_id.strip():
        return None
    affected = record.get("affected", [])
    if not isinstance(affected, list):
        return None
    return record


def _affected_packages(record: dict[str, Any], dump: str) -> set[tuple[str, str]]:
    """(ecosystem, normalized name) of the entries that belong to this dump's ecosystem."""
    out: set[tuple[str, str]] = set()
    for entry in record.get("affected", []):
        package = entry.get("package") if isinstance(entry, dict) else None
        if not isinstance(package, dict):
            continue
        eco, name = package.get("ecosystem"), package.get("name")
        if not isinstance(eco, str) or not isinstance(name, str) or not name.strip():
            continue
        eco = canonical_ecosystem(eco)
        if base_ecosystem(eco) == dump:
            out.add((eco, normalize_name(eco, name)))
    return out


def _member_warnings(item: EcosystemImport) -> list[str]:
    out = []
    if item.invalid:
        out.append(
            f"{item.ecosystem}: skipped {len(item.invalid)} member(s) that are not valid "
            f"OSV JSON: {_names(item.invalid)}"
        )
    if item.ignored:
        out.append(
            f"{item.ecosystem}: ignored {len(item.ignored)} non-JSON member(s): "
            f"{_names(item.ignored)}"
        )
    return out


def _names(names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} (and {len(names) - limit} more)"
