"""Alpine (apk) versions: `digit{.digit}...{letter}{_suffix{#}}...{~hash}{-r#}`.

apk-tools is not packaged for Debian, so this follows apk-tools' src/version.c
(the tokenizer with TOKEN_INITIAL_DIGIT and "~commit" hashes) and is checked
against apk-tools' own test/version.data vectors plus the Alpine advisory
versions (tests/test_versions.py).

apk walks both versions token by token. While token types agree it compares
values; at the first difference in type, a pre-release suffix (_alpha, _beta,
_pre, _rc) is lowest, otherwise the token type later in the grammar is lower
(so the end of a version is below any further digit, letter or revision). The
key gives each token a rank with that order and a value; Python's tuple
comparison then stops where apk does.
"""

from __future__ import annotations

import functools
import re

from pipeline_guard.vulndb.versions.base import KEY_CACHE_SIZE, InvalidVersion, KeyOrdering

NAME = "apk"

# apk's token types, in grammar order.
(
    _INITIAL_DIGIT,
    _DIGIT,
    _LETTER,
    _SUFFIX,
    _SUFFIX_NO,
    _COMMIT_HASH,
    _REVISION_NO,
    _END,
    _INVALID,
) = range(9)
_PRE_SUFFIXES = ("alpha", "beta", "pre", "rc")
_POST_SUFFIXES = ("cvs", "svn", "git", "hg", "p")
# Suffix values as in apk: pre-releases below "no suffix" (0), post-releases above.
_SUFFIX_VALUE = {s: i - len(_PRE_SUFFIXES) for i, s in enumerate(_PRE_SUFFIXES)} | {
    s: i + 1 for i, s in enumerate(_POST_SUFFIXES)
}
# Below every other rank: a pre-release suffix where the other version has another token.
_PRE_RANK = -100

_DIGITS = re.compile(r"[0-9]+")
_SUFFIX_CHARS = re.compile(r"[a-z]*")
_HEX = re.compile(r"[0-9a-fA-F]*")

Token = tuple[int, object]


def _rank(token_type: int) -> int:
    # A later token type sorts lower at the first type mismatch.
    return -token_type


def _digit_value(digits: str) -> tuple[int, object]:
    # apk compares digits with a leading zero as strings ("1.02" < "1.1"); all
    # such strings sort below numbers without one, since "0" < "1".."9".
    return (0, digits) if digits.startswith("0") else (1, int(digits))


class _BadToken(Exception):
    """The rest of the version does not follow apk's grammar."""


def _next_token(version: str, pos: int, prev: int) -> tuple[Token, int, int]:
    """Parse the token at `pos` after a token of type `prev`: (key item, new pos, type)."""
    c = version[pos]
    if "a" <= c <= "z":
        if prev > _DIGIT:
            raise _BadToken
        return (_rank(_LETTER), ord(c)), pos + 1, _LETTER
    if c == "." or "0" <= c <= "9":
        if c == "." and prev > _DIGIT:
            raise _BadToken
        start = pos + 1 if c == "." else pos
        m = _DIGITS.match(version, start)
        if m is None:
            raise _BadToken
        if prev in (_INITIAL_DIGIT, _DIGIT):
            return (_rank(_DIGIT), _digit_value(m[0])), m.end(), _DIGIT
        if prev == _SUFFIX:
            return (_rank(_SUFFIX_NO), int(m[0])), m.end(), _SUFFIX_NO
        raise _BadToken
    if c == "_":
        if prev > _SUFFIX_NO:
            raise _BadToken
        m = _SUFFIX_CHARS.match(version, pos + 1)
        assert m is not None  # [a-z]* always matches
        value = _SUFFIX_VALUE.get(m[0])
        if value is None:
            raise _BadToken
        rank = _PRE_RANK if value < 0 else _rank(_SUFFIX)
        return (rank, value), m.end(), _SUFFIX
    if c == "~":
        m = _HEX.match(version, pos + 1)
        if prev >= _COMMIT_HASH or m is None or not m[0]:
            raise _BadToken
        return (_rank(_COMMIT_HASH), m[0]), m.end(), _COMMIT_HASH
    if c == "-":
        if prev >= _REVISION_NO or not version.startswith("-r", pos):
            raise _BadToken
        m = _DIGITS.match(version, pos + 2)
        if m is None:
            raise _BadToken
        return (_rank(_REVISION_NO), int(m[0])), m.end(), _REVISION_NO
    raise _BadToken


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def key(version: str) -> tuple[Token, ...]:
    """Tuple of (rank, value) tokens ending in an end-of-version token.

    Like apk, a version that breaks the grammar part-way ("1.18.-r2", which the
    Alpine secdb has) is still ordered: its tokens up to the bad one count, and
    the bad one sorts below the end of a version. Only a version that does not
    start with a digit, which apk would treat as equal to every other such
    string, raises InvalidVersion.
    """
    m = _DIGITS.match(version)
    if m is None:
        raise InvalidVersion(NAME, version, "does not start with a digit")
    tokens: list[Token] = [(_rank(_INITIAL_DIGIT), int(m[0]))]
    pos, prev = m.end(), _INITIAL_DIGIT
    try:
        while pos < len(version):
            token, pos, prev = _next_token(version, pos, prev)
            tokens.append(token)
    except _BadToken:
        tokens.append((_rank(_INVALID), 0))
    else:
        tokens.append((_rank(_END), 0))
    return tuple(tokens)


ORDERING = KeyOrdering(NAME, key)
