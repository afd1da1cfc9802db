"""What every version ordering provides: a sortable key and a three-way compare.

An ordering turns a version string into a key once (cached) so that range
evaluation is a few tuple comparisons. Unparseable input raises
`InvalidVersion`; callers decide what that means (the matcher falls back to an
advisory's enumerated `versions`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

# Versions seen in one scan plus the advisory events for those packages fit in
# this many entries; an unbounded cache would grow for the life of the process.
KEY_CACHE_SIZE = 200_000


class InvalidVersion(ValueError):
    """A version string the ordering cannot place."""

    def __init__(self, ordering: str, version: str, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"{version!r} is not a valid {ordering} version{detail}")
        self.ordering = ordering
        self.version = version


@runtime_checkable
class VersionOrdering(Protocol):
    """Total order over one ecosystem's version strings."""

    name: str

    def key(self, version: str) -> Any:
        """A key that sorts like the version; raises InvalidVersion."""
        ...

    def compare(self, a: str, b: str) -> int:
        """-1, 0 or 1 as `a` sorts before, equal to or after `b`."""
        ...


class KeyOrdering:
    """An ordering defined by a cached key function."""

    def __init__(self, name: str, key: Callable[[str], Any]) -> None:
        self.name = name
        # The key function itself, not a method calling it: the matcher calls it once
        # per lookup, and a Python-level call in between costs as much as the cache hit.
        self.key: Callable[[str], Any] = key
        self._key = key

    def compare(self, a: str, b: str) -> int:
        """-1, 0 or 1 as `a` sorts before, equal to or after `b`."""
        ka, kb = self._key(a), self._key(b)
        return int(ka > kb) - int(ka < kb)

    def __repr__(self) -> str:
        return f"<{self.name} ordering>"
