"""Installed npm packages: `node_modules/<name>/package.json` and
`node_modules/@scope/<name>/package.json`, at any depth (nested
`node_modules` are real installed copies). Other `package.json` files (a
package's own fixtures, the application's manifest) are not installed packages."""

from __future__ import annotations

import json
import re

from pipeline_guard.image.catalogers.base import Cataloger, CatalogResult, metadata_packages
from pipeline_guard.image.filesystem import Interest, MergedFS
from pipeline_guard.image.osrelease import OSInfo

_INSTALLED = re.compile(r"(?:^|/)node_modules/(?:@[^/]+/)?[^/@.][^/]*/package\.json$")


def is_installed_manifest(path: str) -> bool:
    return path.endswith("/package.json") and _INSTALLED.search(path) is not None


def parse_package_json(data: bytes) -> tuple[str, str] | None:
    """(name, version), or None when the manifest is not JSON or lacks either."""
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(obj, dict):
        return None
    name, version = obj.get("name"), obj.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return None
    return name, version


def catalog(fs: MergedFS, os_info: OSInfo | None) -> CatalogResult:
    return metadata_packages(fs, is_installed_manifest, parse_package_json, "npm", "npm")


CATALOGER = Cataloger(
    name="node", interests=(Interest("npm-package", is_installed_manifest),), catalog=catalog
)
