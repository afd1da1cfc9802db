"""Hostile and broken images are refused whole, with an error that names the problem."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import image_env
import pytest
from image_fixtures import (
    ImageSpec,
    Layer,
    PrebuiltLayer,
    dist_info,
    gzip_bomb_layer_blob,
    raw_layer,
    sha256,
    write_tar,
)

from pipeline_guard.image.analyze import AnalyzeSettings, analyze
from pipeline_guard.image.errors import HostileImage, ImageError
from pipeline_guard.image.limits import Limits
from pipeline_guard.image.sources import SourceSettings
from pipeline_guard.scanner import ScanContext
from pipeline_guard.scanners.image import ImageScanner

MIB = 1024 * 1024
image_db = image_env.image_db  # the session fixture


def analyze_with(ref: str, **limits: int) -> None:
    analyze(ref, AnalyzeSettings(SourceSettings(limits=Limits(**limits))))


def oci(tmp_path: Path, *layers: Layer) -> str:
    return f"oci:{ImageSpec(list(layers)).write_oci(tmp_path / 'oci')}"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("/etc/cron.d/evil", r"member '/etc/cron.d/evil' has an absolute or '\.\.' path"),
        ("../../etc/passwd", r"member '\.\./\.\./etc/passwd' has an absolute or '\.\.' path"),
        ("usr/../../escape", r"member 'usr/\.\./\.\./escape' has an absolute or '\.\.' path"),
        ("app/.wh...", r"member 'app/\.\.' has an absolute or '\.\.' path"),
    ],
)
def test_member_names_outside_the_root(tmp_path: Path, name: str, message: str) -> None:
    ref = oci(tmp_path, raw_layer([("ok.txt", b"fine"), (name, b"evil")]))
    with pytest.raises(HostileImage, match=message) as info:
        analyze(ref)
    assert info.value.message.startswith("refused hostile image content: ")
    assert "layer 1" in info.value.message


def test_symlink_pointing_out_of_the_image(tmp_path: Path) -> None:
    layer = Layer().symlink("usr/lib/libevil.so", "../../../etc/shadow")
    with pytest.raises(HostileImage, match=r"symlink 'usr/lib/libevil.so' -> "
                       r"'\.\./\.\./\.\./etc/shadow' points outside the image"):  # fmt: skip
        analyze(oci(tmp_path, layer))


def test_symlinks_inside_the_image_are_fine(tmp_path: Path) -> None:
    site = "usr/lib/python3/dist-packages"
    layer = Layer().file(f"{site}/a-1.dist-info/METADATA", dist_info("a", "1"))
    layer.symlink("lib", "usr/lib").symlink("etc/alternatives/x", "/usr/bin/x")
    layer.symlink("usr/lib/x86_64-linux-gnu/libz.so", "../../../lib/libz.so.1")
    analysis = analyze(oci(tmp_path, layer))
    assert [p.name for p in analysis.packages] == ["a"]


def test_hard_link_outside_the_archive(tmp_path: Path) -> None:
    layer = Layer().hardlink("etc/passwd-copy", "../host/etc/passwd")
    with pytest.raises(HostileImage, match=r"hard link target '\.\./host/etc/passwd'"):
        analyze(oci(tmp_path, layer))


def test_gzip_bomb_stops_at_the_byte_cap(tmp_path: Path) -> None:
    tar, blob = gzip_bomb_layer_blob(64 * MIB)
    assert len(blob) < 200 * 1024  # tiny on the wire
    ref = oci(tmp_path, PrebuiltLayer(created_by="ADD bomb /", raw=tar))
    with pytest.raises(HostileImage, match=r"more than 8388608 bytes once decompressed"):
        analyze_with(ref, max_uncompressed_bytes=8 * MIB)
    analyze_with(ref, max_uncompressed_bytes=128 * MIB)  # an honest cap reads it


def test_member_count_cap(tmp_path: Path) -> None:
    layer = Layer()
    for i in range(60):
        layer.file(f"f/{i}", b"x")
    with pytest.raises(HostileImage, match=r"more than 50 files"):
        analyze_with(oci(tmp_path, layer), max_members=50)


def test_tampered_blob_fails_its_digest(tmp_path: Path) -> None:
    ref = oci(tmp_path, Layer().file("etc/hostname", "box\n"))
    layout = tmp_path / "oci"
    manifest_desc = json.loads((layout / "index.json").read_text())["manifests"][0]
    manifest = json.loads((layout / "blobs/sha256" / manifest_desc["digest"][7:]).read_bytes())
    blob = layout / "blobs/sha256" / manifest["layers"][0]["digest"][7:]
    data = bytearray(blob.read_bytes())
    data[-12] ^= 0xFF  # inside the gzip trailer: decompression still runs to the end
    blob.write_bytes(bytes(data))
    with pytest.raises(ImageError, match=r"layer 1 .*(does not match its digest|corrupt gzip)"):
        analyze(ref)


def test_diff_id_mismatch(tmp_path: Path) -> None:
    """An archive whose layer is not the one its config names (no blob digest to catch it)."""
    spec = ImageSpec([Layer().file("etc/hostname", "box\n")])
    config = json.loads(spec.config())
    config["rootfs"]["diff_ids"] = [sha256(b"something else")]
    raw_config = json.dumps(config).encode()
    tar = spec.layer_tars()[0]
    write_tar(
        tmp_path / "x.tar",
        [
            ("c.json", raw_config),
            ("l/layer.tar", tar),
            ("manifest.json", json.dumps([{"Config": "c.json", "Layers": ["l/layer.tar"]}])),
        ],
    )
    message = (
        r"the uncompressed layer is sha256:\w+, but the image config says sha256:\w+: "
        r"the image is corrupt or was tampered with"
    )
    with pytest.raises(ImageError, match=message):
        analyze(f"docker-archive:{tmp_path / 'x.tar'}")


def test_archive_symlink_escaping_the_archive(tmp_path: Path) -> None:
    spec = ImageSpec([Layer().file("etc/hostname", "box\n")])
    write_tar(
        tmp_path / "x.tar",
        [
            ("c.json", spec.config()),
            ("l/layer.tar", "symlink:../../../../etc/passwd"),
            ("manifest.json", json.dumps([{"Config": "c.json", "Layers": ["l/layer.tar"]}])),
        ],
    )
    with pytest.raises(HostileImage, match=r"l/layer.tar links to '\.\./\.\./\.\./\.\./etc/"
                       r"passwd', outside the archive"):  # fmt: skip
        analyze(f"docker-archive:{tmp_path / 'x.tar'}")


def test_archive_member_with_dotdot(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "x.tar", "w") as tar:
        tar.addfile(tarfile.TarInfo("../outside"))
    with pytest.raises(HostileImage, match=r"member '\.\./outside' has an absolute or '\.\.' path"):
        analyze(f"docker-archive:{tmp_path / 'x.tar'}")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("hello.txt", b"hi")], r"has no manifest.json: not a docker save archive"),
        ([("manifest.json", b"{not json")], r"manifest.json is not valid JSON"),
        ([("manifest.json", b"[]")], r"manifest.json lists no image"),
        (
            [("c.json", b'{"rootfs": {}}'), ("manifest.json", b'[{"Config": "c.json"}]')],
            r"has no rootfs.diff_ids list: not an image config",
        ),
    ],
)
def test_malformed_archives(tmp_path: Path, files: list[tuple[str, bytes]], message: str) -> None:
    write_tar(tmp_path / "x.tar", list(files))
    with pytest.raises(ImageError, match=message):
        analyze(f"docker-archive:{tmp_path / 'x.tar'}")


def test_not_a_tar_at_all(tmp_path: Path) -> None:
    (tmp_path / "x.tar").write_bytes(b"\x89PNG not an archive" * 100)
    with pytest.raises(ImageError, match=r"is not a tar archive \(docker save output\)"):
        analyze(f"docker-archive:{tmp_path / 'x.tar'}")


def test_layer_count_mismatch(tmp_path: Path) -> None:
    spec = ImageSpec([Layer().file("a", "1"), Layer().file("b", "2")])
    write_tar(
        tmp_path / "x.tar",
        [
            ("c.json", spec.config()),
            ("l/layer.tar", spec.layer_tars()[0]),
            ("manifest.json", json.dumps([{"Config": "c.json", "Layers": ["l/layer.tar"]}])),
        ],
    )
    with pytest.raises(ImageError, match=r"the manifest lists 1 layers but the config has 2"):
        analyze(f"docker-archive:{tmp_path / 'x.tar'}")


def test_scanner_reports_refusal_as_an_input_error(tmp_path: Path, image_db: Path) -> None:
    ref = oci(tmp_path, raw_layer([("/etc/evil", b"x")]))
    ctx = ScanContext(root=tmp_path, files=(), images=(ref,), db_path=image_db, work_dir=tmp_path)
    run = ImageScanner({}).scan(ctx)
    assert run.findings == ()
    assert [e.kind for e in run.errors] == ["input"]
    assert run.errors[0].message.startswith(f"image {ref}: refused hostile image content: ")
