"""Image analysis on small hand-made images: catalogers, matching, attribution, whiteouts,
config checks and the file formats of each local source."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import image_env
import pytest
from image_env import GO_BINARY
from image_fixtures import (
    OCI_LAYER,
    ImageSpec,
    Layer,
    apk_installed,
    build_rpmdb,
    dist_info,
    dpkg_status,
    jar,
    os_release,
    package_json,
    sha256,
    write_multiplatform_oci,
)

from pipeline_guard.image.analyze import AnalyzeSettings, ImageAnalysis, analyze
from pipeline_guard.image.errors import ImageError
from pipeline_guard.image.manifests import parse_platform
from pipeline_guard.image.reference import DOCKER_HUB, parse_reference
from pipeline_guard.image.sources import SourceSettings
from pipeline_guard.model import Category, ScannerRun, Severity
from pipeline_guard.scanner import ScanContext
from pipeline_guard.scanners.image import ImageScanner

image_db = image_env.image_db  # the session fixture
DEBIAN11 = os_release("debian", "11", "Debian GNU/Linux 11 (bullseye)", "bullseye")


def scan(tmp_path: Path, db: Path, *refs: str, **options: object) -> ScannerRun:
    ctx = ScanContext(root=tmp_path, files=(), images=refs, db_path=db, work_dir=tmp_path)
    return ImageScanner(options).scan(ctx)


def packages(analysis: ImageAnalysis) -> dict[str, tuple[str, int | None, str]]:
    """name -> (version, layer number, path)."""
    return {
        p.name: (p.version, p.layer.number if p.layer else None, p.path) for p in analysis.packages
    }


def debian_image() -> ImageSpec:
    base = Layer(created_by="ADD rootfs.tar.xz / # bullseye")
    base.file("etc/os-release", DEBIAN11)
    base.file(
        "var/lib/dpkg/status",
        dpkg_status(
            [
                ("libssl1.1", "1.1.1k-1+deb11u1", "openssl"),
                ("zlib1g", "1:1.2.11.dfsg-2+b1", "zlib (1:1.2.11.dfsg-2)"),
                ("tzdata", "2021a-1+deb11u10", None),
            ]
        ),
    )
    return ImageSpec([base])


# --- OS packages and advisories -----------------------------------------------------------


def test_debian_packages_match_by_source_package(tmp_path: Path, image_db: Path) -> None:
    layout = debian_image().write_oci(tmp_path / "oci")
    ref = f"oci:{layout}"
    run = scan(tmp_path, image_db, ref)
    assert run.errors == ()
    vulns = {(f.package.name, f.rule_id) for f in run.findings if f.package}
    assert vulns == {
        ("libssl1.1", "DSA-5103-1"),
        ("libssl1.1", "DSA-5139-1"),
        ("libssl1.1", "DSA-5169-1"),
        ("libssl1.1", "DSA-5343-1"),
        ("zlib1g", "DSA-5111-1"),
        ("zlib1g", "DSA-5218-1"),
    }
    zlib = next(f for f in run.findings if f.rule_id == "DSA-5111-1")
    assert zlib.category is Category.IMAGE
    assert zlib.package is not None
    assert zlib.package.ecosystem == "Debian:11"
    assert zlib.package.version == "1:1.2.11.dfsg-2+b1"  # the installed binary version
    assert zlib.package.fixed_versions == ("1:1.2.11.dfsg-2+deb11u1",)
    assert zlib.package.manifest == ref
    assert zlib.package.purl == (
        "pkg:deb/debian/zlib1g@1:1.2.11.dfsg-2%2Bb1?arch=amd64&distro=debian-11&upstream=zlib"
    )
    assert "CVE-2018-25032" in zlib.advisories
    assert zlib.location.path == ref
    assert zlib.location.snippet == "ADD rootfs.tar.xz / # bullseye"
    assert "source package zlib 1:1.2.11.dfsg-2" in zlib.message
    assert "/var/lib/dpkg/status" in zlib.message
    assert "Upgrade zlib1g to 1:1.2.11.dfsg-2+deb11u1 or later." in zlib.message
    assert run.stale_data == ()


def test_alpine_packages_match_by_origin(tmp_path: Path, image_db: Path) -> None:
    base = Layer(created_by="ADD alpine-minirootfs-3.11.6-x86_64.tar.gz /")
    base.file("etc/os-release", os_release("alpine", "3.11.6", "Alpine Linux v3.11"))
    base.file(
        "lib/apk/db/installed",
        apk_installed(
            [
                ("musl", "1.1.24-r0", "musl"),
                ("libcrypto1.1", "1.1.1d-r2", "openssl"),
                ("libssl1.1", "1.1.1d-r2", "openssl"),
            ]
        ),
    )
    layout = ImageSpec([base]).write_oci(tmp_path / "oci")
    analysis = analyze(f"oci:{layout}")
    assert analysis.os is not None and analysis.os.ecosystem == "Alpine:v3.11"
    assert sorted(p.name for p in analysis.packages) == ["libcrypto1.1", "libssl1.1", "musl"]
    run = scan(tmp_path, image_db, f"oci:{layout}")
    vulns = sorted((f.package.name, f.rule_id) for f in run.findings if f.package)
    assert vulns == [
        ("libcrypto1.1", "ALPINE-CVE-2019-1551"),
        ("libssl1.1", "ALPINE-CVE-2019-1551"),
    ]
    finding = run.findings[0] if run.findings[0].package else run.findings[1]
    assert finding.package is not None
    assert finding.package.fixed_versions == ("1.1.1d-r3",)
    assert finding.package.ecosystem == "Alpine:v3.11"


def test_rpm_sqlite_database_almalinux(tmp_path: Path, image_db: Path) -> None:
    rpmdb = build_rpmdb(tmp_path, [("expat", "2.2.10", "9.el9", 0), ("pg-toy", "1.0", "1", 2)])
    base = Layer(created_by="ADD almalinux-9-rootfs.tar /")
    base.file("etc/os-release", os_release("almalinux", "9.1", "AlmaLinux 9.1 (Lime Lynx)"))
    base.file("var/lib/rpm/rpmdb.sqlite", rpmdb)
    layout = ImageSpec([base]).write_oci(tmp_path / "oci")
    analysis = analyze(f"oci:{layout}")
    assert packages(analysis) == {
        "expat": ("2.2.10-9.el9", 1, "var/lib/rpm/rpmdb.sqlite"),
        "pg-toy": ("2:1.0-1", 1, "var/lib/rpm/rpmdb.sqlite"),
    }
    run = scan(tmp_path, image_db, f"oci:{layout}")
    expat = {f.rule_id: f for f in run.findings if f.package and f.package.name == "expat"}
    assert len(expat) == 9
    assert expat["ALSA-2022:5244"].package is not None
    assert expat["ALSA-2022:5244"].package.fixed_versions == ("2.2.10-12.el9_0.2",)
    assert expat["ALSA-2022:6838"].severity is Severity.HIGH
    assert not [f for f in run.findings if f.package and f.package.name == "pg-toy"]


def test_distroless_status_d(tmp_path: Path) -> None:
    base = Layer(created_by="bazel build //base:static_debian11")
    base.file(
        "etc/os-release",
        'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\nVERSION_ID="11"\n'
        'HOME_URL="https://github.com/GoogleContainerTools/distroless"\n',
    )
    base.file(
        "var/lib/dpkg/status.d/libssl1.1",
        dpkg_status([("libssl1.1", "1.1.1n-0+deb11u3", "openssl")]),
    )
    base.file("var/lib/dpkg/status.d/tzdata", dpkg_status([("tzdata", "2021a-1", None)]))
    base.file("var/lib/dpkg/status.d/tzdata.md5sums", "abc  usr/share/zoneinfo/UTC\n")
    analysis = analyze(f"oci:{ImageSpec([base]).write_oci(tmp_path / 'oci')}")
    assert analysis.os is not None and analysis.os.distroless
    assert analysis.os.ecosystem == "Debian:11"
    assert packages(analysis) == {
        "libssl1.1": ("1.1.1n-0+deb11u3", 1, "var/lib/dpkg/status.d/libssl1.1"),
        "tzdata": ("2021a-1", 1, "var/lib/dpkg/status.d/tzdata"),
    }


@pytest.mark.parametrize(
    ("text", "ecosystem"),
    [
        (
            os_release("ubuntu", "22.04", "Ubuntu 22.04.3 LTS") + 'VERSION="22.04.3 LTS (Jammy)"\n',
            "Ubuntu:22.04:LTS",
        ),
        (os_release("ubuntu", "23.10", "Ubuntu 23.10"), "Ubuntu:23.10"),
        (os_release("rocky", "9.3", "Rocky Linux 9.3 (Blue Onyx)"), "Rocky Linux:9"),
        (os_release("rhel", "9.2", "Red Hat Enterprise Linux 9.2 (Plow)"), None),
        (
            'PRETTY_NAME="Debian GNU/Linux trixie/sid"\nID=debian\nVERSION_CODENAME=trixie\n',
            "Debian:13",
        ),
    ],
)
def test_os_release_ecosystems(tmp_path: Path, text: str, ecosystem: str | None) -> None:
    base = (
        Layer().file("usr/lib/os-release", text).symlink("etc/os-release", "../usr/lib/os-release")
    )
    analysis = analyze(f"oci:{ImageSpec([base]).write_oci(tmp_path / 'oci')}")
    assert analysis.os is not None
    assert analysis.os.source == "etc/os-release"
    assert analysis.os.ecosystem == ecosystem


def test_scratch_image_has_no_os(tmp_path: Path) -> None:
    base = Layer(created_by="COPY app /app").file("app", b"#!/bin/true\n", 0o755)
    analysis = analyze(f"oci:{ImageSpec([base]).write_oci(tmp_path / 'oci')}")
    assert analysis.os is None
    assert analysis.packages == ()


# --- language packages --------------------------------------------------------------------


def language_image() -> ImageSpec:
    site = "usr/lib/python3/dist-packages"
    layer = Layer(created_by="RUN pip install -r requirements.txt && npm ci")
    layer.file(f"{site}/requests-2.19.0.dist-info/METADATA", dist_info("requests", "2.19.0"))
    layer.file(f"{site}/Jinja2-2.10.egg-info/PKG-INFO", dist_info("Jinja2", "2.10"))
    layer.file("app/node_modules/lodash/package.json", package_json("lodash", "4.17.15"))
    layer.file("app/node_modules/@types/node/package.json", package_json("@types/node", "20.1.0"))
    layer.file(
        "app/node_modules/lodash/test/fixture/package.json", package_json("fixture", "1.0.0")
    )
    layer.file("app/package.json", package_json("the-app", "0.1.0"))
    inner = jar("org.apache.httpcomponents", "httpclient", "4.5.2")
    layer.file(
        "app/app.jar",
        jar("com.example", "app", "1.0.0", {"BOOT-INF/lib/httpclient-4.5.2.jar": inner}),
    )
    return ImageSpec([layer])


def test_language_catalogers(tmp_path: Path) -> None:
    analysis = analyze(f"oci:{language_image().write_oci(tmp_path / 'oci')}")
    found = {(p.kind, p.name, p.version, p.path) for p in analysis.packages}
    site = "usr/lib/python3/dist-packages"
    assert found == {
        ("python", "requests", "2.19.0", f"{site}/requests-2.19.0.dist-info/METADATA"),
        ("python", "Jinja2", "2.10", f"{site}/Jinja2-2.10.egg-info/PKG-INFO"),
        ("npm", "lodash", "4.17.15", "app/node_modules/lodash/package.json"),
        ("npm", "@types/node", "20.1.0", "app/node_modules/@types/node/package.json"),
        ("maven", "com.example:app", "1.0.0",
         "app/app.jar!/META-INF/maven/com.example/app/pom.properties"),
        ("maven", "org.apache.httpcomponents:httpclient", "4.5.2",
         "app/app.jar!/BOOT-INF/lib/httpclient-4.5.2.jar!/META-INF/maven/"
         "org.apache.httpcomponents/httpclient/pom.properties"),
    }  # fmt: skip
    purls = {p.name: p.purl for p in analysis.packages}
    assert purls["@types/node"] == "pkg:npm/%40types/node@20.1.0"
    assert purls["org.apache.httpcomponents:httpclient"] == (
        "pkg:maven/org.apache.httpcomponents/httpclient@4.5.2"
    )


def test_language_advisories(tmp_path: Path, image_db: Path) -> None:
    ref = f"oci:{language_image().write_oci(tmp_path / 'oci')}"
    run = scan(tmp_path, image_db, ref)
    by_package: dict[str, set[str]] = {}
    for f in run.findings:
        if f.package:
            by_package.setdefault(f.package.name, set()).add(f.rule_id)
    assert by_package["lodash"] == {
        "GHSA-29mw-wpgm-hmr9",
        "GHSA-35jh-r3h4-6jhm",
        "GHSA-p6mc-m468-83gw",
    }
    assert by_package["requests"] == {"GHSA-j8r2-6x86-q33q", "GHSA-x84v-xcm2-53pg"}
    assert by_package["Jinja2"] == {"GHSA-462w-v97r-4m45", "GHSA-g3rq-g295-4j3m"}
    assert "org.apache.httpcomponents:httpclient" in by_package
    lodash = next(f for f in run.findings if f.rule_id == "GHSA-p6mc-m468-83gw")
    assert lodash.severity is Severity.HIGH
    assert lodash.tags == ("image", "language-package", "npm")


def test_go_binary_build_info(tmp_path: Path, image_db: Path) -> None:
    if not GO_BINARY.is_file():
        pytest.skip(f"{GO_BINARY} missing: run scripts/image-test-deps.sh")
    layer = Layer(created_by="COPY registry /bin/registry")
    layer.file("bin/registry", GO_BINARY.read_bytes(), 0o755)
    layer.file("bin/not-executable", GO_BINARY.read_bytes()[:4096], 0o644)
    ref = f"oci:{ImageSpec([layer]).write_oci(tmp_path / 'oci')}"
    analysis = analyze(ref)
    stdlib = [p for p in analysis.packages if p.name == "stdlib"]
    assert [(p.kind, p.path, p.ecosystem) for p in stdlib] == [("go", "bin/registry", "Go")]
    assert stdlib[0].version.startswith("go1.")
    run = scan(tmp_path, image_db, ref)
    ids = {f.rule_id for f in run.findings if f.package and f.package.name == "stdlib"}
    if stdlib[0].version == "go1.19.8":  # Debian bookworm's registry build
        assert "GO-2023-1751" in ids
    assert ids


# --- layers: attribution and whiteouts ----------------------------------------------------


def test_package_attributed_to_the_layer_that_installed_it(tmp_path: Path) -> None:
    first = Layer(created_by="ADD rootfs.tar /")
    first.file("etc/os-release", DEBIAN11)
    first.file(
        "var/lib/dpkg/status",
        dpkg_status([("base-files", "11.1", None), ("tzdata", "2021a-1", None)]),
    )
    second = Layer(created_by="RUN apt-get install -y libssl1.1")
    second.file(
        "var/lib/dpkg/status",
        dpkg_status(
            [("base-files", "11.1", None), ("tzdata", "2021a-1", None),
             ("libssl1.1", "1.1.1k-1", "openssl")]
        ),
    )  # fmt: skip
    third = Layer(created_by="RUN apt-get upgrade -y tzdata")
    third.file(
        "var/lib/dpkg/status",
        dpkg_status(
            [("base-files", "11.1", None), ("tzdata", "2024a-0+deb11u1", None),
             ("libssl1.1", "1.1.1k-1", "openssl")]
        ),
    )  # fmt: skip
    spec = ImageSpec([first, second, third])
    tars = spec.layer_tars()
    analysis = analyze(f"oci:{spec.write_oci(tmp_path / 'oci')}")
    assert packages(analysis) == {
        "base-files": ("11.1", 1, "var/lib/dpkg/status"),
        "libssl1.1": ("1.1.1k-1", 2, "var/lib/dpkg/status"),
        "tzdata": ("2024a-0+deb11u1", 3, "var/lib/dpkg/status"),
    }
    layers = {p.name: p.layer for p in analysis.packages}
    assert layers["libssl1.1"] is not None
    assert layers["libssl1.1"].diff_id == sha256(tars[1])
    assert layers["libssl1.1"].created_by == "RUN apt-get install -y libssl1.1"


def test_whiteouts_and_opaque_directories(tmp_path: Path) -> None:
    site = "usr/local/lib/python3.11/site-packages"
    first = Layer(created_by="RUN pip install a b && npm i x")
    first.file(f"{site}/alpha-1.0.dist-info/METADATA", dist_info("alpha", "1.0"))
    first.file(f"{site}/beta-2.0.dist-info/METADATA", dist_info("beta", "2.0"))
    first.file("app/node_modules/x/package.json", package_json("x", "1.0.0"))
    first.file("etc/os-release", DEBIAN11)
    first.file("var/lib/dpkg/status", dpkg_status([("tzdata", "2021a-1", None)]))
    second = Layer(created_by="RUN pip uninstall -y alpha && rm -rf node_modules && npm i y")
    second.whiteout(f"{site}/alpha-1.0.dist-info")
    second.opaque("app/node_modules")
    second.file("app/node_modules/y/package.json", package_json("y", "2.0.0"))
    second.whiteout("var/lib/dpkg/status")
    analysis = analyze(f"oci:{ImageSpec([first, second]).write_oci(tmp_path / 'oci')}")
    assert packages(analysis) == {
        "beta": ("2.0", 1, f"{site}/beta-2.0.dist-info/METADATA"),
        "y": ("2.0.0", 2, "app/node_modules/y/package.json"),
    }


def test_file_replaced_by_directory_and_hardlinks(tmp_path: Path) -> None:
    site = "usr/lib/python3/site-packages"
    first = Layer().file(f"{site}/gamma-1.0.dist-info", b"not a dir")
    second = Layer().dir(f"{site}/gamma-1.0.dist-info")
    second.file(f"{site}/gamma-1.0.dist-info/METADATA", dist_info("gamma", "1.0"))
    second.hardlink(f"{site}/delta-3.0.dist-info/METADATA", f"{site}/gamma-1.0.dist-info/METADATA")
    analysis = analyze(f"oci:{ImageSpec([first, second]).write_oci(tmp_path / 'oci')}")
    found = sorted((p.name, p.path) for p in analysis.packages)
    assert found == [
        ("gamma", f"{site}/delta-3.0.dist-info/METADATA"),
        ("gamma", f"{site}/gamma-1.0.dist-info/METADATA"),
    ]


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_long_paths_in_every_tar_format(tmp_path: Path, fmt: int) -> None:
    deep = "srv/" + "/".join(["a-rather-long-directory-name"] * 5)  # 144 characters
    layer = Layer(format=fmt)
    layer.file(f"{deep}/node_modules/lodash/package.json", package_json("lodash", "4.17.15"))
    layer.symlink(f"{deep}/link", "../" * 5 + "etc/hostname")
    analysis = analyze(f"oci:{ImageSpec([layer]).write_oci(tmp_path / 'oci')}")
    assert [p.path for p in analysis.packages] == [f"{deep}/node_modules/lodash/package.json"]


def test_zstd_layers(tmp_path: Path) -> None:
    if shutil.which("zstd") is None:
        pytest.skip("the zstd command is not installed")
    spec = debian_image()
    layout = spec.write_oci(tmp_path / "oci", compress=False)
    blobs = layout / "blobs" / "sha256"
    layer_blob = blobs / sha256(spec.layer_tars()[0]).split(":")[1]
    packed = subprocess.run(
        ["zstd", "-q", "-c", str(layer_blob)], capture_output=True, check=True
    ).stdout
    layer_blob.unlink()
    (blobs / sha256(packed).split(":")[1]).write_bytes(packed)
    index = json.loads((layout / "index.json").read_text())
    old_manifest = blobs / index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads(old_manifest.read_text())
    manifest["layers"][0].update(
        digest=sha256(packed), size=len(packed), mediaType=OCI_LAYER + "+zstd"
    )
    raw = json.dumps(manifest).encode()
    (blobs / sha256(raw).split(":")[1]).write_bytes(raw)
    index["manifests"][0].update(digest=sha256(raw), size=len(raw))
    (layout / "index.json").write_text(json.dumps(index))
    try:
        import zstandard  # noqa: F401
    except ImportError:
        with pytest.raises(ImageError, match=r"is zstd-compressed: install the `zstandard`"):
            analyze(f"oci:{layout}")
        return
    assert sorted(p.name for p in analyze(f"oci:{layout}").packages) == [
        "libssl1.1", "tzdata", "zlib1g",
    ]  # fmt: skip


# --- image configuration ------------------------------------------------------------------


def test_config_checks(tmp_path: Path, image_db: Path) -> None:
    key_id = "AKIA" + "Q3EGUSA7XJ2MVP4K"
    spec = debian_image()
    spec.env = ["PATH=/usr/bin", f"AWS_ACCESS_KEY_ID={key_id}", "LOG_LEVEL=info"]
    spec.labels = {"maintainer": "team@example.com"}
    spec.trailing_history = [
        "/bin/sh -c #(nop) COPY --from=node:latest /usr/local/bin/node /usr/bin/"
    ]
    ref = f"oci:{spec.write_oci(tmp_path / 'oci')}"
    run = scan(tmp_path, image_db, ref)
    config = {f.rule_id: f for f in run.findings if f.package is None}
    assert set(config) == {
        "IMAGE-ROOT-USER",
        "IMAGE-NO-HEALTHCHECK",
        "IMAGE-LATEST-BASE",
        "pg.secret.aws-access-key-id",
    }
    secret = config["pg.secret.aws-access-key-id"]
    assert secret.severity is Severity.HIGH
    assert secret.cwes == ("CWE-798",)
    assert secret.location.snippet == "ENV AWS_ACCESS_KEY_ID=AKIA****************"
    assert key_id not in secret.message
    assert key_id in run.redact
    assert config["IMAGE-ROOT-USER"].severity is Severity.MEDIUM
    assert config["IMAGE-ROOT-USER"].cwes == ("CWE-250",)
    assert config["IMAGE-NO-HEALTHCHECK"].severity is Severity.LOW
    assert "node:latest" in config["IMAGE-LATEST-BASE"].title
    assert all(f.location.path == ref for f in config.values())


def test_config_checks_pass_for_a_careful_image(tmp_path: Path, image_db: Path) -> None:
    spec = debian_image()
    spec.user = "10001:10001"
    spec.healthcheck = ["CMD", "/bin/healthcheck"]
    spec.env = [
        "PATH=/usr/bin",
        "DB_PASSWORD_FILE=/run/secrets/db",
        "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
    ]
    run = scan(tmp_path, image_db, f"oci:{spec.write_oci(tmp_path / 'oci')}")
    assert [f.rule_id for f in run.findings if f.package is None] == []


def test_env_secret_by_name_and_root_uid(tmp_path: Path, image_db: Path) -> None:
    spec = debian_image()
    spec.user = "0"
    spec.healthcheck = ["NONE"]
    spec.env = ["ADMIN_PASS=s3cr3t-Adm1n"]
    run = scan(
        tmp_path,
        image_db,
        f"oci:{spec.write_oci(tmp_path / 'oci')}",
        severity={"IMAGE-ROOT-USER": "high"},
    )
    config = {f.rule_id: f for f in run.findings if f.package is None}
    assert set(config) == {"IMAGE-ROOT-USER", "IMAGE-NO-HEALTHCHECK", "IMAGE-ENV-SECRET"}
    assert config["IMAGE-ROOT-USER"].severity is Severity.HIGH  # the severity option
    assert config["IMAGE-ROOT-USER"].location.snippet == "USER 0"
    assert config["IMAGE-NO-HEALTHCHECK"].location.snippet == "HEALTHCHECK NONE"
    assert config["IMAGE-ENV-SECRET"].location.snippet == "ENV ADMIN_PASS=********"
    assert "s3cr3t-Adm1n" in run.redact


# --- local source formats -----------------------------------------------------------------


def inventory(ref: str, **settings: object) -> list[tuple[str, str, str, str | None]]:
    analysis = analyze(ref, AnalyzeSettings(SourceSettings(**settings)))  # type: ignore[arg-type]
    return sorted(
        (p.name, p.version, p.path, p.layer.diff_id if p.layer else None) for p in analysis.packages
    )


def test_every_local_format_reads_the_same_image(tmp_path: Path) -> None:
    spec = debian_image()
    spec.layers.append(language_image().layers[0])
    refs = [
        f"oci:{spec.write_oci(tmp_path / 'oci', tag='v1')}:v1",
        f"oci:{spec.write_oci(tmp_path / 'plain', compress=False)}",
        f"docker-archive:{spec.write_docker_archive(tmp_path / 'legacy.tar')}",
        f"docker-archive:{spec.write_docker_archive(tmp_path / 'skopeo.tar', symlinked=True)}",
        f"docker-archive:{spec.write_docker25_archive(tmp_path / 'docker25.tar')}",
        str(tmp_path / "legacy.tar"),  # a bare path is guessed
    ]
    expected = inventory(refs[0])
    assert len(expected) == 9
    for ref in refs[1:]:
        assert inventory(ref) == expected, ref


def test_platform_selection_in_an_index(tmp_path: Path) -> None:
    def image(arch: str) -> ImageSpec:
        layer = Layer(created_by=f"ADD rootfs-{arch}.tar /")
        layer.file("etc/os-release", DEBIAN11)
        layer.file("var/lib/dpkg/status", dpkg_status([(f"only-on-{arch}", "1.0", None)]))
        return ImageSpec([layer], architecture=arch)

    layout = write_multiplatform_oci(
        tmp_path / "oci", {"linux/arm64/v8": image("arm64"), "linux/amd64": image("amd64")}
    )
    ref = f"oci:{layout}:multi"
    assert [n for n, *_ in inventory(ref)] == ["only-on-amd64"]
    arm = inventory(ref, platform=parse_platform("linux/arm64"))
    assert [n for n, *_ in arm] == ["only-on-arm64"]
    with pytest.raises(ImageError, match=r"no manifest for platform linux/s390x .*offers: "
                       r"linux/amd64, linux/arm64/v8"):  # fmt: skip
        inventory(ref, platform=parse_platform("linux/s390x"))


def test_archive_with_several_images_needs_a_tag(tmp_path: Path) -> None:
    path = debian_image().write_docker_archive(tmp_path / "one.tar", tag="pg-test/a:1")
    assert inventory(f"docker-archive:{path}:pg-test/a:1")
    with pytest.raises(ImageError, match=r"no image tagged 'pg-test/b:2' \(tags: pg-test/a:1\)"):
        inventory(f"docker-archive:{path}:pg-test/b:2")
    with pytest.raises(ImageError, match=r"has no image tagged 'v9' \(tags: latest\)"):
        inventory(f"oci:{debian_image().write_oci(tmp_path / 'oci')}:v9")


def test_missing_sources_are_clear_errors(tmp_path: Path, image_db: Path) -> None:
    good = f"oci:{debian_image().write_oci(tmp_path / 'oci')}"
    run = scan(tmp_path, image_db, good, f"docker-archive:{tmp_path / 'absent.tar'}")
    absent = tmp_path / "absent.tar"
    assert [(e.kind, e.message) for e in run.errors] == [
        ("input", f"image docker-archive:{absent}: {absent}: no such file")
    ]
    assert len([f for f in run.findings if f.package]) == 6  # the good image is still reported


# --- references ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "transport", "location", "tag", "digest", "host"),
    [
        ("registry:ghcr.io/org/app:1.2", "registry", "org/app", "1.2", None, "ghcr.io"),
        ("registry:localhost:5000/app", "registry", "app", "latest", None, "localhost:5000"),
        ("registry:127.0.0.1:5000/a/b@sha256:" + "a" * 64, "registry", "a/b", None,
         "sha256:" + "a" * 64, "127.0.0.1:5000"),
        ("alpine:3.18", "registry", "library/alpine", "3.18", None, DOCKER_HUB),
        ("docker.io/bitnami/redis", "registry", "bitnami/redis", "latest", None, DOCKER_HUB),
        ("docker:myapp:dev", "docker", "myapp", "dev", None, None),
        ("oci:/tmp/no-such-layout:v1", "oci", "/tmp/no-such-layout", "v1", None, None),
        ("docker-archive:/tmp/x.tar", "docker-archive", "/tmp/x.tar", None, None, None),
    ],
)  # fmt: skip
def test_reference_parsing(
    text: str, transport: str, location: str, tag: str | None, digest: str | None, host: str | None
) -> None:
    ref = parse_reference(text)
    assert (ref.transport, ref.location, ref.tag, ref.digest, ref.host) == (
        transport, location, tag, digest, host,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("registry:ghcr.io/Org/App", "not a valid repository name"),
        ("registry:ghcr.io/app@sha256:xyz", "not a valid sha256 or sha512 digest"),
        ("oci:", "names no image"),
    ],
)
def test_bad_references(text: str, message: str) -> None:
    with pytest.raises(ImageError, match=message) as info:
        parse_reference(text)
    assert info.value.kind in ("config", "input")


def test_bare_directory_is_an_oci_layout(tmp_path: Path) -> None:
    layout = debian_image().write_oci(tmp_path / "oci")
    assert parse_reference(str(layout)).transport == "oci"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"catalogers": ["dpkg", "cobol"]}, "image.catalogers: unknown cataloger 'cobol'"),
        ({"insecure_registries": "yes"}, "image.insecure_registries must be true/false or a list"),
        ({"platform": "amd64"}, "platform 'amd64' is not os/arch[/variant]"),
        ({"max_file_bytes": 0}, "image.max_file_bytes must be a positive integer, not 0"),
        ({"severity": {"IMAGE-ROOT-USER": "urgent"}}, "image.severity: unknown severity 'urgent'"),
    ],
)
def test_bad_options_are_config_errors(
    tmp_path: Path, image_db: Path, options: dict[str, object], message: str
) -> None:
    ref = f"oci:{debian_image().write_oci(tmp_path / 'oci')}"
    run = scan(tmp_path, image_db, ref, **options)
    assert [e.kind for e in run.errors] == ["config"]
    assert message in run.errors[0].message
    assert run.findings == ()


def test_catalogers_option_limits_what_is_listed(tmp_path: Path) -> None:
    spec = debian_image()
    spec.layers.append(language_image().layers[0])
    ref = f"oci:{spec.write_oci(tmp_path / 'oci')}"
    analysis = analyze(ref, AnalyzeSettings(catalogers=("node",)))
    assert sorted(p.name for p in analysis.packages) == ["@types/node", "lodash"]
