"""The OSV database: names, import from the real shared dumps, lookups, status, safety."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from osv_server import require_osv_data

from pipeline_guard.vulndb.importer import (
    ImportProgress,
    Source,
    SourceError,
    ZipLimits,
    ZipRejected,
    import_sources,
)
from pipeline_guard.vulndb.names import base_ecosystem, canonical_ecosystem, normalize_name
from pipeline_guard.vulndb.paths import default_db_path
from pipeline_guard.vulndb.store import DatabaseInvalid, DatabaseMissing, VulnDB, VulnDBError

OLD = datetime(2020, 1, 1, tzinfo=UTC)


# --- helpers -----------------------------------------------------------------


def read_zip(path: Path) -> dict[str, dict[str, Any]]:
    """Every advisory in a dump, by id, parsed independently of the code under test."""
    with zipfile.ZipFile(path) as archive:
        return {
            info.filename[: -len(".json")]: json.loads(archive.read(info))
            for info in archive.infolist()
        }


def ids_naming(records: dict[str, dict[str, Any]], ecosystem: str, name: str) -> list[str]:
    """Ids whose affected[] names this exact (ecosystem, raw name)."""
    return sorted(
        adv_id
        for adv_id, rec in records.items()
        if any(
            a["package"]["ecosystem"] == ecosystem and a["package"]["name"] == name
            for a in rec["affected"]
        )
    )


def ids(advisories: list[dict[str, Any]]) -> list[str]:
    return [a["id"] for a in advisories]


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def dir_listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture(scope="module")
def data() -> Path:
    return require_osv_data()


@pytest.fixture(scope="module")
def pypi(data: Path) -> dict[str, dict[str, Any]]:
    return read_zip(data / "PyPI-all.zip")


@pytest.fixture(scope="module")
def npm(data: Path) -> dict[str, dict[str, Any]]:
    return read_zip(data / "npm-all.zip")


@pytest.fixture(scope="module")
def debian(data: Path) -> dict[str, dict[str, Any]]:
    return read_zip(data / "Debian-all.zip")


@pytest.fixture(scope="module")
def db_path(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PyPI, npm, Debian and NuGet imported once for the lookup tests."""
    path = tmp_path_factory.mktemp("db") / "osv.sqlite3"
    import_sources(
        [data / f"{eco}-all.zip" for eco in ("PyPI", "npm", "Debian", "NuGet")], path, None
    )
    return path


@pytest.fixture
def db(db_path: Path) -> Iterator[VulnDB]:
    with VulnDB.open(db_path) as opened:
        yield opened


# --- names and paths ---------------------------------------------------------


@pytest.mark.parametrize(
    ("ecosystem", "name", "expected"),
    [
        ("PyPI", "jw.util", "jw-util"),
        ("PyPI", "Django", "django"),
        ("pypi", "Zope.Interface__x", "zope-interface-x"),
        ("crates.io", "Serde-JSON", "serde_json"),
        ("NuGet", "jQuery", "jquery"),
        ("Packagist", "Symfony/HTTP-Kernel", "symfony/http-kernel"),
        ("npm", "JSONStream", "JSONStream"),
        ("npm", "@Babel/core", "@Babel/core"),
        ("Maven", "org.Apache:Commons", "org.Apache:Commons"),
        ("Go", "github.com/BurntSushi/toml", "github.com/BurntSushi/toml"),
        ("Debian:12", " openssl ", "openssl"),
        ("RubyGems", "Rails", "Rails"),
    ],
)
def test_normalize_name(ecosystem: str, name: str, expected: str) -> None:
    assert normalize_name(ecosystem, name) == expected


def test_ecosystem_names() -> None:
    assert base_ecosystem("Debian:12") == "Debian"
    assert base_ecosystem("Ubuntu:22.04:LTS") == "Ubuntu"
    assert base_ecosystem("PyPI") == "PyPI"
    assert canonical_ecosystem("pypi") == "PyPI"
    assert canonical_ecosystem("CRATES.IO") == "crates.io"
    assert canonical_ecosystem("debian:12") == "Debian:12"
    assert canonical_ecosystem("NewThing") == "NewThing"


