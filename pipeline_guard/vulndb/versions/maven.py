"""Maven versions, ordered like maven-artifact's ComparableVersion (3.8.x).

ComparableVersion is not a plain tuple order: a version parses to a tree of
lists ("-" and digit/letter transitions open a sub-list), trailing "null" items
(0, "", "final", "ga", "release") are dropped, and a missing item compares like
a null one, which depends on the other item's kind. So the key is a small
object whose comparison walks the tree the way Maven does. Verified against
the ComparableVersion class in /usr/share/maven/lib/maven-artifact-3.x.jar
(Maven 3.8.7) on the Maven advisory versions (tests/test_versions.py).
"""

from __future__ import annotations

import functools
from typing import Union

from pipeline_guard.vulndb.versions.base import KEY_CACHE_SIZE, InvalidVersion, KeyOrdering

NAME = "Maven"

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_RELEASE_INDEX = str(_QUALIFIERS.index(""))


class _Str(str):
    """A qualifier item (kept apart from plain str for isinstance checks)."""


Item = Union[int, _Str, "list[Item]"]


def _qualifier(text: str, followed_by_digit: bool) -> _Str:
    if followed_by_digit and len(text) == 1:
        text = {"a": "alpha", "b": "beta", "m": "milestone"}.get(text, text)
    return _Str(_ALIASES.get(text, text))


def _comparable(q: str) -> str:
    # Maven compares these as strings: known qualifiers by index, others after them.
    try:
        return str(_QUALIFIERS.index(q))
    except ValueError:
        return f"{len(_QUALIFIERS)}-{q}"


def _is_null(item: Item) -> bool:
    if isinstance(item, list):
        return not item
    if isinstance(item, _Str):
        return item == ""
    return item == 0


def _normalize(items: list[Item]) -> None:
    for i in range(len(items) - 1, -1, -1):
        if _is_null(items[i]):
            del items[i]
        elif not isinstance(items[i], list):
            break


def _cmp(a: int | str, b: int | str) -> int:
    return (a > b) - (a < b)  # type: ignore[operator]


def _compare_null(item: Item) -> int:
    """item.compareTo(null): how an item compares with a missing one."""
    if isinstance(item, list):
        for sub in item:
            result = _compare_null(sub)
            if result:
                return result
        return 0
    if isinstance(item, _Str):
        return _cmp(_comparable(item), _RELEASE_INDEX)
    return 0 if item == 0 else 1


def _compare(a: Item, b: Item | None) -> int:
    """a.compareTo(b) for the three item kinds."""
    if b is None:
        return _compare_null(a)
    if isinstance(a, list):
        if isinstance(b, list):
            return _compare_lists(a, b)
        return -1 if not isinstance(b, _Str) else 1
    if isinstance(a, _Str):
        if isinstance(b, _Str):
            return _cmp(_comparable(a), _comparable(b))
        return -1  # a string qualifier sorts below numbers and sub-lists
    if isinstance(b, list | _Str):
        return 1
    return _cmp(a, b)


def _compare_lists(a: list[Item], b: list[Item]) -> int:
    for i in range(max(len(a), len(b))):
        left = a[i] if i < len(a) else None
        right = b[i] if i < len(b) else None
        if left is None:
            result = 0 if right is None else -_compare(right, None)
        else:
            result = _compare(left, right)
        if result:
            return result
    return 0


def _parse_item(is_digit: bool, text: str, followed_by_digit: bool = False) -> Item:
    return int(text) if is_digit else _qualifier(text, followed_by_digit)


def parse(version: str) -> list[Item]:
    """The normalized item tree of a version string."""
    text = version.lower()
    root: list[Item] = []
    current = root
    stack = [root]
    is_digit = False
    start = 0

    def open_sublist() -> None:
        nonlocal current
        sub: list[Item] = []
        current.append(sub)
        current = sub
        stack.append(sub)

    for i, c in enumerate(text):
        if c == ".":
            current.append(0 if i == start else _parse_item(is_digit, text[start:i]))
            start = i + 1
        elif c == "-":
            current.append(0 if i == start else _parse_item(is_digit, text[start:i]))
            start = i + 1
            open_sublist()
        elif c.isdigit():
            if not is_digit and i > start:
                # "1.0.0.x1" is read like "1.0.0-x1": a qualifier opens a sub-list.
                if current:
                    open_sublist()
                current.append(_qualifier(text[start:i], True))
                start = i
                open_sublist()
            is_digit = True
        else:
            if is_digit and i > start:
                current.append(_parse_item(True, text[start:i]))
                start = i
                open_sublist()
            is_digit = False
    if len(text) > start:
        if not is_digit and current:
            open_sublist()
        current.append(_parse_item(is_digit, text[start:]))
    while stack:
        _normalize(stack.pop())
    return root


@functools.total_ordering
class MavenKey:
    """Sort key wrapping a parsed ComparableVersion tree."""

    __slots__ = ("items", "version")

    def __init__(self, version: str) -> None:
        self.version = version
        self.items = parse(version)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MavenKey):
            return NotImplemented
        return _compare_lists(self.items, other.items) == 0

    def __lt__(self, other: MavenKey) -> bool:
        return _compare_lists(self.items, other.items) < 0

    def __hash__(self) -> int:
        return hash(repr(self.items))

    def __repr__(self) -> str:
        return f"MavenKey({self.version!r})"


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def key(version: str) -> MavenKey:
    """A MavenKey; any non-empty string is a Maven version."""
    if not version.strip():
        raise InvalidVersion(NAME, version, "empty")
    return MavenKey(version)


ORDERING = KeyOrdering(NAME, key)
