"""RPM versions (AlmaLinux, Rocky, Red Hat, SUSE...): `[epoch:]version-release`.

`version` and `release` compare with rpmvercmp: separators are skipped, "~"
sorts before everything (even the end), "^" after the end but before any
further segment, numeric segments after alphabetic ones, numbers numerically,
letters with strcmp. The key encodes each segment with those ranks.

rpm's own EVR compare ignores the release when either side has none, which
is not a total order; here a missing release sorts before any release. Scanned
packages and advisory fixes always carry one. Verified against rpm's vercmp
(tests/test_versions.py).
"""

from __future__ import annotations

import functools
import re

from pipeline_guard.vulndb.versions.base import KEY_CACHE_SIZE, InvalidVersion, KeyOrdering

NAME = "RPM"

_SEGMENT = re.compile(r"~|\^|[0-9]+|[A-Za-z]+")
_TILDE, _END, _CARET, _ALPHA, _NUM = 0, 1, 2, 3, 4
_END_KEY = (_END,)


def vercmp_key(text: str) -> tuple[tuple[object, ...], ...]:
    """Key of one rpmvercmp operand (a version or a release)."""
    out: list[tuple[object, ...]] = []
    for seg in _SEGMENT.findall(text):
        if seg == "~":
            out.append((_TILDE,))
        elif seg == "^":
            out.append((_CARET,))
        elif seg.isdigit():
            out.append((_NUM, int(seg)))
        else:
            out.append((_ALPHA, seg))
    out.append(_END_KEY)
    return tuple(out)


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def key(version: str) -> tuple[int, tuple[tuple[object, ...], ...], tuple[tuple[object, ...], ...]]:
    """(epoch, version key, release key)."""
    text = version.strip()
    if not text:
        raise InvalidVersion(NAME, version, "empty")
    epoch = 0
    head, sep, rest = text.partition(":")
    if sep:
        if not head.isdigit() or not head.isascii():
            raise InvalidVersion(NAME, version, "epoch is not a number")
        epoch, text = int(head), rest
    ver, sep, release = text.rpartition("-")
    if not sep:
        ver, release = text, ""
    if not ver:
        raise InvalidVersion(NAME, version, "empty version")
    return (epoch, vercmp_key(ver), vercmp_key(release) if sep else ())


ORDERING = KeyOrdering(NAME, key)
