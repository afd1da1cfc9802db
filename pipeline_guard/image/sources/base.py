"""What every source hands the analyzer: an image's config and its layers as streams."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pipeline_guard.image.blobs import BlobStore, read_capped
from pipeline_guard.image.errors import ImageError
from pipeline_guard.image.imageconfig import ImageConfig, parse_config
from pipeline_guard.image.limits import Limits
from pipeline_guard.image.manifests import DEFAULT_PLATFORM, Manifest, Platform, parse_platform
from pipeline_guard.image.reference import ImageReference


@dataclass(frozen=True)
class SourceSettings:
    """How to reach images: the scanner's options that concern sources."""

    platform: Platform = field(default_factory=lambda: parse_platform(DEFAULT_PLATFORM))
    limits: Limits = field(default_factory=Limits)
    #: registries reachable over plain HTTP: host[:port] names, or "loopback"
    insecure_registries: tuple[str, ...] = ()
    work_dir: Path | None = None  # where a daemon export is spooled
    timeout: float = 120.0  # per network operation
    #: ~/.docker/config.json, or $DOCKER_CONFIG/config.json when None
    docker_config: Path | None = None


@dataclass(frozen=True)
class LayerSource:
    """One layer: its diff id (the digest of the uncompressed tar) and how to read it."""

    index: int
    diff_id: str
    digest: str | None  # the blob's digest as stored, when the source knows it
    media_type: str
    size: int | None
    open: Callable[[], BinaryIO]  # a fresh, digest-verified stream of the blob


@dataclass(frozen=True)
class SourceImage:
    reference: ImageReference
    config: ImageConfig
    config_digest: str  # the image id
    layers: tuple[LayerSource, ...]
    manifest_digest: str | None = None
    tags: tuple[str, ...] = ()


def check_layer_count(config: ImageConfig, count: int, what: str) -> None:
    if len(config.diff_ids) != count:
        raise ImageError(
            f"{what}: the manifest lists {count} layers but the config has "
            f"{len(config.diff_ids)} diff ids"
        )


def from_manifest(
    reference: ImageReference,
    store: BlobStore,
    manifest: Manifest,
    limits: Limits,
    manifest_digest: str | None = None,
) -> SourceImage:
    """An image from a parsed manifest whose blobs live in `store`."""
    with store.open_blob(manifest.config.digest, "image config") as stream:
        raw = read_capped(stream, limits.max_metadata_bytes, "image config")
    config = parse_config(raw)
    check_layer_count(config, len(manifest.layers), str(reference))
    layers = tuple(
        LayerSource(
            index=i,
            diff_id=config.diff_ids[i],
            digest=desc.digest,
            media_type=desc.media_type,
            size=desc.size,
            open=_opener(store, desc.digest, f"layer {i + 1} ({desc.digest})"),
        )
        for i, desc in enumerate(manifest.layers)
    )
    return SourceImage(
        reference=reference,
        config=config,
        config_digest=manifest.config.digest,
        layers=layers,
        manifest_digest=manifest_digest,
    )


def _opener(store: BlobStore, digest: str, what: str) -> Callable[[], BinaryIO]:
    return lambda: store.open_blob(digest, what)
