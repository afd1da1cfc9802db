"""Content-addressed result cache: an unchanged input is never scanned twice.

Two granularities:

- **file-local** scanners (`Scanner.file_local`: semgrep, bandit, secrets) are
  cached per file, plus one entry for the whole file set (an unchanged tree is
  one read per scanner). Only the files whose entry is missing are handed to
  the scanner, so a fully cached scanner never starts its tool.
- **tree-wide** scanners (checkov, osv) are cached per run, keyed on the content
  of their whole input set: every file the scanner understands on its own, plus
  the files beside it (a Terraform module is its directory; a requirements file
  may `-r` its neighbour).

Keys are sha256 over:

    scanner key  schema, scanner name, tool version, the adapter's code (its
                 module, the pipeline-guard modules it references at module
                 level, the bundled rules and data beside it: an edit there
                 invalidates), the scanner's options, and the content of every file or
                 directory an option names (e.g. `semgrep.rules`)
    file entry   scanner key + path + sha256 of the file's content
    set entry    scanner key + (path, content sha256) of every file it scans
    run entry    scanner key + restricted or not + (path, content sha256) of each
                 input; for sca also the vulnerability database (path, size,
                 mtime) and the UTC hour, so a database turning stale is reported
                 within the hour

What is never cached: a run with a scanner error; a scanner whose tool is missing;
image scans (a tag can move); configured SARIF commands and third-party tree-wide
plug-ins (their behaviour is outside any key); and a file in which the secrets
engine found a value, so that no entry holds a secret.

Entries are JSON files under `<cache dir>/results/<2 hex>/<key>.json`, written
atomically (temp file + rename), so two concurrent runs can share the cache; a
reader treats a missing, partial or foreign entry as a miss. A hit bumps the
entry's mtime, and after a run that wrote entries the oldest ones are evicted
while the cache is over its size limit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import types
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

from pipeline_guard.model import Category, Finding, ScannerRun
from pipeline_guard.scanner import ScanContext, Scanner
from pipeline_guard.vulndb.paths import default_db_path

SCHEMA = 2
#: the cache's root directory (entries live in its `results/`)
CACHE_ENV = "PIPELINE_GUARD_CACHE_DIR"
#: size limit in MiB
MAX_MB_ENV = "PIPELINE_GUARD_CACHE_MAX_MB"
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: eviction goes down to this share of the limit, so it does not run after every scan
EVICT_TO = 0.8
#: a directory named by an option is hashed only up to this many files
MAX_OPTION_FILES = 5000
#: adapters of ours whose runs depend on more than any key can hold
_UNCACHEABLE_MODULES = frozenset({"pipeline_guard.scanners.sarif"})
_OWN_ADAPTERS = "pipeline_guard.scanners."


def default_cache_dir() -> Path:
    """`$PIPELINE_GUARD_CACHE_DIR`, else the user cache directory
    (`$XDG_CACHE_HOME/pipeline-guard`, default `~/.cache/pipeline-guard`)."""
    override = os.environ.get(CACHE_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return platformdirs.user_cache_path("pipeline-guard", appauthor=False)


def max_bytes_from_env() -> int:
    """The size limit: `$PIPELINE_GUARD_CACHE_MAX_MB` MiB, else 256 MiB."""
    raw = os.environ.get(MAX_MB_ENV, "").strip()
    try:
        value = float(raw) if raw else 0.0
    except ValueError:
        value = 0.0
    return int(value * 1024 * 1024) if value > 0 else DEFAULT_MAX_BYTES


class FileDigests:
    """sha256 of each scanned file's content, computed once per scan and shared by
    every scanner (threads may race to fill an entry; both compute the same value)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._digests: dict[str, str | None] = {}

    def get(self, rel: str) -> str | None:
        if rel not in self._digests:
            path = self.root / rel
            try:
                if path.is_symlink() or not path.is_file():
                    self._digests[rel] = None
                else:
                    self._digests[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                self._digests[rel] = None
        return self._digests[rel]


@dataclass(frozen=True)
class _Entry:
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]
    stale_data: tuple[str, ...] = ()
    tool_version: str | None = None
    targets: int = 0
    rescan: tuple[str, ...] = ()  # files to scan again on a hit (they hold secret values)


@dataclass(frozen=True)
class CacheStats:
    entries: int
    size: int


