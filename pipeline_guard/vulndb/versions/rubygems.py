"""RubyGems versions, ordered like `Gem::Version#<=>`.

A version is split into numeric and alphabetic segments ("1.0.b1" -> 1, 0,
"b", 1; a "-" means ".pre."), trailing zeros are dropped from the numeric
part and from the part after the first letter ("canonical segments"), and the
shorter list is padded with zeros: a letter segment sorts below any number,
so "1.0.a" < "1". The padding is encoded into the key (see `_encode`) so that
plain tuple comparison gives Ruby's answer. Verified against Ruby's
`Gem::Version` (tests/test_versions.py).
"""

from __future__ import annotations

import functools
import re

from pipeline_guard.vulndb.versions.base import KEY_CACHE_SIZE, InvalidVersion, KeyOrdering

NAME = "RubyGems"

# Gem::Version::ANCHORED_VERSION_PATTERN
_VALID = re.compile(r"^\s*([0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?\s*$")
_SEGMENT = re.compile(r"[0-9]+|[a-z]+", re.IGNORECASE)

Segment = int | str
Token = tuple[object, ...]
# Where a version has ended: equal to a zero, above letters, below other numbers.
_END: Token = (1, 0, 0)


def canonical_segments(version: str) -> list[Segment]:
    """Gem::Version#canonical_segments."""
    text = version.strip() or "0"
    segments: list[Segment] = [
        int(s) if s.isdigit() else s for s in _SEGMENT.findall(text.replace("-", ".pre."))
    ]
    first_string = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    numeric, rest = segments[:first_string], segments[first_string:]
    return _strip_zeros(numeric) + _strip_zeros(rest)


def _strip_zeros(segments: list[Segment]) -> list[Segment]:
    end = len(segments)
    while end and segments[end - 1] == 0:
        end -= 1
    return segments[:end]


def _encode(segments: list[Segment]) -> tuple[Token, ...]:
    """Tuple key equal to Ruby's zero-padded comparison.

    A zero compares equal to the other side's padding only if what follows
    decides the same way, so a zero carries the sign of the next non-zero
    segment after it: -1 if a letter segment, 1 if a number.
    """
    out: list[Token] = []
    following = 0  # sign of the next non-zero segment, scanning from the end
    for seg in reversed(segments):
        if isinstance(seg, str):
            out.append((0, seg))
            following = -1
        elif seg == 0:
            out.append((1, 0, following))
        else:
            out.append((1, seg))
            following = 1
    out.reverse()
    out.append(_END)
    return tuple(out)


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def key(version: str) -> tuple[Token, ...]:
    """Encoded canonical segments."""
    if not _VALID.match(version):
        raise InvalidVersion(NAME, version)
    return _encode(canonical_segments(version))


ORDERING = KeyOrdering(NAME, key)
