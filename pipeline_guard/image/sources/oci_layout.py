"""OCI image layouts: `oci-layout`, `index.json` and `blobs/<alg>/<hex>`.

The same reader serves a layout directory (`oci:DIR[:TAG]`) and a layout packed
in a tarball (an OCI archive, or a Docker 25+ `docker save` without a usable
`manifest.json`): both only need "open the file at this relative path".

Which manifest: the tag names an `index.json` entry by its
`org.opencontainers.image.ref.name` annotation; without a tag the index must
hold one image (or one multi-platform index). Nested indexes are followed down
to the manifest for the requested platform (default linux/amd64).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from pipeline_guard.image.blobs import read_capped, verified
from pipeline_guard.image.errors import ImageError
from pipeline_guard.image.manifests import (
    REF_NAME,
    Descriptor,
    choose_platform,
    load_json,
    parse_index,
    resolve,
)
from pipeline_guard.image.reference import ImageReference, check_digest
from pipeline_guard.image.sources.base import SourceImage, SourceSettings, from_manifest

OpenFile = Callable[[str], BinaryIO]


class LayoutStore:
    """Blobs of a layout, read through `open_file(relative path)`."""

    def __init__(self, open_file: OpenFile, where: str) -> None:
        self.open_file = open_file
        self.where = where

    def open_blob(self, digest: str, what: str) -> BinaryIO:
        alg, _, hexpart = check_digest(digest).partition(":")
        return verified(self.open_file(f"blobs/{alg}/{hexpart}"), digest, what)

    def read_blob(self, desc: Descriptor, limit: int) -> bytes:
        with self.open_blob(desc.digest, f"blob {desc.digest}") as stream:
            return read_capped(stream, limit, f"blob {desc.digest}")


def directory_opener(root: Path) -> OpenFile:
    """`open_file` for a layout directory."""

    def open_file(rel: str) -> BinaryIO:
        try:
            return (root / rel).open("rb")
        except FileNotFoundError:
            raise ImageError(f"{root}: {rel} is missing: not a complete OCI layout") from None
        except OSError as exc:
            raise ImageError(f"{root}: cannot read {rel}: {exc.strerror or exc}") from None

    return open_file


def open_layout_dir(reference: ImageReference, settings: SourceSettings) -> SourceImage:
    """The image a `oci:DIR[:TAG]` reference names."""
    root = reference.path
    if not root.is_dir():
        raise ImageError(f"{root} is not a directory: an OCI layout is a directory")
    if not (root / "index.json").is_file():
        raise ImageError(f"{root} has no index.json: not an OCI image layout")
    store = LayoutStore(directory_opener(root), str(root))
    return read_layout(reference, store, reference.tag, settings)


def read_layout(
    reference: ImageReference, store: LayoutStore, tag: str | None, settings: SourceSettings
) -> SourceImage:
    """The image `tag` (or the only one) in a layout."""
    limit = settings.limits.max_metadata_bytes
    with store.open_file("index.json") as stream:
        index = load_json(read_capped(stream, limit, "index.json"), f"{store.where} index.json")
    if not isinstance(index, dict):
        raise ImageError(f"{store.where}: index.json is not a JSON object")
    entries = parse_index(index, f"{store.where} index.json")
    top = _select(entries, tag, store.where, settings)
    manifest, via = resolve(
        store.read_blob(top, limit),
        top.media_type or None,
        lambda d: store.read_blob(d, limit),
        settings.platform,
        f"{store.where} manifest {top.digest}",
    )
    image = from_manifest(reference, store, manifest, settings.limits, (via or top).digest)
    names = tuple(n for e in entries if (n := _ref_name(e)))
    return dataclasses.replace(image, tags=names if tag is None else (tag,))


def _select(
    entries: list[Descriptor], tag: str | None, where: str, settings: SourceSettings
) -> Descriptor:
    if tag is not None:
        named = [e for e in entries if _ref_name(e) == tag]
        if not named:
            raise ImageError(f"{where} has no image tagged {tag!r} ({_offered(entries)})")
        entries = named
    if len(entries) == 1:
        return entries[0]
    if entries and all(e.platform is not None for e in entries):
        return choose_platform(entries, settings.platform, f"{where} index.json")
    if not entries:
        raise ImageError(f"{where}: index.json lists no image")
    raise ImageError(
        f"{where} holds several images: name one with oci:DIR:TAG ({_offered(entries)})"
    )


def _ref_name(entry: Descriptor) -> str | None:
    name = entry.annotations.get(REF_NAME)
    if name is not None:
        return name
    containerd = entry.annotations.get("io.containerd.image.name", "")
    return containerd.rsplit(":", 1)[-1] if ":" in containerd else None


def _offered(entries: list[Descriptor]) -> str:
    names = sorted({n for e in entries if (n := _ref_name(e))})
    return "tags: " + ", ".join(names) if names else "no tags"
