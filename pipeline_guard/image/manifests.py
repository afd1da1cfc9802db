"""OCI and Docker v2 manifests and indexes: parsing, and picking the manifest for a platform.

Shared by every source that speaks manifests: OCI layouts (on disk or inside a
Docker 25+ archive) and registries. Docker schema 1 manifests (deprecated since
2017, unsigned layers without diff ids) are refused with a clear message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline_guard.image.errors import ImageError
from pipeline_guard.image.reference import check_digest

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
#: what a registry client accepts, in order of preference
ACCEPT = (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST)
REF_NAME = "org.opencontainers.image.ref.name"
DEFAULT_PLATFORM = "linux/amd64"
#: nested indexes deeper than this are refused (a cycle would never end)
MAX_DEPTH = 4


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base

    def accepts(self, other: Platform) -> bool:
        """Does a manifest for `other` run here? An unset variant accepts any; arm64's
        default variant is v8 whether written or not."""
        if (self.os, self.architecture) != (other.os, other.architecture):
            return False
        if self.variant is None:
            return True
        mine, theirs = self.variant, other.variant
        if self.architecture == "arm64":
            mine, theirs = mine or "v8", theirs or "v8"
        return mine == theirs


def parse_platform(text: str) -> Platform:
    """`os/arch[/variant]`, e.g. `linux/amd64`, `linux/arm64/v8`."""
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ImageError(f"platform {text!r} is not os/arch[/variant], e.g. linux/amd64", "config")
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    config: Descriptor
    layers: tuple[Descriptor, ...]


def load_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImageError(f"{what} is not valid JSON: {exc}") from None


def parse_descriptor(obj: Any, what: str) -> Descriptor:
    if not isinstance(obj, dict):
        raise ImageError(f"{what}: a descriptor is not an object")
    digest, size = obj.get("digest"), obj.get("size", -1)
    if not isinstance(digest, str) or not isinstance(size, int) or isinstance(size, bool):
        raise ImageError(f"{what}: a descriptor lacks a digest or a numeric size")
    platform = obj.get("platform")
    annotations = obj.get("annotations") or {}
    return Descriptor(
        media_type=str(obj.get("mediaType", "")),
        digest=check_digest(digest),
        size=size,
        platform=_platform_of(platform) if isinstance(platform, dict) else None,
        annotations={str(k): str(v) for k, v in annotations.items()}
        if isinstance(annotations, dict)
        else {},
    )


def _platform_of(obj: Mapping[str, Any]) -> Platform:
    variant = obj.get("variant")
    return Platform(str(obj.get("os", "")), str(obj.get("architecture", "")), variant or None)


def kind_of(obj: Any, media_type: str | None, what: str) -> str:
    """ "index" or "manifest", from the declared media type or, failing that, the shape."""
    if not isinstance(obj, dict):
        raise ImageError(f"{what} is not a JSON object")
    declared = media_type or obj.get("mediaType") or ""
    if obj.get("schemaVersion") == 1 or declared in DOCKER_SCHEMA1:
        raise ImageError(
            f"{what} is a Docker schema 1 manifest, which has no layer diff ids and is "
            "deprecated: re-push the image with a current Docker or skopeo"
        )
    if declared in INDEX_TYPES or (not declared and "manifests" in obj):
        return "index"
    if declared in MANIFEST_TYPES or (not declared and "layers" in obj):
        return "manifest"
    raise ImageError(f"{what} has an unsupported media type {declared!r}")


def parse_index(obj: Mapping[str, Any], what: str) -> list[Descriptor]:
    entries = obj.get("manifests")
    if not isinstance(entries, list):
        raise ImageError(f"{what}: an index without a `manifests` list")
    return [parse_descriptor(e, what) for e in entries]


def parse_manifest(obj: Mapping[str, Any], what: str) -> Manifest:
    layers = obj.get("layers")
    if not isinstance(layers, list) or "config" not in obj:
        raise ImageError(f"{what}: a manifest needs `config` and a `layers` list")
    return Manifest(
        config=parse_descriptor(obj["config"], what),
        layers=tuple(parse_descriptor(layer, what) for layer in layers),
    )


def choose_platform(entries: Sequence[Descriptor], platform: Platform, what: str) -> Descriptor:
    """The entry for `platform`; an index with one unlabelled entry is that entry."""
    images = [e for e in entries if not _is_attestation(e)]
    if len(images) == 1 and images[0].platform is None:
        return images[0]
    for entry in images:
        if entry.platform is not None and platform.accepts(entry.platform):
            return entry
    offered = ", ".join(sorted({str(e.platform) for e in images if e.platform})) or "none"
    raise ImageError(
        f"{what} has no manifest for platform {platform} (it offers: {offered}); "
        "choose one with --platform",
        "config",
    )


def _is_attestation(entry: Descriptor) -> bool:
    # BuildKit stores provenance as an unknown/unknown "image" in the same index.
    return entry.annotations.get("vnd.docker.reference.type") == "attestation-manifest" or (
        entry.platform is not None and entry.platform.os == "unknown"
    )


Fetch = Callable[[Descriptor], bytes]


def resolve(
    data: bytes, media_type: str | None, fetch: Fetch, platform: Platform, what: str
) -> tuple[Manifest, Descriptor | None]:
    """Follow indexes down to one image manifest.

    `data` is the top document (an index or a manifest); `fetch` loads a child
    document by its descriptor. Returns the manifest and the descriptor it was
    reached through (None when `data` was the manifest itself).
    """
    via: Descriptor | None = None
    for _ in range(MAX_DEPTH):
        obj = load_json(data, what)
        if kind_of(obj, media_type, what) == "manifest":
            return parse_manifest(obj, what), via
        via = choose_platform(parse_index(obj, what), platform, what)
        what = f"manifest {via.digest}"
        data, media_type = fetch(via), via.media_type or None
    raise ImageError(f"{what}: indexes nested more than {MAX_DEPTH} deep")
