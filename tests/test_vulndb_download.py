"""The download path over real HTTP: a local server serving the real OSV dumps."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from osv_server import OsvServer, require_osv_data

from pipeline_guard.vulndb.download import (
    DEFAULT_ECOSYSTEMS,
    OSV_BASE_URL,
    DownloadError,
    dump_url,
    fetch,
)
from pipeline_guard.vulndb.importer import Dump, Source, import_sources, resolve_dumps
from pipeline_guard.vulndb.store import VulnDB

FAST = 0.01  # seconds of backoff between retries in tests


@pytest.fixture(scope="module")
def data_dir() -> Path:
    return require_osv_data()


@pytest.fixture
def server(data_dir: Path) -> Iterator[OsvServer]:
    with OsvServer(data_dir) as srv:
        yield srv


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_dump_url_layout() -> None:
    assert dump_url(OSV_BASE_URL, "PyPI") == (
        "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
    )
    assert dump_url("https://mirror.example/osv", "crates.io") == (
        "https://mirror.example/osv/crates.io/all.zip"
    )
    assert dump_url("https://mirror.example/osv/", "Rocky Linux") == (
        "https://mirror.example/osv/Rocky%20Linux/all.zip"
    )
    assert "Ubuntu" in DEFAULT_ECOSYSTEMS
    assert len(DEFAULT_ECOSYSTEMS) == 12


def test_fetch_writes_the_exact_bytes(server: OsvServer, data_dir: Path, tmp_path: Path) -> None:
    dest = fetch(server.url + "PyPI/all.zip", tmp_path / "PyPI.zip")
    assert dest == tmp_path / "PyPI.zip"
    assert sha256(dest) == "908215c2c04e33839c164ec2476d1b7d1a56b98a0f51c1dfc6fdd19fe3743af1"
    assert sha256(dest) == sha256(data_dir / "PyPI-all.zip")
    assert leftovers(tmp_path) == []


def test_fetch_retries_503_then_succeeds(server: OsvServer, tmp_path: Path) -> None:
    dest = fetch(server.url + "flaky/2/npm/all.zip", tmp_path / "npm.zip", retries=3, backoff=FAST)
    assert sha256(dest) == "51e7da1554b00ec452bccd7c9f6480e1245a54b6b5e76769ae6d1a16b8d3830c"
    assert server.requests == ["/flaky/2/npm/all.zip"] * 3


def test_fetch_retries_429(server: OsvServer, tmp_path: Path) -> None:
    dest = fetch(server.url + "ratelimited/1/NuGet/all.zip", tmp_path / "n.zip", retries=1)
    assert sha256(dest) == "a6a9333bcf2e2ad8d2af69542178ed0a99b3a27bfdf5f9b3f58740ca27553791"
    assert len(server.requests) == 2


def test_fetch_gives_up_after_retries(server: OsvServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as err:
        fetch(server.url + "flaky/9/npm/all.zip", tmp_path / "npm.zip", retries=2, backoff=FAST)
    message = str(err.value)
    assert "HTTP 503" in message
    assert "gave up after 3 attempts" in message
    assert "for air-gapped sites use --source PATH" in message
    assert len(server.requests) == 3
    assert list(tmp_path.iterdir()) == []


def test_fetch_times_out_on_a_hanging_server(server: OsvServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as err:
        fetch(
            server.url + "hang/PyPI/all.zip",
            tmp_path / "x.zip",
            timeout=0.3,
            retries=1,
            backoff=FAST,
        )
    assert str(err.value).startswith(f"cannot reach {server.host}: timed out")
    assert "--source PATH" in str(err.value)
    assert server.requests == ["/hang/PyPI/all.zip"] * 2
    assert list(tmp_path.iterdir()) == []


def test_fetch_offline_message_names_the_host(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError) as err:
        fetch(f"http://127.0.0.1:{port}/PyPI/all.zip", tmp_path / "x.zip", retries=1, backoff=FAST)
    message = str(err.value)
    assert message.startswith(f"cannot reach 127.0.0.1:{port}: ")
    assert "refused" in message.lower()
    assert message.endswith("for air-gapped sites use --source PATH")


def test_fetch_404_is_not_retried(server: OsvServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as err:
        fetch(server.url + "NoSuchEco/all.zip", tmp_path / "x.zip", retries=3, backoff=FAST)
    assert "HTTP 404" in str(err.value)
    assert "spelled as OSV spells it" in str(err.value)
    assert server.requests == ["/NoSuchEco/all.zip"]


def test_fetch_refuses_a_truncated_zip(server: OsvServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as err:
        fetch(server.url + "truncated/PyPI/all.zip", tmp_path / "PyPI.zip", backoff=FAST)
    assert "is not a zip file" in str(err.value)
    assert list(tmp_path.iterdir()) == []
    assert len(server.requests) == 1  # a verification failure is not retried


def test_fetch_refuses_an_html_error_page(server: OsvServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="is not a zip file"):
        fetch(server.url + "notzip/PyPI/all.zip", tmp_path / "PyPI.zip", backoff=FAST)
    assert list(tmp_path.iterdir()) == []


def test_fetch_retries_a_cut_connection(server: OsvServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as err:
        fetch(server.url + "cut/npm/all.zip", tmp_path / "npm.zip", retries=1, backoff=FAST)
    assert f"cannot reach {server.host}: connection closed 111735 bytes before the end" in str(
        err.value
    )
    assert len(server.requests) == 2
    assert list(tmp_path.iterdir()) == []


def test_fetch_caps_the_size(server: OsvServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="over the 1000 byte limit"):
        fetch(server.url + "npm/all.zip", tmp_path / "npm.zip", max_bytes=1000)
    assert list(tmp_path.iterdir()) == []


def test_fetch_only_speaks_http(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="only http and https"):
        fetch("file:///etc/passwd", tmp_path / "x.zip")


def test_update_from_a_mirror(server: OsvServer, tmp_path: Path) -> None:
    db_path = tmp_path / "osv.sqlite3"
    result = import_sources([Source(server.url)], db_path, ["pypi", "npm"])
    assert [(i.ecosystem, i.advisories, i.packages) for i in result.imported] == [
        ("PyPI", 2661, 664),
        ("npm", 170, 101),
    ]
    assert sorted(server.requests) == ["/PyPI/all.zip", "/npm/all.zip"]
    with VulnDB.open(db_path) as db:
        status = db.status()
        assert [(e.name, e.source) for e in status.ecosystems] == [
            ("PyPI", server.url + "PyPI/all.zip"),
            ("npm", server.url + "npm/all.zip"),
        ]
        assert "PYSEC-2020-341" in [a["id"] for a in db.advisories_for("PyPI", "jw-util")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["osv.sqlite3"]


def test_update_from_a_zip_url_with_retries(server: OsvServer, tmp_path: Path) -> None:
    db_path = tmp_path / "osv.sqlite3"
    result = import_sources([server.url + "flaky/1/Packagist/all.zip"], db_path, backoff=0.01)
    assert [(i.ecosystem, i.advisories) for i in result.imported] == [("Packagist", 4)]
    assert len(server.requests) == 2


def test_failed_download_keeps_the_old_database(server: OsvServer, tmp_path: Path) -> None:
    db_path = tmp_path / "osv.sqlite3"
    import_sources([Source(server.url)], db_path, ["npm"])
    before = db_path.read_bytes()
    with pytest.raises(DownloadError, match="is not a zip file"):
        import_sources([Source(server.url + "truncated/")], db_path, ["npm", "PyPI"])
    with pytest.raises(DownloadError, match="cannot reach"):
        import_sources([Source(server.url + "hang/")], db_path, ["PyPI"], timeout=0.2, retries=0)
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["osv.sqlite3"]
    with VulnDB.open(db_path) as db:
        assert db.ecosystems() == ["npm"]
        ids = [a["id"] for a in db.advisories_for("npm", "lodash")]
        assert len(ids) == 7


def test_a_base_url_expands_to_every_default_ecosystem() -> None:
    dumps = resolve_dumps([Source("https://mirror.example/osv/")], None)
    assert [d.ecosystem for d in dumps] == list(DEFAULT_ECOSYSTEMS)
    assert dumps[0] == Dump("PyPI", "https://mirror.example/osv/PyPI/all.zip", remote=True)
    only = resolve_dumps([Source(OSV_BASE_URL)], ["debian", "Alpine:v3.11"])
    assert [d.location for d in only] == [
        OSV_BASE_URL + "Debian/all.zip",
        OSV_BASE_URL + "Alpine/all.zip",
    ]
