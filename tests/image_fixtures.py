"""Builders for small hand-made container images (Python tarfile, no daemon).

An `ImageSpec` is layers plus a config; it writes itself as an OCI layout, a
legacy `docker save` archive (optionally with skopeo-style symlinked layer.tar
entries), or a Docker 25+ archive (OCI layout inside, plus manifest.json).
Content helpers write the real file formats the catalogers read: os-release,
a dpkg status database, an apk installed database, an rpmdb.sqlite built by
the real `rpm` from toy packages made with `rpmbuild`, Python and npm package
metadata, jars. Hostile helpers make the archives the analyzer must refuse.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- layers -------------------------------------------------------------------------------


@dataclass
class Layer:
    """A layer's members in order; `tar()` is the uncompressed layer tarball."""

    created_by: str = "COPY . /"
    members: list[tuple[tarfile.TarInfo, bytes | None]] = field(default_factory=list)
    format: int = tarfile.PAX_FORMAT  # GNU_FORMAT and USTAR_FORMAT name long paths differently

    def file(self, path: str, data: bytes | str, mode: int = 0o644) -> Layer:
        raw = data.encode() if isinstance(data, str) else data
        info = tarfile.TarInfo(path)
        info.size, info.mode = len(raw), mode
        self.members.append((info, raw))
        return self

    def dir(self, path: str) -> Layer:
        info = tarfile.TarInfo(path)
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        self.members.append((info, None))
        return self

    def symlink(self, path: str, target: str) -> Layer:
        info = tarfile.TarInfo(path)
        info.type, info.linkname = tarfile.SYMTYPE, target
        self.members.append((info, None))
        return self

    def hardlink(self, path: str, target: str) -> Layer:
        info = tarfile.TarInfo(path)
        info.type, info.linkname = tarfile.LNKTYPE, target
        self.members.append((info, None))
        return self

    def whiteout(self, path: str) -> Layer:
        parent, _, name = path.rpartition("/")
        return self.file(f"{parent}/.wh.{name}" if parent else f".wh.{name}", b"")

    def opaque(self, directory: str) -> Layer:
        return self.file(f"{directory}/.wh..wh..opq", b"")

    def tar(self) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=self.format) as tar:
            for info, data in self.members:
                tar.addfile(info, io.BytesIO(data) if data is not None else None)
        return buf.getvalue()


@dataclass
class PrebuiltLayer(Layer):
    """A layer given as finished tar bytes (e.g. a bomb built without holding it twice)."""

    raw: bytes = b""

    def tar(self) -> bytes:
        return self.raw


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1, mtime=0)


# --- images -------------------------------------------------------------------------------