def test_default_db_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PIPELINE_GUARD_DB", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_db_path() == tmp_path / "cache" / "pipeline-guard" / "osv.sqlite3"
    monkeypatch.setenv("PIPELINE_GUARD_DB", str(tmp_path / "elsewhere.db"))
    assert default_db_path() == tmp_path / "elsewhere.db"


# --- import counts against the data README -----------------------------------


def test_counts_match_the_data_readme(db: VulnDB, db_path: Path) -> None:
    status = db.status()
    counts = {e.name: (e.advisories, e.packages) for e in status.ecosystems}
    # NuGet's 5 raw names include both "jQuery" and "jquery": one package once normalized.
    assert counts == {
        "Debian": (8906, 4400),
        "NuGet": (13, 4),
        "PyPI": (2661, 664),
        "npm": (170, 101),
    }
    assert status.advisories == 2661 + 170 + 8906 + 13
    assert status.schema_version == 1
    assert status.path == db_path
    assert status.size_bytes == db_path.stat().st_size
    debian = status.ecosystem("debian")
    assert debian is not None
    assert debian.releases == tuple(
        f"Debian:{r}" for r in ("10", "11", "3.0", "3.1", "4.0", "5.0", "6.0", "7", "8", "9")
    )
    assert debian.source.endswith("Debian-all.zip")
    assert debian.newest_modified == "2023-04-02T14:30:54Z"
    assert db.ecosystems() == ["Debian", "NuGet", "PyPI", "npm"]


# --- lookups -----------------------------------------------------------------


@pytest.mark.parametrize("package", ["django", "jinja2", "requests"])
def test_lookup_returns_every_advisory_of_a_package(
    db: VulnDB, pypi: dict[str, dict[str, Any]], package: str
) -> None:
    expected = ids_naming(pypi, "PyPI", package)
    assert len(expected) >= 5
    assert ids(db.advisories_for("PyPI", package)) == expected
    assert ids(db.advisories_for("pypi", package.upper())) == expected


def test_lookup_returns_the_records_unchanged(db: VulnDB, pypi: dict[str, dict[str, Any]]) -> None:
    found = db.advisories_for("PyPI", "jinja2")
    assert found == [pypi[i] for i in ids_naming(pypi, "PyPI", "jinja2")]
    assert db.advisory("PYSEC-2021-114") == pypi["PYSEC-2021-114"]
    assert db.advisory("NOPE-1") is None


def test_non_normalized_pypi_name_is_found(db: VulnDB) -> None:
    for spelling in ("jw-util", "jw.util", "JW_Util"):
        assert ids(db.advisories_for("PyPI", spelling)) == ["PYSEC-2020-341"]


def test_withdrawn_advisories_are_returned(db: VulnDB, pypi: dict[str, dict[str, Any]]) -> None:
    record = pypi["PYSEC-2019-144"]
    assert "withdrawn" in record
    name = record["affected"][0]["package"]["name"]
    assert "PYSEC-2019-144" in ids(db.advisories_for("PyPI", name))


def test_ghsa_records_are_indexed_only_under_their_dumps_ecosystem(
    db: VulnDB, npm: dict[str, dict[str, Any]], pypi: dict[str, dict[str, Any]]
) -> None:
    # GHSA-6c3j-c64m-qhgq sits in the npm dump and also lists PyPI django and RubyGems.
    listed = {
        (a["package"]["ecosystem"], a["package"]["name"])
        for a in npm["GHSA-6c3j-c64m-qhgq"]["affected"]
    }
    assert {("PyPI", "django"), ("RubyGems", "jquery-rails"), ("npm", "jquery")} <= listed
    assert "GHSA-6c3j-c64m-qhgq" in ids(db.advisories_for("npm", "jquery"))
    assert ids(db.advisories_for("PyPI", "django")) == ids_naming(pypi, "PyPI", "django")
    assert db.advisories_for("RubyGems", "jquery-rails") == []
    assert ids(db.advisories_for("npm", "jquery")) == ids_naming(npm, "npm", "jquery")


def test_nuget_names_are_case_insensitive(db: VulnDB) -> None:
    assert ids(db.advisories_for("NuGet", "jquery")) == ids(db.advisories_for("NuGet", "JQUERY"))
    assert len(db.advisories_for("NuGet", "jQuery")) == 8


