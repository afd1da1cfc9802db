"""Installed Python distributions: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, and
the single-file `*.egg-info` that distutils writes. Name and Version are the
core-metadata headers (a `Metadata-Version` email-header block)."""

from __future__ import annotations

from email.parser import BytesHeaderParser

from pipeline_guard.image.catalogers.base import Cataloger, CatalogResult, metadata_packages
from pipeline_guard.image.filesystem import Interest, MergedFS
from pipeline_guard.image.osrelease import OSInfo


def is_metadata(path: str) -> bool:
    """A file that holds one installed distribution's core metadata."""
    return (
        path.endswith((".dist-info/METADATA", ".egg-info/PKG-INFO"))
        or (path.endswith(".egg-info") and "/site-packages/" in path)
        or (path.endswith(".egg-info") and "/dist-packages/" in path)
    )


def parse_metadata(data: bytes) -> tuple[str, str] | None:
    """(name, version) from core metadata, or None when either is missing."""
    headers = BytesHeaderParser().parsebytes(data)
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        return None
    return str(name).strip(), str(version).strip()


def catalog(fs: MergedFS, os_info: OSInfo | None) -> CatalogResult:
    return metadata_packages(fs, is_metadata, parse_metadata, "python", "PyPI")


CATALOGER = Cataloger(
    name="python", interests=(Interest("python-metadata", is_metadata),), catalog=catalog
)
