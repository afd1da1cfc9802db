"""Debian (and Ubuntu) package versions: `[epoch:]upstream[-revision]`, dpkg rules.

Each of upstream and revision alternates non-digit and digit runs. Non-digit
runs compare character by character with "~" before the end of the run, the
end before letters, letters before everything else; digit runs compare as
numbers. The key encodes exactly that (see `_part_key`). Verified against
dpkg's own Dpkg::Version on the Debian advisory versions (tests/test_versions.py).
"""

from __future__ import annotations

import functools
import re

from pipeline_guard.vulndb.versions.base import KEY_CACHE_SIZE, InvalidVersion, KeyOrdering

NAME = "dpkg"

_RUNS = re.compile(r"([^0-9]*)([0-9]*)")
_VALID_UPSTREAM = re.compile(r"^[0-9][A-Za-z0-9.+~:-]*$")
_VALID_REVISION = re.compile(r"^[A-Za-z0-9.+~]*$")
# Weight of the end of a non-digit run; "~" is below it, everything else above.
_END = 0


def _char_weight(c: str) -> int:
    if c == "~":
        return -1
    if c.isascii() and c.isalpha():
        return ord(c)
    return ord(c) + 256


def _part_key(part: str) -> tuple[object, ...]:
    """Alternating (non-digit weights + end, number) pairs, then an end marker.

    dpkg pads the shorter string with empty runs and zeros, so trailing
    (empty, 0) pairs are dropped: "1.0" and "1.0-0" are equal.
    """
    pairs: list[tuple[tuple[int, ...], int]] = []
    for letters, digits in _RUNS.findall(part):
        if not letters and not digits:
            continue
        weights = (*(_char_weight(c) for c in letters), _END)
        pairs.append((weights, int(digits) if digits else 0))
    while pairs and pairs[-1] == ((_END,), 0):
        pairs.pop()
    flat: list[object] = [x for pair in pairs for x in pair]
    flat.append((_END,))
    return tuple(flat)


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def key(version: str) -> tuple[int, tuple[object, ...], tuple[object, ...]]:
    """(epoch, upstream key, revision key)."""
    text = version.strip()
    epoch = 0
    if ":" in text:
        epoch_text, text = text.split(":", 1)
        if not epoch_text.isdigit() or not epoch_text.isascii():
            raise InvalidVersion(NAME, version, "epoch is not a number")
        epoch = int(epoch_text)
    upstream, sep, revision = text.rpartition("-")
    if not sep:
        upstream, revision = text, ""
    if not _VALID_UPSTREAM.match(upstream) or not _VALID_REVISION.match(revision):
        raise InvalidVersion(NAME, version)
    if sep and not revision:
        raise InvalidVersion(NAME, version, "empty revision")
    return (epoch, _part_key(upstream), _part_key(revision))


ORDERING = KeyOrdering(NAME, key)
