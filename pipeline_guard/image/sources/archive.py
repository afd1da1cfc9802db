"""`docker save` archives, read in place (nothing is extracted to disk).

Layouts understood:

- legacy (Docker <= 24): `manifest.json` lists `Config` (`<id>.json`) and
  `Layers` (`<dir>/layer.tar`, uncompressed); skopeo writes the layer once as
  `<diff id>.tar` and makes `<dir>/layer.tar` a symlink to it inside the archive;
- Docker 25+: an OCI layout (`index.json`, `blobs/sha256/...`) plus a
  `manifest.json` whose `Layers` point into `blobs/`;
- an OCI layout packed as a tar with no `manifest.json` (an OCI archive).

Member names are checked before anything is read: an absolute name, a `..`
component, or a symlink resolving outside the archive is refused.
"""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

from pipeline_guard.image.blobs import read_capped, verified
from pipeline_guard.image.errors import HostileImage, ImageError
from pipeline_guard.image.imageconfig import parse_config
from pipeline_guard.image.manifests import load_json
from pipeline_guard.image.reference import ImageReference
from pipeline_guard.image.sources.base import (
    LayerSource,
    SourceImage,
    SourceSettings,
    check_layer_count,
)
from pipeline_guard.image.sources.oci_layout import LayoutStore, read_layout

#: symlinks followed from one archive member to the file it names
MAX_LINK_HOPS = 8
#: a docker archive has a handful of members per layer; more than this is not one
MAX_ARCHIVE_MEMBERS = 100_000


@contextmanager
def open_archive(
    reference: ImageReference,
    settings: SourceSettings,
    *,
    path: Path | None = None,
    selector: str | None = None,
) -> Iterator[SourceImage]:
    """The image in a docker archive (`selector` picks one by tag when it holds several);
    its layer streams are valid inside the `with`."""
    file = path or reference.path
    try:
        tar = tarfile.open(file, "r:*")  # noqa: SIM115 - closed in the finally below
    except FileNotFoundError:
        raise ImageError(f"{file}: no such file") from None
    except (tarfile.TarError, OSError) as exc:
        raise ImageError(f"{file} is not a tar archive (docker save output): {exc}") from None
    try:
        yield read_archive(reference, ArchiveMembers(tar, str(file)), settings, selector)
    except tarfile.TarError as exc:
        raise ImageError(f"{file}: damaged archive: {exc}") from None
    finally:
        tar.close()


class ArchiveMembers:
    """An archive's members by name, with safe symlink resolution."""

    def __init__(self, tar: tarfile.TarFile, where: str) -> None:
        self._tar = tar
        self.where = where
        self._members: dict[str, tarfile.TarInfo] = {}
        for count, member in enumerate(tar, 1):
            if count > MAX_ARCHIVE_MEMBERS:
                raise HostileImage(f"{where} has more than {MAX_ARCHIVE_MEMBERS} members")
            self._members[_clean(member.name, where)] = member

    def __contains__(self, name: str) -> bool:
        return name in self._members

    def open_file(self, name: str) -> BinaryIO:
        member = self._resolve(_clean(name, self.where))
        stream = self._tar.extractfile(member)
        if stream is None:
            raise ImageError(f"{self.where}: {name} is not a regular file")
        return cast(BinaryIO, stream)

    def read(self, name: str, limit: int) -> bytes:
        with self.open_file(name) as stream:
            return read_capped(stream, limit, f"{self.where}: {name}")

    def _resolve(self, name: str) -> tarfile.TarInfo:
        for _ in range(MAX_LINK_HOPS):
            member = self._members.get(name)
            if member is None:
                raise ImageError(f"{self.where}: {name} is missing from the archive")
            if not member.issym() and not member.islnk():
                return member
            base = posixpath.dirname(name) if member.issym() else ""
            target = posixpath.normpath(posixpath.join(base, member.linkname))
            if member.linkname.startswith("/") or target == ".." or target.startswith("../"):
                raise HostileImage(
                    f"{self.where}: {name} links to {member.linkname!r}, outside the archive"
                )
            name = target
        raise ImageError(f"{self.where}: {name}: too many levels of links")


def _clean(name: str, where: str) -> str:
    if name.startswith("/") or ".." in name.split("/"):
        raise HostileImage(f"{where}: member {name!r} has an absolute or '..' path")
    cleaned = posixpath.normpath(name)
    return "" if cleaned == "." else cleaned


def read_archive(
    reference: ImageReference,
    members: ArchiveMembers,
    settings: SourceSettings,
    selector: str | None = None,
) -> SourceImage:
    if "manifest.json" not in members:
        if "index.json" in members:
            store = LayoutStore(members.open_file, members.where)
            return read_layout(reference, store, selector, settings)
        raise ImageError(f"{members.where} has no manifest.json: not a docker save archive")
    limit = settings.limits.max_metadata_bytes
    entries = load_json(members.read("manifest.json", limit), f"{members.where}: manifest.json")
    entry = _select(entries, selector, members.where)
    config_path = str(entry.get("Config", ""))
    raw_config = members.read(config_path, limit)
    config = parse_config(raw_config, f"{members.where}: {config_path}")
    layer_paths = [str(p) for p in entry.get("Layers") or []]
    check_layer_count(config, len(layer_paths), members.where)
    layers = tuple(
        _layer(members, i, path, config.diff_ids[i]) for i, path in enumerate(layer_paths)
    )
    return SourceImage(
        reference=reference,
        config=config,
        config_digest="sha256:" + hashlib.sha256(raw_config).hexdigest(),
        layers=layers,
        tags=tuple(str(t) for t in entry.get("RepoTags") or ()),
    )


def _layer(members: ArchiveMembers, index: int, path: str, diff_id: str) -> LayerSource:
    # Docker 25+ names layers by blob digest; legacy layer.tar files are uncompressed,
    # so their content is checked against the diff id while it is read.
    digest = None
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == "blobs":
        digest = f"{parts[1]}:{parts[2]}"
    what = f"{members.where}: layer {index + 1} ({path})"
    return LayerSource(
        index=index,
        diff_id=diff_id,
        digest=digest,
        media_type="",
        size=None,
        open=lambda: verified(members.open_file(path), digest, what),
    )


def _select(entries: Any, selector: str | None, where: str) -> dict[str, Any]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ImageError(f"{where}: manifest.json is not a list of images")
    if not entries:
        raise ImageError(f"{where}: manifest.json lists no image")
    if selector is None:
        if len(entries) == 1:
            return entries[0]  # type: ignore[no-any-return]
        raise ImageError(
            f"{where} holds {len(entries)} images: name one with docker-archive:PATH:NAME:TAG "
            f"({_tags(entries)})",
            "config",
        )
    wanted = _normal_tag(selector)
    for entry in entries:
        if wanted in {_normal_tag(str(t)) for t in entry.get("RepoTags") or ()}:
            return entry  # type: ignore[no-any-return]
    raise ImageError(f"{where} has no image tagged {selector!r} ({_tags(entries)})", "config")


def _normal_tag(tag: str) -> str:
    """`docker.io/library/x:latest`, `library/x` and `x` all name one image."""
    name, _, version = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "")
    version = version or "latest"
    for prefix in ("docker.io/", "index.docker.io/"):
        name = name.removeprefix(prefix)
    return f"{name.removeprefix('library/')}:{version}"


def _tags(entries: list[dict[str, Any]]) -> str:
    tags = sorted({str(t) for e in entries for t in e.get("RepoTags") or ()})
    return "tags: " + ", ".join(tags) if tags else "no tags"