@dataclass
class ImageSpec:
    layers: list[Layer]
    user: str = ""
    env: list[str] = field(default_factory=lambda: ["PATH=/usr/local/bin:/usr/bin:/bin"])
    labels: dict[str, str] = field(default_factory=dict)
    healthcheck: list[str] | None = None
    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None
    #: (created_by, empty_layer) steps after the layers, e.g. CMD
    trailing_history: list[str] = field(default_factory=lambda: ['CMD ["/bin/sh"]'])

    def layer_tars(self) -> list[bytes]:
        return [layer.tar() for layer in self.layers]

    def config(self, tars: list[bytes] | None = None) -> bytes:
        tars = tars if tars is not None else self.layer_tars()
        runtime: dict[str, object] = {"Env": self.env, "Cmd": ["/bin/sh"]}
        if self.user:
            runtime["User"] = self.user
        if self.labels:
            runtime["Labels"] = self.labels
        if self.healthcheck is not None:
            runtime["Healthcheck"] = {"Test": self.healthcheck}
        history = [{"created_by": layer.created_by} for layer in self.layers]
        history += [{"created_by": h, "empty_layer": True} for h in self.trailing_history]
        config: dict[str, object] = {
            "architecture": self.architecture,
            "os": self.os,
            "config": runtime,
            "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in tars]},
            "history": history,
        }
        if self.variant:
            config["variant"] = self.variant
        return json.dumps(config, sort_keys=True).encode()

    # OCI layout ------------------------------------------------------------------------

    def oci_manifest(self, blobs: dict[str, bytes], compress: bool = True) -> bytes:
        """Put config and layers into `blobs`; return the manifest bytes."""
        tars = self.layer_tars()
        config = self.config(tars)
        blobs[sha256(config)] = config
        layers = []
        for tar in tars:
            blob = gz(tar) if compress else tar
            blobs[sha256(blob)] = blob
            layers.append(
                {
                    "mediaType": OCI_LAYER_GZIP if compress else OCI_LAYER,
                    "digest": sha256(blob),
                    "size": len(blob),
                }
            )
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": layers,
        }
        return json.dumps(manifest).encode()

    def write_oci(self, root: Path, tag: str = "latest", compress: bool = True) -> Path:
        blobs: dict[str, bytes] = {}
        manifest = self.oci_manifest(blobs, compress)
        blobs[sha256(manifest)] = manifest
        entry = descriptor(manifest, OCI_MANIFEST, {"org.opencontainers.image.ref.name": tag})
        write_layout(root, blobs, [entry])
        return root

    # docker save -----------------------------------------------------------------------

    def write_docker_archive(
        self, path: Path, tag: str = "pg-test/app:1", symlinked: bool = False
    ) -> Path:
        """Legacy `docker save` layout; `symlinked` writes layers as skopeo does."""
        tars = self.layer_tars()
        config = self.config(tars)
        config_name = sha256(config).split(":")[1] + ".json"
        files: list[tuple[str, bytes | str]] = [(config_name, config)]
        layer_paths = []
        for tar in tars:
            hexid = sha256(tar).split(":")[1]
            if symlinked:
                files.append((f"{hexid}.tar", tar))
                files.append((f"{hexid[:12]}dir/layer.tar", f"symlink:../{hexid}.tar"))
            else:
                files.append((f"{hexid}/layer.tar", tar))
            layer_paths.append(f"{hexid[:12]}dir/layer.tar" if symlinked else f"{hexid}/layer.tar")
        manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": layer_paths}]
        files.append(("manifest.json", json.dumps(manifest).encode()))
        write_tar(path, files)
        return path

    def write_docker25_archive(self, path: Path, tag: str = "pg-test/app:1") -> Path:
        """Docker 25+ `docker save`: an OCI layout plus a manifest.json into blobs/."""
        blobs: dict[str, bytes] = {}
        manifest = self.oci_manifest(blobs, compress=False)
        blobs[sha256(manifest)] = manifest
        parsed = json.loads(manifest)
        legacy = [
            {
                "Config": "blobs/sha256/" + parsed["config"]["digest"].split(":")[1],
                "RepoTags": [tag],
                "Layers": ["blobs/sha256/" + d["digest"].split(":")[1] for d in parsed["layers"]],
            }
        ]
        entry = descriptor(manifest, OCI_MANIFEST, {"io.containerd.image.name": f"docker.io/{tag}"})
        files: list[tuple[str, bytes | str]] = [
            ("blobs/sha256/" + d.split(":")[1], data) for d, data in blobs.items()
        ]
        files.append(("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'))
        files.append(("index.json", json.dumps({"schemaVersion": 2, "manifests": [entry]})))
        files.append(("manifest.json", json.dumps(legacy).encode()))
        write_tar(path, files)
        return path


def descriptor(data: bytes, media_type: str, annotations: dict[str, str] | None = None) -> dict:
    out: dict[str, object] = {"mediaType": media_type, "digest": sha256(data), "size": len(data)}
    if annotations:
        out["annotations"] = annotations
    return out


def write_layout(root: Path, blobs: dict[str, bytes], manifests: list[dict]) -> None:
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    for digest, data in blobs.items():
        (root / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))


def write_multiplatform_oci(root: Path, images: dict[str, ImageSpec], tag: str = "multi") -> Path:
    """One tag naming an index with a manifest per platform ("linux/arm64/v8": spec)."""
    blobs: dict[str, bytes] = {}
    entries = []
    for platform, spec in images.items():
        manifest = spec.oci_manifest(blobs)
        blobs[sha256(manifest)] = manifest
        os_name, arch, *variant = platform.split("/")
        entry = descriptor(manifest, OCI_MANIFEST)
        entry["platform"] = {"os": os_name, "architecture": arch}
        if variant:
            entry["platform"]["variant"] = variant[0]
        entries.append(entry)
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    blobs[sha256(index)] = index
    write_layout(
        root, blobs, [descriptor(index, OCI_INDEX, {"org.opencontainers.image.ref.name": tag})]
    )
    return root


def write_tar(path: Path, files: list[tuple[str, bytes | str]]) -> None:
    """A tar of (name, bytes) files; a str value "symlink:TARGET" makes a symlink."""
    with tarfile.open(path, "w") as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            if isinstance(data, str) and data.startswith("symlink:"):
                info.type, info.linkname = tarfile.SYMTYPE, data.removeprefix("symlink:")
                tar.addfile(info)
                continue
            raw = data.encode() if isinstance(data, str) else data
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


# --- file contents ------------------------------------------------------------------------


def os_release(os_id: str, version_id: str, pretty: str, codename: str | None = None) -> str:
    lines = [f'PRETTY_NAME="{pretty}"', f"ID={os_id}", f'VERSION_ID="{version_id}"']
    if codename:
        lines.append(f"VERSION_CODENAME={codename}")
    return "\n".join(lines) + "\n"


def dpkg_status(packages: list[tuple[str, str, str | None]]) -> str:
    """(name, version, Source field or None) per installed package."""
    paragraphs = []
    for name, version, source in packages:
        lines = [
            f"Package: {name}",
            "Status: install ok installed",
            "Priority: optional",
            "Architecture: amd64",
        ]
        if source:
            lines.append(f"Source: {source}")
        lines += [f"Version: {version}", f"Description: {name}", " a package"]
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs) + "\n"


