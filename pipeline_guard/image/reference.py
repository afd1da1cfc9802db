"""Image references: which of the four sources an image comes from, and where.

Syntax (the same transports skopeo names, plus `registry:`):

    docker-archive:PATH[:NAME[:TAG]]   a `docker save` tarball (NAME:TAG picks one image
                                       when the archive holds several)
    oci:DIR[:TAG]                      an OCI image layout directory
    docker:NAME[:TAG|@DIGEST]          an image in the Docker daemon (DOCKER_HOST honoured)
    registry:HOST/REPO[:TAG|@DIGEST]   pulled over the OCI Distribution API, no daemon

A bare reference is guessed: an existing directory is an OCI layout, an existing
file a docker archive, anything else a registry reference (Docker Hub when the
first component does not look like a host, as `docker pull` reads it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline_guard.image.errors import ImageError

TRANSPORTS = ("docker-archive", "oci", "docker", "registry")
DOCKER_HUB = "registry-1.docker.io"
DEFAULT_TAG = "latest"

_DIGEST = re.compile(r"^(?P<alg>sha256|sha512):(?P<hex>[a-f0-9]{64}|[a-f0-9]{128})$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_REPO_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


@dataclass(frozen=True)
class ImageReference:
    """A parsed reference. `location` is a path (archive, layout), a daemon image
    name, or a registry repository; `host` is set for registries only."""

    transport: str
    location: str
    tag: str | None = None
    digest: str | None = None
    host: str | None = None

    def __str__(self) -> str:
        return f"{self.transport}:{self.name}"

    @property
    def name(self) -> str:
        """The reference without its transport, as a person would type it."""
        base = f"{self.host}/{self.location}" if self.host else self.location
        if self.digest:
            return f"{base}@{self.digest}"
        return f"{base}:{self.tag}" if self.tag else base

    @property
    def path(self) -> Path:
        """The file or directory of a local source."""
        return Path(self.location)


def parse_reference(text: str) -> ImageReference:
    """Parse `text` (see the module docstring); ImageError(kind=config) when malformed."""
    raw = text.strip()
    if not raw:
        raise ImageError("empty image reference", "config")
    transport, sep, rest = raw.partition(":")
    if sep and transport in TRANSPORTS:
        if not rest:
            raise ImageError(f"image reference {raw!r} names no image after {transport}:", "config")
        return _PARSERS[transport](rest)
    return _guess(raw)


def _guess(raw: str) -> ImageReference:
    path = Path(raw)
    if path.is_dir():
        return ImageReference("oci", raw)
    if path.is_file():
        return ImageReference("docker-archive", raw)
    return _registry(raw)


def _docker_archive(rest: str) -> ImageReference:
    # The path may itself contain ':'; an existing file wins over a NAME:TAG suffix.
    if Path(rest).exists() or ":" not in rest:
        return ImageReference("docker-archive", rest)
    path, _, selector = rest.partition(":")
    return ImageReference("docker-archive", path, tag=selector)


def _oci(rest: str) -> ImageReference:
    if Path(rest).exists() or ":" not in rest:
        return ImageReference("oci", rest)
    path, _, tag = rest.rpartition(":")
    return ImageReference("oci", path, tag=tag or None)


def _docker(rest: str) -> ImageReference:
    name, tag, digest = _split_name(rest)
    return ImageReference("docker", name, tag=tag, digest=digest)


def _registry(rest: str) -> ImageReference:
    name, tag, digest = _split_name(rest)
    first, slash, remainder = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        host, repo = first, remainder
    else:
        host, repo = DOCKER_HUB, name if slash else f"library/{name}"
    if host in ("docker.io", "index.docker.io"):
        host = DOCKER_HUB
    for component in repo.split("/"):
        if not _REPO_COMPONENT.match(component):
            raise ImageError(
                f"{rest!r} is not a valid repository name: {component!r} must be lowercase "
                "letters and digits separated by '.', '_', '__' or '-'",
                "config",
            )
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return ImageReference("registry", repo, tag=tag, digest=digest, host=host)


def _split_name(text: str) -> tuple[str, str | None, str | None]:
    """`name[:tag][@digest]` -> (name, tag, digest); a port's ':' is not a tag."""
    name, at, digest = text.partition("@")
    if at:
        check_digest(digest)
    tag = None
    head, colon, maybe_tag = name.rpartition(":")
    if colon and "/" not in maybe_tag:
        if not _TAG.match(maybe_tag):
            raise ImageError(f"{text!r}: {maybe_tag!r} is not a valid tag", "config")
        name, tag = head, maybe_tag
    if not name:
        raise ImageError(f"{text!r} names no image", "config")
    return name, tag, (digest if at else None)


def check_digest(digest: str) -> str:
    """`digest` if it is a well-formed sha256/sha512 digest (it names files and URLs)."""
    if not _DIGEST.match(digest):
        raise ImageError(f"{digest!r} is not a valid sha256 or sha512 digest", "input")
    return digest


_PARSERS = {
    "docker-archive": _docker_archive,
    "oci": _oci,
    "docker": _docker,
    "registry": _registry,
}