def test_debian_release_and_base_lookups(db: VulnDB, debian: dict[str, dict[str, Any]]) -> None:
    expected_11 = ids_naming(debian, "Debian:11", "openssl")
    expected_all = sorted(
        adv_id
        for adv_id, rec in debian.items()
        if any(a["package"]["name"] == "openssl" for a in rec["affected"])
    )
    assert 0 < len(expected_11) < len(expected_all)
    assert ids(db.advisories_for("Debian:11", "openssl")) == expected_11
    assert ids(db.advisories_for("debian", "openssl")) == expected_all
    assert db.advisories_for("Debian:12", "openssl") == []  # no bookworm data in this dump
    assert db.has_ecosystem("Debian:11")
    assert not db.has_ecosystem("Debian:12")
    assert db.has_ecosystem("PyPI")
    assert not db.has_ecosystem("Go")


def test_unknown_package_finds_nothing(db: VulnDB) -> None:
    assert db.advisories_for("PyPI", "surely-not-a-real-package") == []
    assert db.advisories_for("Go", "stdlib") == []  # Go not imported


def test_lookups_from_many_threads(db: VulnDB, pypi: dict[str, dict[str, Any]]) -> None:
    expected = {n: ids_naming(pypi, "PyPI", n) for n in ("django", "jinja2", "pillow", "urllib3")}
    expected["jw-util"] = ["PYSEC-2020-341"]
    assert all(expected.values())
    names = list(expected) * 20
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: ids(db.advisories_for("PyPI", n)), names))
    for name, found in zip(names, results, strict=True):
        assert found == expected[name]


# --- opening -----------------------------------------------------------------


def test_open_missing_database_says_how_to_fix(tmp_path: Path) -> None:
    path = tmp_path / "none.sqlite3"
    with pytest.raises(DatabaseMissing) as err:
        VulnDB.open(path)
    assert str(err.value) == (
        f"no vulnerability database at {path}: run `pipeline-guard db update`"
    )
    assert isinstance(err.value, VulnDBError)


