"""Redaction: a finding, a note or a report never carries a secret's value.

`mask` turns a value into what may be shown; `scrub` replaces every occurrence of a
set of values in any text. The core scrubs every output (titles, messages and
snippets of every scanner) with the values the secrets scanner returns, because
other tools quote secrets too (bandit's B105 message prints the password).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

#: values of at least this many characters keep a short prefix in their mask
PREFIX_MIN_LENGTH = 16
#: how many leading characters a long value keeps (enough to tell AKIA from ghp_)
PREFIX_KEEP = 4
#: a fixed-width mask, so the mask never tells the value's length
MASK_WIDTH = 16
SHORT_MASK = "*" * 8


def mask(value: str) -> str:
    """What may be shown instead of `value`: `AKIA****************`, or `********`.

    Values of 16+ characters keep their first 4 characters (which name the kind of
    credential, e.g. `ghp_`); shorter ones keep nothing.
    """
    if len(value) >= PREFIX_MIN_LENGTH:
        return value[:PREFIX_KEEP] + "*" * MASK_WIDTH
    return SHORT_MASK


class Scrubber:
    """Replaces every occurrence of a fixed set of values with their masks.

    One compiled alternation, longest value first, so a value that contains
    another is masked whole rather than leaving its tail visible.
    """

    def __init__(self, values: Iterable[str]) -> None:
        unique = sorted({v for v in values if v}, key=lambda v: (-len(v), v))
        self._masks = {v: mask(v) for v in unique}
        self._pattern = re.compile("|".join(map(re.escape, unique))) if unique else None

    def __call__(self, text: str) -> str:
        """`text` with every value replaced by its mask."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda m: self._masks[m.group(0)], text)


@lru_cache(maxsize=16)
def _scrubber(values: tuple[str, ...]) -> Scrubber:
    return Scrubber(values)


def scrub(text: str, values: Iterable[str]) -> str:
    """`text` with every occurrence of each of `values` replaced by its mask.

    Cheap to call repeatedly with the same values (e.g. on every finding's title,
    message and snippet): the compiled pattern is cached per tuple of values.
    """
    key = values if isinstance(values, tuple) else tuple(values)
    return _scrubber(key)(text)
