"""The real components: a debootstrap image, Debian's registry, a Docker engine.

All four sources must give identical findings for the same image. These tests
share heavy session fixtures, so they run in one xdist group (one worker).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import warnings
from pathlib import Path

import image_env
import pytest
from image_env import (
    APP_CREATED_BY,
    CLEANUP_CREATED_BY,
    NODE,
    SITE,
    TAG,
    RealImage,
    Registry,
    TokenRegistry,
    _start_registry,
    _stop,
)
from image_fixtures import ImageSpec, Layer, dpkg_status, os_release, write_multiplatform_oci

from pipeline_guard.image.analyze import AnalyzeSettings, analyze
from pipeline_guard.image.errors import ImageError
from pipeline_guard.image.manifests import parse_platform
from pipeline_guard.image.sources import SourceSettings
from pipeline_guard.image.sources.registry import PASSWORD_ENV, USER_ENV
from pipeline_guard.model import Finding, ScannerRun
from pipeline_guard.scanner import ScanContext
from pipeline_guard.scanners.image import ImageScanner

pytestmark = [pytest.mark.xdist_group("image-env"), pytest.mark.slow]

# The session fixtures this module uses (pytest finds fixtures by module attribute).
bookworm_image = image_env.bookworm_image
dockerd = image_env.dockerd
image_db = image_env.image_db
registry = image_env.registry
token_registry = image_env.token_registry

NO_CONFIG = Path("/nonexistent/pipeline-guard-test/config.json")  # no ambient docker login
LOOPBACK = SourceSettings(insecure_registries=("loopback",), docker_config=NO_CONFIG)


def scan(tmp_path: Path, db: Path, *refs: str, **options: object) -> ScannerRun:
    ctx = ScanContext(root=tmp_path, files=(), images=refs, db_path=db, work_dir=tmp_path)
    return ImageScanner({"insecure_registries": True, **options}).scan(ctx)


def comparable(findings: tuple[Finding, ...], ref: str) -> list[tuple[object, ...]]:
    """A finding without what names its source: the reference itself."""
    out = []
    for f in findings:
        pkg = f.package
        out.append(
            (
                f.rule_id,
                f.severity,
                f.title,
                f.message.replace(ref, "<image>"),
                f.location.snippet,
                f.advisories,
                (pkg.ecosystem, pkg.name, pkg.version, pkg.layer, pkg.purl, pkg.fixed_versions)
                if pkg
                else None,
            )
        )
    return sorted(out, key=repr)


def test_dpkg_inventory_matches_dpkg_query(bookworm_image: RealImage) -> None:
    analysis = analyze(bookworm_image.oci_ref)
    debs = [p for p in analysis.packages if p.kind == "deb"]
    assert len(debs) == bookworm_image.dpkg_packages
    assert bookworm_image.dpkg_packages > 80  # minbase: about 90
    assert analysis.os is not None and analysis.os.ecosystem == "Debian:12"
    first = analysis.layers[0]
    assert first.created_by == f"debootstrap --variant=minbase {TAG}"
    assert {p.layer for p in debs} == {first}
    libc = next(p for p in debs if p.name == "libc6")
    assert libc.source_name == "glibc"
    listed = subprocess.run(
        ["dpkg-query", f"--admindir={bookworm_image.rootfs}/var/lib/dpkg", "-W", "-f",
         "${Package} ${Version}\n", "libc6"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert [libc.name, libc.version] == listed


def test_app_layers_attribution_and_whiteouts(bookworm_image: RealImage) -> None:
    analysis = analyze(bookworm_image.oci_ref)
    assert [layer.created_by for layer in analysis.layers] == [
        f"debootstrap --variant=minbase {TAG}",
        APP_CREATED_BY,
        CLEANUP_CREATED_BY,
    ]
    found = {
        p.name: (p.version, p.layer.number if p.layer else 0, p.path) for p in analysis.packages
    }
    assert found["requests"] == ("2.19.0", 2, f"{SITE}/requests-2.19.0.dist-info/METADATA")
    assert found["lodash"] == ("4.17.15", 3, f"{NODE}/lodash/package.json")  # re-added by layer 3
    assert found["org.apache.httpcomponents:httpclient"][1] == 2
    assert found["stdlib"][1:] == (2, "usr/local/bin/registry")
    assert "Jinja2" not in found  # whited out
    assert "minimist" not in found  # under an opaque directory


def test_four_sources_give_identical_findings(
    tmp_path: Path,
    bookworm_image: RealImage,
    image_db: Path,
    registry: Registry,
    dockerd: str,
) -> None:
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=dockerd, timeout=300)
    with bookworm_image.archive.open("rb") as archive:
        client.images.load(archive)
    client.close()
    refs = [
        bookworm_image.oci_ref,
        bookworm_image.archive_ref,
        registry.push(f"{bookworm_image.layout}:{TAG}", "pg/bookworm:v1"),
        "docker:pg-test/bookworm:latest",
    ]
    os.environ["DOCKER_HOST"] = dockerd
    try:
        runs = {ref: scan(tmp_path, image_db, ref) for ref in refs}
    finally:
        del os.environ["DOCKER_HOST"]
    for ref, run in runs.items():
        assert run.errors == (), ref
    baseline = comparable(runs[refs[0]].findings, refs[0])
    for ref in refs[1:]:
        assert comparable(runs[ref].findings, ref) == baseline, ref
    findings = runs[refs[0]].findings
    rules = {(f.package.name if f.package else None, f.rule_id) for f in findings}
    assert ("lodash", "GHSA-p6mc-m468-83gw") in rules
    assert ("requests", "GHSA-x84v-xcm2-53pg") in rules
    assert ("stdlib", "GO-2023-1751") in rules
    assert (None, "IMAGE-ROOT-USER") in rules
    assert (None, "IMAGE-NO-HEALTHCHECK") in rules
    assert not [r for r in rules if r[0] in ("Jinja2", "minimist")]
    lodash = next(f for f in findings if f.rule_id == "GHSA-p6mc-m468-83gw")
    assert lodash.location.snippet == CLEANUP_CREATED_BY
    assert f"/{NODE}/lodash/package.json" in lodash.message
    # The shared advisory data stops before bookworm: said, not hidden.
    count = bookworm_image.dpkg_packages
    expected = f"no Debian:12 advisories in the vulnerability database: {count} image packages"
    assert runs[refs[0]].stale_data[0].startswith(expected)


def test_registry_bearer_token_auth(
    tmp_path: Path, bookworm_image: RealImage, token_registry: TokenRegistry
) -> None:
    creds = f"{token_registry.user}:{token_registry.password}"
    ref = token_registry.push(f"{bookworm_image.layout}:{TAG}", "pg/private:v1", creds)
    # Anonymous: the token service refuses, and the error says how to log in.
    with pytest.raises(ImageError, match=r"token service of 127\.0\.0\.1:\d+ refused") as info:
        analyze(ref, AnalyzeSettings(LOOPBACK))
    assert info.value.kind == "config"
    # Credentials from docker's config.json.
    config = tmp_path / "config.json"
    auth = base64.b64encode(creds.encode()).decode()
    config.write_text(json.dumps({"auths": {token_registry.host: {"auth": auth}}}))
    settings = SourceSettings(insecure_registries=("loopback",), docker_config=config)
    before = len(token_registry.token_requests or [])
    analysis = analyze(ref, AnalyzeSettings(settings))
    assert len([p for p in analysis.packages if p.kind == "deb"]) == bookworm_image.dpkg_packages
    asked = (token_registry.token_requests or [])[before:]
    assert asked and "scope=repository%3Apg%2Fprivate%3Apull" in asked[-1]
    # Credentials from the environment win over the config file.
    os.environ[USER_ENV], os.environ[PASSWORD_ENV] = token_registry.user, "wrong"
    try:
        with pytest.raises(ImageError, match=rf"refused the request \(HTTP 401\) with "
                           rf"credentials from \${USER_ENV}"):  # fmt: skip
            analyze(ref, AnalyzeSettings(settings))
    finally:
        del os.environ[USER_ENV], os.environ[PASSWORD_ENV]
    assert token_registry.password not in str(info.value)


def test_registry_basic_auth(tmp_path: Path, bookworm_image: RealImage) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    password = "basic-" + os.urandom(6).hex()
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"pg:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n")
    auth = f"auth:\n  htpasswd:\n    realm: pg-basic\n    path: {htpasswd}\n"
    reg = _start_registry(tmp_path, auth)
    try:
        ref = reg.push(f"{bookworm_image.layout}:{TAG}", "pg/basic:v1", f"pg:{password}")
        with pytest.raises(ImageError, match=r"refused access to manifest pg/basic:v1 \(no "
                           r"credentials\): log in with `docker login"):  # fmt: skip
            analyze(ref, AnalyzeSettings(LOOPBACK))
        os.environ[USER_ENV], os.environ[PASSWORD_ENV] = "pg", password
        try:
            analysis = analyze(ref, AnalyzeSettings(LOOPBACK))
        finally:
            del os.environ[USER_ENV], os.environ[PASSWORD_ENV]
        assert analysis.layers[1].created_by == APP_CREATED_BY
    finally:
        _stop(reg.process)


def test_plain_http_needs_insecure_registry(bookworm_image: RealImage, registry: Registry) -> None:
    ref = registry.push(f"{bookworm_image.layout}:{TAG}", "pg/bookworm:tls")
    with pytest.raises(ImageError, match=r"TLS with registry 127\.0\.0\.1:\d+ failed .*"
                       r"--insecure-registry") as info:  # fmt: skip
        analyze(ref)
    assert info.value.kind == "config"
    named = SourceSettings(insecure_registries=(registry.host,))
    assert analyze(ref, AnalyzeSettings(named)).layers[0].created_by.startswith("debootstrap")


def test_registry_pull_by_digest_and_missing_tag(
    bookworm_image: RealImage, registry: Registry
) -> None:
    ref = registry.push(f"{bookworm_image.layout}:{TAG}", "pg/bookworm:digest")
    analysis = analyze(ref, AnalyzeSettings(LOOPBACK))
    assert analysis.manifest_digest is not None
    by_digest = f"registry:{registry.host}/pg/bookworm@{analysis.manifest_digest}"
    again = analyze(by_digest, AnalyzeSettings(LOOPBACK))
    assert again.image_id == analysis.image_id
    with pytest.raises(ImageError, match=r"has no manifest pg/bookworm:nope"):
        analyze(f"registry:{registry.host}/pg/bookworm:nope", AnalyzeSettings(LOOPBACK))


def test_registry_manifest_list_platforms(tmp_path: Path, registry: Registry) -> None:
    def image(arch: str) -> ImageSpec:
        layer = Layer(created_by=f"ADD rootfs-{arch}.tar /")
        layer.file("etc/os-release", os_release("debian", "11", "Debian GNU/Linux 11"))
        layer.file("var/lib/dpkg/status", dpkg_status([(f"only-on-{arch}", "1.0", None)]))
        return ImageSpec([layer], architecture=arch)

    specs = {"linux/amd64": image("amd64"), "linux/arm64/v8": image("arm64")}
    layout = write_multiplatform_oci(tmp_path / "oci", specs, tag="multi")
    ref = registry.push(f"{layout}:multi", "pg/multi:1", every_platform=True)
    default = analyze(ref, AnalyzeSettings(LOOPBACK))
    assert [p.name for p in default.packages] == ["only-on-amd64"]
    arm = SourceSettings(
        platform=parse_platform("linux/arm64"), insecure_registries=("loopback",),
        docker_config=NO_CONFIG,
    )  # fmt: skip
    analysis = analyze(ref, AnalyzeSettings(arm))
    assert [p.name for p in analysis.packages] == ["only-on-arm64"]
    assert analysis.platform == "linux/arm64"


def test_daemon_without_the_image(dockerd: str) -> None:
    os.environ["DOCKER_HOST"] = dockerd
    try:
        with pytest.raises(ImageError, match=r"the Docker daemon has no image 'pg-test/absent:1'"):
            analyze("docker:pg-test/absent:1")
    finally:
        del os.environ["DOCKER_HOST"]


def test_daemon_unreachable(tmp_path: Path) -> None:
    os.environ["DOCKER_HOST"] = f"unix://{tmp_path}/no.sock"
    try:
        with pytest.raises(ImageError, match=r"cannot reach the Docker daemon at unix://") as info:
            analyze("docker:pg-test/bookworm:latest")
    finally:
        del os.environ["DOCKER_HOST"]
    assert info.value.kind == "missing"
