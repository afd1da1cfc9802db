"""Session fixtures for the heavy, real image components (import them in a test module).

- `bookworm_image`: a Debian bookworm rootfs from `debootstrap --variant=minbase`
  plus two hand-made layers (an app layer with Python, npm, Maven and Go
  packages; a cleanup layer with a whiteout and an opaque directory), as an OCI
  layout built with `umoci` and a docker-archive written by `skopeo`. Built once
  and cached across sessions in `.pipeline-guard-cache/test-images/<key>/`
  (the key names the recipe and debootstrap's version), under a file lock so
  parallel workers build it once.
- `registry`: Debian's `docker-registry` on 127.0.0.1:<free port>, config in a tmp dir.
- `token_registry`: the same registry requiring bearer tokens from a token
  server started here (RS256 JWTs signed with a throwaway certificate).
- `dockerd`: a real Docker engine (vfs storage, no networking) on a unix
  socket in a tmp dir; yields its DOCKER_HOST; stopped by PID at session end.

Each skips with the exact reason when its tools are missing or it cannot start.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from image_fixtures import Layer, dist_info, jar, package_json

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".pipeline-guard-cache" / "test-images"
RECIPE = "bookworm-minbase-v3"
MIRROR = "http://deb.debian.org/debian"
TAG = "bookworm"
DEPS_HINT = "run scripts/image-test-deps.sh as root"
GO_BINARY = Path("/usr/bin/docker-registry")  # a real Go 1.18+ binary (Debian's registry)


def require(*tools: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (debootstrap, dockerd)")
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: {DEPS_HINT}")


def run(*argv: str | Path, timeout: float = 600) -> str:
    proc = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # answering, even if with 401
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


# --- the debootstrap image ----------------------------------------------------------------


@dataclass(frozen=True)
class RealImage:
    root: Path  # the cache directory
    rootfs: Path
    layout: Path  # OCI layout directory, tag TAG
    archive: Path  # docker-archive written by skopeo
    dpkg_packages: int  # dpkg-query --admindir=<rootfs>/var/lib/dpkg -W | wc -l

    @property
    def oci_ref(self) -> str:
        return f"oci:{self.layout}:{TAG}"

    @property
    def archive_ref(self) -> str:
        return f"docker-archive:{self.archive}"


# (created_by, layer) of the two layers laid over the rootfs
APP_CREATED_BY = "COPY app/ /srv/app/ # buildkit"
CLEANUP_CREATED_BY = "RUN pip uninstall -y jinja2 && npm prune # buildkit"
SITE = "usr/local/lib/python3.11/site-packages"
NODE = "srv/app/node_modules"


def app_layer() -> Layer:
    layer = Layer(created_by=APP_CREATED_BY)
    layer.file(f"{SITE}/requests-2.19.0.dist-info/METADATA", dist_info("requests", "2.19.0"))
    layer.file(f"{SITE}/Jinja2-2.10.dist-info/METADATA", dist_info("Jinja2", "2.10"))
    layer.file(f"{NODE}/lodash/package.json", package_json("lodash", "4.17.15"))
    layer.file(f"{NODE}/minimist/package.json", package_json("minimist", "1.2.0"))
    layer.file(
        "srv/app/lib/httpclient-4.5.2.jar",
        jar("org.apache.httpcomponents", "httpclient", "4.5.2"),
    )
    layer.file("usr/local/bin/registry", GO_BINARY.read_bytes(), 0o755)
    return layer


def cleanup_layer() -> Layer:
    layer = Layer(created_by=CLEANUP_CREATED_BY)
    layer.whiteout(f"{SITE}/Jinja2-2.10.dist-info")
    layer.opaque(NODE)
    layer.file(f"{NODE}/lodash/package.json", package_json("lodash", "4.17.15"))
    return layer


def _cache_key() -> str:
    version = run("dpkg-query", "-W", "-f", "${Version}", "debootstrap").strip()
    return f"{RECIPE}-debootstrap-{version}"


def _build(target: Path) -> None:
    work = target.with_name(target.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rootfs = work / "rootfs"
    run("debootstrap", "--variant=minbase", TAG, rootfs, MIRROR, timeout=1200)
    # What Debian's official images drop too: apt lists and caches (50 MB).
    for sub in ("var/lib/apt/lists", "var/cache/apt"):
        for item in (rootfs / sub).glob("*"):
            if item.is_file():
                item.unlink()
    layout = work / "oci"
    image = f"{layout}:{TAG}"
    run("umoci", "init", "--layout", layout)
    run("umoci", "new", "--image", image)
    run("umoci", "insert", "--image", image, "--history.created_by",
        f"debootstrap --variant=minbase {TAG}", rootfs, "/")  # fmt: skip
    for name, layer in (("app", app_layer()), ("cleanup", cleanup_layer())):
        tar = work / f"{name}.tar"
        tar.write_bytes(layer.tar())
        run("umoci", "raw", "add-layer", "--image", image,
            "--history.created_by", layer.created_by, tar)  # fmt: skip
        tar.unlink()
    run("umoci", "config", "--image", image, "--config.cmd", "/bin/bash", "--config.env",
        "APP_ENV=production", "--history.created_by", 'CMD ["/bin/bash"]')  # fmt: skip
    run(
        "skopeo",
        "copy",
        f"oci:{image}",
        f"docker-archive:{work / 'image.tar'}:pg-test/bookworm:latest",
    )
    (work / "built").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)


def real_image() -> RealImage:
    """The debootstrap image, built now unless cached; RuntimeError if it cannot be built."""
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / _cache_key()
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # other xdist workers wait for one build
        if not (target / "built").is_file():
            try:
                _build(target)
            except subprocess.TimeoutExpired as exc:
                raise RuntimeError(str(exc)) from None
    rootfs = target / "rootfs"
    listed = run("dpkg-query", f"--admindir={rootfs}/var/lib/dpkg", "-W")
    return RealImage(target, rootfs, target / "oci", target / "image.tar", len(listed.splitlines()))


@pytest.fixture(scope="session")
def bookworm_image() -> RealImage:
    """The real debootstrap image (built once, cached across sessions)."""
    require("debootstrap", "umoci", "skopeo", "dpkg-query")
    if not GO_BINARY.is_file():
        pytest.skip(f"{GO_BINARY} missing: {DEPS_HINT}")
    try:
        return real_image()
    except RuntimeError as exc:
        pytest.skip(f"could not build the debootstrap test image: {exc}")


# --- registries ---------------------------------------------------------------------------


@dataclass
class Registry:
    host: str  # 127.0.0.1:port
    process: subprocess.Popen[bytes]
    root: Path

    def push(
        self, layout_ref: str, repo_tag: str, creds: str | None = None, every_platform: bool = False
    ) -> str:
        """Copy an OCI layout image into this registry with skopeo; returns `registry:` ref."""
        argv = ["skopeo", "copy", "--dest-tls-verify=false"]
        if every_platform:
            argv.append("--all")
        if creds:
            argv += ["--dest-creds", creds]
        run(*argv, f"oci:{layout_ref}", f"docker://{self.host}/{repo_tag}")
        return f"registry:{self.host}/{repo_tag}"


def start_registry(root: Path, auth: str = "") -> Registry:
    """Start docker-registry on a free loopback port; RuntimeError if it does not answer."""
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {root / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}"
    )
    log = (root / "registry.log").open("wb")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
    try:
        wait_http(f"http://127.0.0.1:{port}/v2/")
    except RuntimeError as exc:
        _stop(proc)
        raise RuntimeError(f"{exc}: {(root / 'registry.log').read_text()[-500:]}") from None
    return Registry(f"127.0.0.1:{port}", proc, root)


def _start_registry(root: Path, auth: str = "") -> Registry:
    require("docker-registry", "skopeo")
    try:
        return start_registry(root, auth)
    except RuntimeError as exc:
        pytest.skip(f"docker-registry did not start: {exc}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """An anonymous registry on loopback (plain HTTP)."""
    reg = _start_registry(tmp_path_factory.mktemp("registry"))
    yield reg
    _stop(reg.process)


@dataclass
class TokenRegistry(Registry):
    user: str = ""
    password: str = ""
    token_requests: list[str] | None = None


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenRegistry]:
    """A registry that accepts only bearer tokens, from a token server checking basic auth."""
    root = tmp_path_factory.mktemp("token-registry")
    user, password = "pg-user", "pw-" + uuid.uuid4().hex
    key, cert_pem, cert_der = _signing_cert()
    (root / "cert.pem").write_bytes(cert_pem)
    requests: list[str] = []
    server = _token_server(key, cert_der, user, password, requests)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    realm = f"http://127.0.0.1:{server.server_address[1]}/token"
    auth = (
        "auth:\n  token:\n"
        f"    realm: {realm}\n    service: pg-test-registry\n    issuer: pg-test-issuer\n"
        f"    rootcertbundle: {root / 'cert.pem'}\n"
    )
    reg = _start_registry(root, auth)
    yield TokenRegistry(reg.host, reg.process, root, user, password, requests)
    _stop(reg.process)
    server.shutdown()
    server.server_close()


def _signing_cert() -> tuple[object, bytes, bytes]:
    pytest.importorskip("cryptography")
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pg-test-token-signer")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return (
        key,
        cert.public_bytes(serialization.Encoding.PEM),
        cert.public_bytes(serialization.Encoding.DER),
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(key: object, cert_der: bytes, scope: str, subject: str) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(cert_der).decode()]}
    now = int(time.time())
    access = []
    if scope:
        kind, name, actions = scope.split(":")
        access.append({"type": kind, "name": name, "actions": actions.split(",")})
    claims = {
        "iss": "pg-test-issuer",
        "sub": subject,
        "aud": "pg-test-registry",
        "exp": now + 300,
        "nbf": now - 60,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "access": access,
    }
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[attr-defined]
    return f"{signing_input}.{_b64url(signature)}"


def _token_server(
    key: object, cert_der: bytes, user: str, password: str, requests: list[str]
) -> ThreadingHTTPServer:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            from urllib.parse import parse_qs, urlsplit

            query = parse_qs(urlsplit(self.path).query)
            requests.append(self.path)
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            scope = query.get("scope", [""])[0]
            body = json.dumps({"token": _jwt(key, cert_der, scope, user)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


# --- dockerd ------------------------------------------------------------------------------


@dataclass
class Dockerd:
    host: str  # DOCKER_HOST
    process: subprocess.Popen[bytes]
    tmp: Path

    def stop(self) -> None:
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_dockerd() -> Dockerd:
    """Start a real Docker engine (vfs, no networking); RuntimeError with its log if it fails."""
    import docker

    # Short path: unix socket paths are limited to 107 bytes.
    tmp = Path(tempfile.mkdtemp(prefix="pgd-", dir="/tmp"))
    host = f"unix://{tmp}/docker.sock"
    log = (tmp / "dockerd.log").open("wb")
    proc = subprocess.Popen(
        ["dockerd", "--storage-driver=vfs", "--iptables=false", "--ip6tables=false",
         "--bridge=none", "--host", host, "--data-root", str(tmp / "data"),
         "--exec-root", str(tmp / "exec"), "--pidfile", str(tmp / "dockerd.pid")],
        stdout=log, stderr=log,
    )  # fmt: skip
    engine = Dockerd(host, proc, tmp)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            client = docker.DockerClient(base_url=host, timeout=10)
            try:
                client.ping()
            finally:
                client.close()
            return engine
        except Exception:
            time.sleep(0.25)
    tail = (tmp / "dockerd.log").read_text(errors="replace")[-1500:]
    engine.stop()
    raise RuntimeError(f"dockerd could not start here: {tail}")


@pytest.fixture(scope="session")
def dockerd() -> Iterator[str]:
    """A real Docker engine; yields its DOCKER_HOST. Skips saying exactly what failed."""
    require("dockerd")
    pytest.importorskip("docker")
    try:
        engine = start_dockerd()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    try:
        yield engine.host
    finally:
        engine.stop()


# --- advisory database --------------------------------------------------------------------

IMAGE_ECOSYSTEMS = ("Debian", "Alpine", "AlmaLinux", "PyPI", "npm", "Maven", "Go")


@pytest.fixture(scope="session")
def image_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared OSV dumps an image can need, imported for real (about 3 s)."""
    from osv_server import require_osv_data

    from pipeline_guard.vulndb.importer import import_sources

    data = require_osv_data()
    db = tmp_path_factory.mktemp("image-db") / "osv.sqlite3"
    import_sources([data / f"{eco}-all.zip" for eco in IMAGE_ECOSYSTEMS], db)
    return db