def test_open_refuses_foreign_and_future_files(tmp_path: Path, db_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("not a database at all\n" * 100)
    with pytest.raises(DatabaseInvalid, match="not a pipeline-guard vulnerability database"):
        VulnDB.open(junk)
    future = tmp_path / "future.sqlite3"
    shutil.copy(db_path, future)
    with sqlite3.connect(future) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(DatabaseInvalid, match="has schema version 99, this pipeline-guard needs 1"):
        VulnDB.open(future)


# --- status and staleness ----------------------------------------------------


def test_staleness(data: Path, tmp_path: Path) -> None:
    path = tmp_path / "osv.sqlite3"
    import_sources([data / "PyPI-all.zip"], path, now=OLD)
    import_sources([data / "Packagist-all.zip"], path)
    with VulnDB.open(path) as db:
        status = db.status()
    at = replace(status, checked_at=OLD + timedelta(days=10))
    pypi_status = at.ecosystem("PyPI")
    assert pypi_status is not None
    assert pypi_status.imported_at == OLD
    assert at.oldest_import == OLD
    assert at.age == timedelta(days=10)
    assert at.is_stale(7)
    assert not at.is_stale(11)
    assert at.stale_ecosystems(7) == ["PyPI"]
    assert not at.is_stale(7, ["Packagist"])  # imported "now", which is after checked_at here
    assert at.is_stale(365, ["Go"])  # never imported counts as stale
    assert at.staleness_message(7, ["pypi", "Go"]) == (
        "vulnerability database is stale (Go never imported, PyPI 10.0 days old; limit 7 days): "
        "run `pipeline-guard db update`"
    )
    assert at.staleness_message(30) is None
    assert status.age > timedelta(days=365)  # checked now: the PyPI import is from 2020
    as_json = json.loads(json.dumps(status.to_dict()))
    assert [e["name"] for e in as_json["ecosystems"]] == ["Packagist", "PyPI"]
    assert as_json["ecosystems"][1]["imported_at"] == "2020-01-01T00:00:00+00:00"


# --- update semantics: carry-over, replacement, atomicity ---------------------


def test_update_carries_over_other_ecosystems(data: Path, tmp_path: Path) -> None:
    path = tmp_path / "osv.sqlite3"
    import_sources([data / "PyPI-all.zip", data / "npm-all.zip"], path, now=OLD)
    result = import_sources([data], path, ["npm"])
    assert result.carried_over == ("PyPI",)
    assert [(i.ecosystem, i.advisories) for i in result.imported] == [("npm", 170)]
    with VulnDB.open(path) as db:
        status = {e.name: e for e in db.status().ecosystems}
        assert status["PyPI"].imported_at == OLD
        assert status["npm"].imported_at > OLD
        assert status["npm"].advisories == 170  # replaced, not doubled
        assert ids(db.advisories_for("PyPI", "jw.util")) == ["PYSEC-2020-341"]
        assert len(db.advisories_for("npm", "lodash")) == 7
    assert dir_listing(tmp_path) == ["osv.sqlite3"]


def test_error_mid_import_keeps_the_old_database(data: Path, tmp_path: Path) -> None:
    path = tmp_path / "osv.sqlite3"
    import_sources([data / "npm-all.zip"], path)
    before = path.read_bytes()
    seen: list[ImportProgress] = []

    def explode(event: ImportProgress) -> None:
        seen.append(event)
        if event.ecosystem == "Debian" and event.done >= 1000:
            raise KeyboardInterrupt  # what Ctrl-C does mid-import

    with pytest.raises(KeyboardInterrupt):
        import_sources([data / "Debian-all.zip", data / "PyPI-all.zip"], path, progress=explode)
    assert seen[-1] == ImportProgress("Debian", "import", 1000, 8906)
    assert path.read_bytes() == before
    assert dir_listing(tmp_path) == ["osv.sqlite3"]  # temp file removed
    with VulnDB.open(path) as db:
        assert db.ecosystems() == ["npm"]
        assert len(db.advisories_for("npm", "lodash")) == 7


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipeline_guard.vulndb.importer import import_sources

    def stall(event):
        if event.done >= 500:
            print("importing", flush=True)
            time.sleep(120)

    import_sources([sys.argv[1]], Path(sys.argv[2]), progress=stall)
    """
)


def test_killed_update_keeps_the_old_database(data: Path, tmp_path: Path) -> None:
    path = tmp_path / "osv.sqlite3"
    import_sources([data / "npm-all.zip"], path)
    before = path.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(data / "PyPI-all.zip"), str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "importing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        if proc.stdout:
            proc.stdout.close()
    assert path.read_bytes() == before
    temps = [p for p in tmp_path.iterdir() if p.name != "osv.sqlite3"]
    assert {re.sub(r"-[^-]*$", "-*", p.name) for p in temps} == {
        "osv.sqlite3.tmp-*",
        ".osv.sqlite3.download-*",
    }
    with VulnDB.open(path) as db:
        assert len(db.advisories_for("npm", "lodash")) == 7
    # The next update removes the leftovers once they are old enough to be dead.
    for leftover in temps:
        os.utime(leftover, (time.time() - 7200, time.time() - 7200))
    import_sources([data / "Packagist-all.zip"], path)
    assert dir_listing(tmp_path) == ["osv.sqlite3"]


def test_refuses_to_replace_a_foreign_file(data: Path, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n")
    with pytest.raises(VulnDBError, match=r"refusing to replace .*not a SQLite database"):
        import_sources([data / "Packagist-all.zip"], path)
    assert path.read_text() == "my notes\n"
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(VulnDBError, match="SQLite database but not pipeline-guard's"):
        import_sources([data / "Packagist-all.zip"], other)


# --- sources -----------------------------------------------------------------


def test_directory_sources(data: Path, tmp_path: Path) -> None:
    layout = tmp_path / "mirror"
    (layout / "crates.io").mkdir(parents=True)
    shutil.copy(data / "crates.io-all.zip", layout / "crates.io" / "all.zip")
    shutil.copy(data / "RubyGems-all.zip", layout / "RubyGems-all.zip")
    path = tmp_path / "osv.sqlite3"
    result = import_sources([layout], path, None)
    assert sorted((i.ecosystem, i.advisories, i.packages) for i in result.imported) == [
        ("RubyGems", 19, 4),
        ("crates.io", 1206, 908),
    ]
    with pytest.raises(SourceError, match=r"no dump for Go in .*mirror \(expected Go-all.zip"):
        import_sources([layout], path, ["Go"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="no OSV dumps"):
        import_sources([empty], path)


def test_source_errors(data: Path, tmp_path: Path) -> None:
    path = tmp_path / "osv.sqlite3"
    with pytest.raises(SourceError, match="no such file or directory"):
        import_sources([tmp_path / "nope.zip"], path)
    unnamed = shutil.copy(data / "NuGet-all.zip", tmp_path / "dump.zip")
    with pytest.raises(SourceError, match="cannot tell which ecosystem"):
        import_sources([unnamed], path)
    result = import_sources([Source(str(unnamed), ecosystem="nuget")], path)
    assert [i.ecosystem for i in result.imported] == ["NuGet"]
    with pytest.raises(SourceError, match="two sources for NuGet"):
        import_sources([data / "NuGet-all.zip", Source(str(unnamed), "NuGet")], path)
    with pytest.raises(SourceError, match="holds NuGet, which is not among"):
        import_sources([data / "NuGet-all.zip"], path, ["PyPI"])


# --- untrusted zips ----------------------------------------------------------


def test_invalid_members_are_skipped_and_named(
    tmp_path: Path, pypi: dict[str, dict[str, Any]]
) -> None:
    good = {f"{i}.json": json.dumps(pypi[i]).encode() for i in ("PYSEC-2014-8", "PYSEC-2014-82")}
    dump = make_zip(
        tmp_path / "PyPI-all.zip",
        {
            **good,
            "BAD-1.json": b"{not json",
            "BAD-2.json": b"[]",
            "BAD-3.json": b'{"affected": []}',
            "README.txt": b"hello",
        },
    )
    path = tmp_path / "osv.sqlite3"
    result = import_sources([dump], path)
    item = result.imported[0]
    assert item.advisories == 2
    assert item.invalid == ("BAD-1.json", "BAD-2.json", "BAD-3.json")
    assert item.ignored == ("README.txt",)
    assert result.warnings == (
        "PyPI: skipped 3 member(s) that are not valid OSV JSON: BAD-1.json, BAD-2.json, BAD-3.json",
        "PyPI: ignored 1 non-JSON member(s): README.txt",
    )
    with VulnDB.open(path) as db:
        assert ids(db.advisories_for("PyPI", "jinja2")) == ["PYSEC-2014-8", "PYSEC-2014-82"]
        pypi_status = db.status().ecosystem("PyPI")
        assert pypi_status is not None
        assert pypi_status.invalid == 3


def test_duplicate_ids_keep_the_newest(tmp_path: Path, pypi: dict[str, dict[str, Any]]) -> None:
    record = pypi["PYSEC-2014-8"]
    older = {**record, "modified": "2000-01-01T00:00:00Z", "summary": "old copy"}
    newer = {**record, "modified": "2030-01-01T00:00:00Z", "summary": "new copy"}
    dump = make_zip(
        tmp_path / "PyPI-all.zip",
        {
            "a.json": json.dumps(older).encode(),
            "b.json": json.dumps(newer).encode(),
            "c.json": json.dumps(older).encode(),
        },
    )
    path = tmp_path / "osv.sqlite3"
    result = import_sources([dump], path)
    assert (result.imported[0].advisories, result.imported[0].duplicates) == (1, 2)
    with VulnDB.open(path) as db:
        assert [a["summary"] for a in db.advisories_for("PyPI", "jinja2")] == ["new copy"]


@pytest.fixture
def old_db(data: Path, tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "osv.sqlite3"
    import_sources([data / "Packagist-all.zip"], path)
    return path, path.read_bytes()


def assert_unchanged(old_db: tuple[Path, bytes]) -> None:
    path, before = old_db
    assert path.read_bytes() == before
    assert dir_listing(path.parent) == sorted(
        ["osv.sqlite3", *[p.name for p in path.parent.glob("*-all.zip")]]
    )
    with VulnDB.open(path) as db:
        assert db.ecosystems() == ["Packagist"]


def test_zip_bomb_is_refused(tmp_path: Path, old_db: tuple[Path, bytes]) -> None:
    bomb = make_zip(tmp_path / "PyPI-all.zip", {"BOMB-1.json": b"0" * (64 * 1024**2)})
    info = zipfile.ZipFile(bomb).infolist()[0]
    assert info.file_size / info.compress_size > 900  # a real bomb: ~1000:1
    with pytest.raises(ZipRejected, match=r"compresses \d+:1, over the 100:1 limit"):
        import_sources([bomb], old_db[0])
    assert_unchanged(old_db)


def test_lying_size_header_is_refused(tmp_path: Path, old_db: tuple[Path, bytes]) -> None:
    """A member whose headers claim 1 KiB but whose stream inflates to 16 MiB."""
    dump = make_zip(tmp_path / "PyPI-all.zip", {"LIE-1.json": b"{" + b" " * (16 * 1024**2)})
    raw = bytearray(dump.read_bytes())
    real = (16 * 1024**2 + 1).to_bytes(4, "little")
    fake = (1024).to_bytes(4, "little")
    local, central = raw.find(b"PK\x03\x04"), raw.find(b"PK\x01\x02")
    assert raw[local + 22 : local + 26] == real and raw[central + 24 : central + 28] == real
    raw[local + 22 : local + 26] = fake
    raw[central + 24 : central + 28] = fake
    dump.write_bytes(bytes(raw))
    with pytest.raises(ZipRejected, match=r"LIE-1\.json' is corrupt: Bad CRC-32"):
        import_sources([dump], old_db[0])
    assert_unchanged(old_db)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (ZipLimits(max_total_bytes=1_000_000), "unpacks to more than 1000000 bytes"),
        (ZipLimits(max_members=100), "has 2661 members, over the 100 limit"),
        (ZipLimits(max_member_bytes=10_000), "over the 10000 byte limit"),
    ],
)
def test_limits_are_enforced_on_the_real_dump(
    data: Path, old_db: tuple[Path, bytes], limits: ZipLimits, message: str
) -> None:
    with pytest.raises(ZipRejected, match=message):
        import_sources([data / "PyPI-all.zip"], old_db[0], limits=limits)
    assert_unchanged(old_db)


@pytest.mark.parametrize("bad_name", ["../evil.json", "sub/PYSEC-1.json", "..json"])
def test_member_paths_are_refused(
    tmp_path: Path, old_db: tuple[Path, bytes], bad_name: str
) -> None:
    dump = make_zip(tmp_path / "PyPI-all.zip", {bad_name: b'{"id": "X-1"}'})
    with pytest.raises(ZipRejected, match="not a plain top-level file name"):
        import_sources([dump], old_db[0])
    assert_unchanged(old_db)


def test_corrupt_and_non_zip_files_are_refused(
    data: Path, tmp_path: Path, old_db: tuple[Path, bytes]
) -> None:
    fake = tmp_path / "PyPI-all.zip"
    fake.write_text("<html>503</html>")
    with pytest.raises(ZipRejected, match="is not a zip file"):
        import_sources([fake], old_db[0])
    raw = bytearray((data / "npm-all.zip").read_bytes())
    raw[2000] ^= 0xFF  # inside the first member's compressed data
    broken = tmp_path / "npm-all.zip"
    broken.write_bytes(bytes(raw))
    with pytest.raises(ZipRejected, match="is corrupt"):
        import_sources([broken], old_db[0])
    assert_unchanged(old_db)


def test_a_corrupt_database_of_ours_is_replaced(data: Path, tmp_path: Path) -> None:
    path = tmp_path / "osv.sqlite3"
    import_sources([data / "NuGet-all.zip"], path)
    raw = bytearray(path.read_bytes())
    raw[100:] = b"\x00" * (len(raw) - 100)  # keep the SQLite header, wipe the rest
    path.write_bytes(bytes(raw))
    with pytest.raises(VulnDBError):
        VulnDB.open(path).status()
    result = import_sources([data / "Packagist-all.zip"], path)
    assert result.carried_over == ()
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("previous database not reused: ")
    with VulnDB.open(path) as db:
        assert db.ecosystems() == ["Packagist"]