class ResultCache:
    """The result cache in `directory/results` (default: `default_cache_dir()`)."""

    def __init__(self, directory: Path | None = None, max_bytes: int | None = None) -> None:
        self.root = directory if directory is not None else default_cache_dir()
        self.directory = self.root / "results"
        self.max_bytes = max_bytes if max_bytes is not None else max_bytes_from_env()
        self.warnings: list[str] = []
        self._writes = 0
        self._lock = threading.Lock()

    # -- scanning through the cache -----------------------------------------------

    def scan(self, scanner: Scanner, ctx: ScanContext, digests: FileDigests) -> ScannerRun:
        """`scanner.scan(ctx)`, answered from the cache where the inputs are unchanged."""
        started = time.monotonic()
        if not cacheable(scanner):
            return scanner.scan(ctx)
        version = scanner.version()
        if version is None:
            return scanner.scan(ctx)  # a missing tool must be reported, not served
        key = _scanner_key(scanner, ctx, version)
        if key is None:
            return scanner.scan(ctx)
        if scanner.file_local:
            return self._file_local(scanner, ctx, digests, key, version, started)
        return self._tree_wide(scanner, ctx, digests, key, started)

    def _file_local(
        self,
        scanner: Scanner,
        ctx: ScanContext,
        digests: FileDigests,
        scanner_key: str,
        version: str,
        started: float,
    ) -> ScannerRun:
        relevant = [f for f in ctx.files if scanner.applies(replace(ctx, files=(f,)))]
        pairs = [(rel, digests.get(rel)) for rel in relevant]
        keys = {rel: _digest(scanner_key, "file", rel, d) for rel, d in pairs if d is not None}
        # The whole file set in one entry: an unchanged tree costs one read, not one per file.
        set_key = (
            _digest(scanner_key, "set", json.dumps(pairs)) if len(keys) == len(pairs) else None
        )
        whole = self._load(set_key) if set_key else None
        hits = [whole] if whole is not None else []
        if whole is not None:
            misses = list(whole.rescan)
        else:
            loaded = {rel: self._load(key) for rel, key in keys.items()}
            hits = [e for e in loaded.values() if e is not None]
            misses = [rel for rel in relevant if loaded.get(rel) is None]
        run = scanner.scan(replace(ctx, files=tuple(misses))) if misses else None
        if whole is None and (run is None or not run.errors):
            unstored = self._store_files(keys, misses, run) if run is not None else []
            if set_key is not None and unstored is not None:
                self._store(set_key, _whole_set(hits, run, unstored))
        answered = len(relevant) - len(misses)
        return _combined(scanner, ctx, version, started, hits, run, answered, len(relevant))

    def _store_files(
        self, keys: Mapping[str, str], misses: Sequence[str], run: ScannerRun
    ) -> list[str] | None:
        """Store each scanned file's result; the files left out (no content hash, or
        holding a secret value), or None when a finding cannot be attributed."""
        by_path: dict[str, list[Finding]] = defaultdict(list)
        for finding in run.findings:
            by_path[finding.location.path].append(finding)
        scanned = set(misses)
        if any(path not in scanned for path in by_path):
            return None  # a finding outside the files handed over: nothing to attribute it to
        # A note that names no scanned file (a rule problem) belongs to every file's result.
        general = [n for n in run.notes if not any(mentions(n, p) for p in misses)]
        unstored = []
        for rel in misses:
            if rel not in keys or (run.redact and by_path.get(rel)):
                unstored.append(rel)
                continue
            notes = [n for n in run.notes if mentions(n, rel)] + general
            self._store(keys[rel], _Entry(tuple(by_path.get(rel, ())), tuple(notes)))
        return unstored

    def _tree_wide(
        self,
        scanner: Scanner,
        ctx: ScanContext,
        digests: FileDigests,
        scanner_key: str,
        started: float,
    ) -> ScannerRun:
        inputs = input_set(scanner, ctx)
        hashed = [(rel, digests.get(rel)) for rel in inputs]
        if any(d is None for _, d in hashed):
            return scanner.scan(ctx)
        extra: list[Any] = [ctx.restricted]
        if scanner.category is Category.SCA:
            extra += [_db_identity(ctx), dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H")]
        key = _digest(scanner_key, "tree", json.dumps([extra, hashed]))
        entry = self._load(key)
        if entry is None:
            run = scanner.scan(ctx)
            if not run.errors and not run.redact:
                self._store(
                    key,
                    _Entry(run.findings, run.notes, run.stale_data, run.tool_version, run.targets),
                )
            return run
        note = f"answered by the result cache ({len(inputs)} input file(s) unchanged)"
        return ScannerRun(
            scanner=scanner.name,
            category=scanner.category,
            tool_version=entry.tool_version,
            findings=entry.findings,
            duration=time.monotonic() - started,
            targets=entry.targets,
            notes=(*entry.notes, note),
            stale_data=entry.stale_data,
        )

    # -- entries ------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def _load(self, key: str) -> _Entry | None:
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        try:
            data = json.loads(raw)
            if data["schema"] != SCHEMA or data["key"] != key:
                return None
            entry = _Entry(
                findings=tuple(Finding.from_dict(f) for f in data["findings"]),
                notes=tuple(str(n) for n in data["notes"]),
                stale_data=tuple(str(s) for s in data["stale_data"]),
                tool_version=data["tool_version"],
                targets=int(data["targets"]),
                rescan=tuple(str(r) for r in data["rescan"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None  # partial, garbage or from another version: a miss
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: evicted last
        return entry

    def _store(self, key: str, entry: _Entry) -> None:
        data = {
            "schema": SCHEMA,
            "key": key,
            "findings": [f.to_dict() for f in entry.findings],
            "notes": list(entry.notes),
            "stale_data": list(entry.stale_data),
            "tool_version": entry.tool_version,
            "targets": entry.targets,
            "rescan": list(entry.rescan),
        }
        try:
            _write_entry(self._path(key), json.dumps(data, sort_keys=True).encode())
        except OSError as exc:
            with self._lock:
                if not self.warnings:
                    self.warnings.append(f"result cache not written ({self.directory}): {exc}")
            return
        with self._lock:
            self._writes += 1

    # -- housekeeping -------------------------------------------------------------

    def finish(self) -> list[str]:
        """After a scan: evict the least recently used entries if over the limit;
        the warnings for the user since the last call."""
        if self._writes:
            self._writes = 0
            self.evict()
        with self._lock:
            warnings, self.warnings = self.warnings, []
        return warnings

    def _entries(self) -> list[tuple[float, int, Path]]:
        out = []
        try:
            shards = list(os.scandir(self.directory))
        except OSError:
            return []
        for shard in shards:
            if not shard.is_dir(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                for item in os.scandir(shard.path):
                    with contextlib.suppress(OSError):
                        st = item.stat(follow_symlinks=False)
                        out.append((st.st_mtime, st.st_size, Path(item.path)))
        return out

    def evict(self) -> int:
        """Delete the oldest entries while over the size limit; how many went."""
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes:
            return 0
        removed = 0
        for _, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= self.max_bytes * EVICT_TO:
                break
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
            total -= size  # gone, by us or by a concurrent run
        return removed

    def stats(self) -> CacheStats:
        entries = self._entries()
        return CacheStats(len(entries), sum(size for _, size, _ in entries))

    def clear(self) -> CacheStats:
        """Remove every entry; what was removed."""
        before = self.stats()
        shutil.rmtree(self.directory, ignore_errors=True)
        return before


def _write_entry(path: Path, data: bytes) -> None:
    """Temp file + rename, like fsutil.atomic_write_bytes, minus the fsync: readers
    never see a partial entry, and an entry a power cut truncates is a miss. One
    fsync per entry cost ~10 s on a 1,000-file tree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _whole_set(hits: Sequence[_Entry], run: ScannerRun | None, rescan: Sequence[str]) -> _Entry:
    """One entry for a file-local scanner's whole file set; `rescan` files (holding
    secret values) are scanned again on every hit, so their results are not kept."""
    skip = set(rescan)
    findings = [f for e in hits for f in e.findings]
    notes = [n for e in hits for n in e.notes]
    if run is not None:
        findings += [f for f in run.findings if f.location.path not in skip]
        notes += [n for n in run.notes if not any(mentions(n, p) for p in skip)]
    return _Entry(tuple(findings), tuple(dict.fromkeys(notes)), rescan=tuple(rescan))


def _combined(
    scanner: Scanner,
    ctx: ScanContext,
    version: str,
    started: float,
    hits: Sequence[_Entry],
    run: ScannerRun | None,
    answered: int,
    relevant: int,
) -> ScannerRun:
    """One run from cached results and a run over the files that missed."""
    notes = [n for e in hits for n in e.notes]
    if run is not None:
        notes.extend(run.notes)
    if answered:
        notes.append(f"{answered} of {relevant} file(s) answered by the result cache")
    return ScannerRun(
        scanner=scanner.name,
        category=scanner.category,
        tool_version=run.tool_version if run is not None else version,
        findings=(
            *(f for e in hits for f in e.findings),
            *(run.findings if run is not None else ()),
        ),
        errors=run.errors if run is not None else (),
        duration=time.monotonic() - started,
        targets=scanner.targets(ctx),
        notes=tuple(dict.fromkeys(notes)),
        stale_data=run.stale_data if run is not None else (),
        redact=run.redact if run is not None else (),
    )


# -- keys ---------------------------------------------------------------------------


def cacheable(scanner: Scanner) -> bool:
    """Is this scanner's output determined by what the keys hold?"""
    if scanner.file_local:
        return True
    module = type(scanner).__module__
    return (
        module.startswith(_OWN_ADAPTERS)
        and module not in _UNCACHEABLE_MODULES
        and scanner.category is not Category.IMAGE
    )


def input_set(scanner: Scanner, ctx: ScanContext) -> list[str]:
    """What a tree-wide scanner reads: each file it understands on its own, plus the
    files in the same directories."""
    own = [f for f in ctx.files if scanner.applies(replace(ctx, files=(f,)))]
    dirs = {_parent(f) for f in own}
    return [f for f in ctx.files if _parent(f) in dirs]


def _parent(rel: str) -> str:
    return rel.rsplit("/", 1)[0] if "/" in rel else ""


def _scanner_key(scanner: Scanner, ctx: ScanContext, version: str) -> str | None:
    options = json.dumps(scanner.options, sort_keys=True, default=str)
    rules = _option_paths_hash(scanner.options, ctx.root)
    if rules is None:
        return None
    return _digest(
        str(SCHEMA),
        scanner.name,
        scanner.category.value,
        version,
        code_hash(type(scanner).__module__),
        options,
        rules,
        "file" if scanner.file_local else "tree",
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


@functools.cache
def code_hash(module_name: str) -> str:
    """sha256 over the code an adapter runs: its module, every pipeline-guard module
    it reaches through its globals (engines, matchers, the model), and the data
    files beside it (bundled rules, severity maps). An edit elsewhere (a reporter,
    the CLI) leaves the cache valid."""
    digest = hashlib.sha256()
    for path in _code_files(module_name):
        digest.update(path.as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _code_files(module_name: str) -> list[Path]:
    seen: set[str] = set()
    todo = [module_name]
    while todo:
        name = todo.pop()
        module = sys.modules.get(name)
        if name in seen or module is None:
            continue
        seen.add(name)
        for value in list(vars(module).values()):
            ref = value.__name__ if isinstance(value, types.ModuleType) else None
            if ref is not None and ref.startswith(f"{name}."):
                continue  # a package's submodule attributes: whatever was imported anywhere
            ref = ref or getattr(value, "__module__", None)
            if isinstance(ref, str) and ref.split(".")[0] == "pipeline_guard":
                todo.append(ref)
    files = {Path(str(f)) for n in seen if (f := getattr(sys.modules[n], "__file__", None))}
    home = sys.modules[module_name].__file__
    if home is not None:
        data = Path(home).parent
        files |= {
            p
            for p in data.rglob("*")
            if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts
        }
    return sorted(files)


def option_paths(options: Mapping[str, Any], root: Path) -> list[Path]:
    """Existing files or directories that option values name (relative to `root` or
    absolute), e.g. `semgrep.rules`: their content is part of the rules."""
    found = []
    for value in _strings(options):
        if not value or "\0" in value or len(value) > 4096:
            continue
        path = Path(value) if Path(value).is_absolute() else root / value
        with contextlib.suppress(OSError, ValueError):
            if path.exists():
                found.append(path)
    return found


def _option_paths_hash(options: Mapping[str, Any], root: Path) -> str | None:
    digest = hashlib.sha256()
    for path in option_paths(options, root):
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        if len(files) > MAX_OPTION_FILES:
            return None  # too big to hash on every run: do not cache
        for file in files:
            digest.update(
                str(file.relative_to(root) if file.is_relative_to(root) else file).encode()
            )
            try:
                digest.update(hashlib.sha256(file.read_bytes()).digest())
            except OSError:
                return None
    return digest.hexdigest()


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _db_identity(ctx: ScanContext) -> list[Any]:
    path = ctx.db_path or default_db_path()
    try:
        st = path.stat()
    except OSError:
        return [str(path), None]
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


_BOUNDARY_BEFORE = r"(?<![\w./-])"
_BOUNDARY_AFTER = r"(?![\w/-]|\.\w)"


def mentions(note: str, path: str) -> bool:
    """Does the note name this file (not merely a longer path containing it)?"""
    if path not in note:
        return False
    return re.search(_BOUNDARY_BEFORE + re.escape(path) + _BOUNDARY_AFTER, note) is not None