def apk_installed(packages: list[tuple[str, str, str]]) -> str:
    """(name, version, origin) per package, as apk-tools writes them."""
    blocks = [
        f"C:Q1abc=\nP:{name}\nV:{version}\nA:x86_64\nS:1000\nI:2000\nT:{name}\no:{origin}\n"
        for name, version, origin in packages
    ]
    return "\n".join(blocks) + "\n"


def dist_info(name: str, version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: x\n\nlong text\n"


def package_json(name: str, version: str) -> str:
    return json.dumps({"name": name, "version": version, "description": "x"})


def jar(group: str, artifact: str, version: str, nested: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        zf.writestr(
            f"META-INF/maven/{group}/{artifact}/pom.properties",
            f"#Generated by Maven\ngroupId={group}\nartifactId={artifact}\nversion={version}\n",
        )
        for name, data in (nested or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def build_rpmdb(work: Path, packages: list[tuple[str, str, str, int]]) -> bytes:
    """rpmdb.sqlite holding toy packages (name, version, release, epoch), made for real:
    `rpmbuild` builds each empty noarch package, `rpm --justdb` records it."""
    for tool in ("rpm", "rpmbuild"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/image-test-deps.sh installs it)")
    top, root = work / "rpmbuild", work / "rpmroot"
    rpms = []
    for name, version, release, epoch in packages:
        spec = work / f"{name}.spec"
        spec.write_text(
            f"Name: {name}\nVersion: {version}\nRelease: {release}\nEpoch: {epoch}\n"
            "Summary: toy\nLicense: MIT\nBuildArch: noarch\n%description\ntoy\n%files\n"
        )
        subprocess.run(
            ["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)],
            check=True,
            capture_output=True,
        )
        rpms.append(str(top / "RPMS" / "noarch" / f"{name}-{version}-{release}.noarch.rpm"))
    base = ["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm"]
    subprocess.run([*base, "--initdb"], check=True, capture_output=True)
    subprocess.run(
        [*base, "-i", "--justdb", "--nodeps", "--noscripts", "--nosignature", *rpms],
        check=True,
        capture_output=True,
    )
    return (root / "var/lib/rpm/rpmdb.sqlite").read_bytes()


# --- hostile archives ---------------------------------------------------------------------


def raw_layer(names: list[tuple[str, bytes]]) -> Layer:
    """A layer whose member names are written exactly as given (tarfile keeps them)."""
    layer = Layer(created_by="ADD evil.tar /")
    for name, data in names:
        layer.file(name, data)
    return layer


def gzip_bomb_layer_blob(uncompressed: int) -> tuple[bytes, bytes]:
    """(tar, gzip blob) of one file of zeros: tiny compressed, `uncompressed` bytes inflated."""
    info = tarfile.TarInfo("zeros")
    info.size = uncompressed
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.addfile(info, _Zeros(uncompressed))
    tar_bytes = buf.getvalue()
    return tar_bytes, gzip.compress(tar_bytes, compresslevel=9, mtime=0)


class _Zeros(io.RawIOBase):
    def __init__(self, n: int) -> None:
        self.left = n

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return b"\0" * size
