"""Packagist (Composer) versions: Composer's normalization, then PHP's version_compare.

Composer's VersionParser::normalize turns "v1.2", "1.2.0-beta2", "1.2-RC" and
"2.0.0-p1" into "1.2.0.0", "1.2.0.0-beta2", "1.2.0.0-RC", "2.0.0.0-patch1";
Composer's Comparator then calls PHP's version_compare on the normalized
strings. PHP splits a version into numbers and words ("dev" < "alpha" = "a" <
"beta" = "b" < "RC" = "rc" < a number < "pl" = "p"; unknown words lowest) and
pads the shorter one. Branch names ("dev-main", "1.x-dev") are not ordered and
raise InvalidVersion. Verified against composer/semver under php-cli
(tests/test_versions.py).
"""

from __future__ import annotations

import functools
import re

from pipeline_guard.vulndb.versions.base import KEY_CACHE_SIZE, InvalidVersion, KeyOrdering

NAME = "Composer"

_MODIFIER = r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?"
_CLASSICAL = re.compile(r"^v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?" + _MODIFIER + r"$", re.I)
_DATETIME = re.compile(
    r"^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})" + _MODIFIER + r"$", re.I
)
_BUILD = re.compile(r"^([^,\s+]++)\+[^\s]++$")
_STABILITY = {"a": "alpha", "b": "beta", "p": "patch", "pl": "patch", "rc": "RC"}

# PHP's special forms, checked by prefix in this order (compare_special_version_forms).
_SPECIAL_FORMS = (
    ("dev", 0), ("alpha", 1), ("a", 1), ("beta", 2), ("b", 2),
    ("RC", 3), ("rc", 3), ("#", 4), ("pl", 5), ("p", 5),
)  # fmt: skip
_NUMBER_FORM = 4


def normalize(version: str) -> str:
    """Composer's VersionParser::normalize for tagged (non-branch) versions."""
    text = version.strip()
    if text.lower().startswith("dev-") or text in ("master", "trunk", "default"):
        raise InvalidVersion(NAME, version, "a branch, not a version")
    build = _BUILD.match(text)
    if build:
        text = build[1]
    m = _CLASSICAL.match(text)
    if m:
        normalized = m[1] + "".join(m[i] or ".0" for i in (2, 3, 4))
        index = 5
    else:
        m = _DATETIME.match(text)
        if m is None:
            raise InvalidVersion(NAME, version)
        normalized = re.sub(r"\D", ".", m[1])
        index = 2
    stability = m[index]
    if stability:
        if stability.lower() == "stable":
            return normalized
        lowered = stability.lower()
        normalized += "-" + _STABILITY.get(lowered, lowered) + (m[index + 1] or "").lstrip(".-")
    if m[index + 2]:
        normalized += "-dev"
    return normalized


def _canonicalize(version: str) -> str:
    """php_canonicalize_version: "-", "_", "+" become "."; "." between digits and letters."""
    out = [version[0]]
    prev = version[0]
    for c in version[1:]:
        if c in "-_+":
            if out[-1] != ".":
                out.append(".")
        elif (prev.isdigit() and not c.isdigit() and c != ".") or (
            c.isdigit() and not prev.isdigit() and prev != "."
        ):
            if out[-1] != ".":
                out.append(".")
            out.append(c)
        elif not c.isalnum():
            if out[-1] != ".":
                out.append(".")
        else:
            out.append(c)
        prev = c
    return "".join(out)


def _special_rank(word: str) -> int:
    for form, rank in _SPECIAL_FORMS:
        if word.startswith(form):
            return rank
    return -1


def _part_key(part: str) -> tuple[int, int]:
    # A number ranks with "#" between "RC" and "pl"; then by value.
    if part.isdigit():
        return (_NUMBER_FORM, int(part))
    return (_special_rank(part), 0)


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def key(version: str) -> tuple[tuple[int, int], ...]:
    """Parts of the canonical normalized version, padded like PHP pads."""
    canonical = _canonicalize(normalize(version))
    parts = tuple(_part_key(p) for p in canonical.split("."))
    # PHP: a longer version wins if its extra part is a number, and loses to the
    # end if its extra part is a word ranked below a number ("1.0" > "1.0-beta").
    return (*parts, (_NUMBER_FORM, -1))


ORDERING = KeyOrdering(NAME, key)
