"""Caps that keep a hostile or absurd image from exhausting memory, disk or time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline_guard.image.errors import ImageError

GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class Limits:
    """Per-image caps (the `image:` options of the same names)."""

    #: decompressed bytes over all layers: a gzip bomb stops here
    max_uncompressed_bytes: int = 16 * GIB
    #: tar members over all layers
    max_members: int = 2_000_000
    #: the largest single file a cataloger reads into memory (package DBs, jars, metadata)
    max_file_bytes: int = 64 * MIB
    #: manifests, indexes, configs and the archive's manifest.json
    max_metadata_bytes: int = 8 * MIB
    #: an image spooled from the daemon to a temporary file
    max_archive_bytes: int = 32 * GIB

    @classmethod
    def read(cls, options: Mapping[str, Any]) -> Limits:
        """The limits an options mapping sets; ImageError(kind=config) names a bad key."""
        values: dict[str, int] = {}
        for key in ("max_uncompressed_bytes", "max_members", "max_file_bytes"):
            if key not in options:
                continue
            value = options[key]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ImageError(f"image.{key} must be a positive integer, not {value!r}", "config")
            values[key] = value
        return cls(**values)
