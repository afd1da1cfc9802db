"""Shared reading of the TOML `[[package]]` lockfiles (poetry, uv, pdm, Cargo)."""

from __future__ import annotations

from typing import Any

from pipeline_guard.sources._positions import array_table_lines, load_toml
from pipeline_guard.sources.base import ManifestError


def load_packages(path: str, text: str) -> tuple[dict[str, Any], list[tuple[dict[str, Any], int]]]:
    """The whole document and its `[[package]]` tables, each with the line of its name."""
    data = load_toml(path, text)
    packages = data.get("package", [])
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise ManifestError(path, None, "`package` must be an array of tables ([[package]])")
    names = []
    for pkg in packages:
        name = pkg.get("name")
        if not isinstance(name, str) or not name:
            raise ManifestError(path, None, "a [[package]] entry has no `name`")
        names.append(name)
    lines = array_table_lines(text, "package", "name", names)
    return data, list(zip(packages, lines, strict=True))
