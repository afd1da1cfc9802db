"""PyPI: PEP 440 ordering via `packaging.version`.

packaging 22+ dropped `LegacyVersion`, so a string that is not PEP 440 (for
example "0.1-bulbasaur", which old PyPI releases have) raises InvalidVersion;
the matcher then relies on the advisory's enumerated `versions` list.
"""

from __future__ import annotations

import functools

from packaging.version import InvalidVersion as _PackagingInvalid
from packaging.version import Version

from pipeline_guard.vulndb.versions.base import KEY_CACHE_SIZE, InvalidVersion, KeyOrdering

NAME = "PEP 440"


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def key(version: str) -> Version:
    """The parsed `Version`, which sorts by PEP 440 rules."""
    try:
        return Version(version)
    except _PackagingInvalid:
        raise InvalidVersion(NAME, version) from None


ORDERING = KeyOrdering(NAME, key)
