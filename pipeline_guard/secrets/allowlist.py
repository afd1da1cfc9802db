"""What is not a secret: placeholders, known examples, low-entropy values, and names or
values that only look like credentials (`token_url = "..."`, `password: ${DB_PASSWORD}`).
"""

from __future__ import annotations

import math
import re
from collections import Counter

# Values that are obviously not real credentials. Matched case-insensitively as substrings.
PLACEHOLDER_MARKERS = (
    "example",
    "changeme",
    "change_me",
    "change-me",
    "placeholder",
    "dummy",
    "sample",
    "your",
    "redacted",
    "fake",
    "xxxx",
    "****",
    "....",
    "<",
    ">",
    "${",
    "$(",
    "{{",
    "}}",
    "%(",
    "#{",
)
# Whole values that name a thing rather than being it.
PLACEHOLDER_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "secret",
        "token",
        "apikey",
        "api_key",
        "none",
        "null",
        "nil",
        "true",
        "false",
        "undefined",
        "anonymous",
        "username",
        "user",
    }
)
# Published example credentials that appear in countless docs and tests.
KNOWN_EXAMPLES = frozenset(
    {
        # the Azurite / Azure storage emulator's well-known account key
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
        # the jwt.io example token
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi"
        "aWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    }
)


def shannon_entropy(value: str) -> float:
    """Bits per character of `value` (0 for the empty string)."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


_MARKER = re.compile("|".join(map(re.escape, PLACEHOLDER_MARKERS)), re.IGNORECASE)
# Substitution markers of build and deploy tools: @VAR@ (autoconf, Maven), __VAR__.
_TEMPLATE_VARIABLE = re.compile(r"@+\w+@+|__\w+__")


def is_placeholder(value: str) -> bool:
    """True for values that are obviously not a real credential."""
    if value.lower() in PLACEHOLDER_WORDS or value in KNOWN_EXAMPLES:
        return True
    if len(set(value)) <= 2:  # "0000000000000000", "abababab"
        return True
    return _MARKER.search(value) is not None or _TEMPLATE_VARIABLE.fullmatch(value) is not None


# --- the generic, name-based detectors ------------------------------------------------

# Names that hold something about a secret (where it is, what it is called, when it was
# changed), or a token that is not a credential (pagination, idempotency, CSRF).
_NAME_NOT_SECRET = re.compile(
    r"(?:^|[_.-])(?:url|uri|endpoint|path|file|filename|dir|name|type|field|label|prompt"
    r"|placeholder|length|len|min|max|regex|pattern|env|var|header|prefix|suffix|format"
    r"|policy|expiry|expires|expiration|ttl|timeout|id|count|hint|ref|date|time|at|age"
    r"|last_used|used|changed|reset|required|enabled|rotation|strength|complexity)$"
    r"|hash|digest|checksum|fingerprint|sha1|sha256|sha512|md5|integrity|tokeniz|public"
    r"|(?:next|page|continuation|pagination|output|input|change|request|idempotency|csrf"
    r"|xsrf|sync|cancel|cancellation|marker|lifecycle_action|resume|cursor)_?tokens?",
    re.IGNORECASE,
)
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Words in a value: "AWSAccessKeyId" -> AWS, Access, Key, Id.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_WORD_SEPARATORS = re.compile(r"[-_. /:\[\]]+")
_NOT_A_LITERAL = re.compile(
    r"^(?:[$%~/{]|\.{1,2}/)"  # $VAR, %VAR%, paths, {interpolation}
    r"|://|\(|\)"  # URLs, function calls
    r"|\.(?:json|ya?ml|txt|pem|key|crt|cer|p12|pfx|env|ini|cfg|conf|xml|toml|js|ts|py)$"
    r"|^\d+(?:\.\d+)*$"  # versions and numbers
    r"|^\d{4}-\d\d-\d\d",  # dates
    re.IGNORECASE,
)
# A constant's or environment variable's name: CKV_SECRET_10, DJANGO_SECRET_KEY.
_CONSTANT_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
# Keys that are public or test-mode by design (Stripe publishable and test keys).
_NOT_SECRET_PREFIXES = ("pk_live_", "pk_test_", "sk_test_", "rk_test_")
# Unquoted YAML values starting with these are anchors, aliases and tags, not strings.
_YAML_SIGILS = ("&", "*", "!")
_NAME_CHARS = re.compile(r"[\w.-]{0,40}")
_NAME_BEFORE = re.compile(r"[\w.-]{0,40}$")


def name_around(text: str, start: int) -> str:
    """The whole identifier that contains offset `start` (e.g. `db_password_prod`)."""
    before = _NAME_BEFORE.search(text, max(0, start - 40), start)
    after = _NAME_CHARS.match(text, start)
    return (before.group(0) if before else "") + (after.group(0) if after else "")


def generic_name_ok(name: str) -> bool:
    """False for names that describe a secret (token_url, secretName, password_hash)."""
    return _NAME_NOT_SECRET.search(_CAMEL_HUMP.sub("_", name)) is None


def is_wordlike(value: str) -> bool:
    """Words or identifiers rather than a random string: "my-app-secret", "AWSAccessKeyId",
    "DJANGO_SECRET_KEY", "CloudFrontList.NextMarker". Random letters split into many short
    "words" ("kLmNpQrStU" -> k, Lm, Np, ...), so an average word length of 3 tells them apart.
    """
    if any(c.isdigit() for c in value):
        return False
    letters = _WORD_SEPARATORS.sub("", value)
    if not letters.isalpha():
        return False
    words = _WORD.findall(letters)
    return bool(words) and sum(map(len, words)) / len(words) >= 3


def generic_value_ok(value: str, *, quoted: bool) -> bool:
    """False for values that are words, identifiers, paths, URLs, numbers or references."""
    if value.startswith(_NOT_SECRET_PREFIXES) or (not quoted and value.startswith(_YAML_SIGILS)):
        return False
    return (
        not is_wordlike(value)
        and _CONSTANT_NAME.fullmatch(value) is None
        and _NOT_A_LITERAL.search(value) is None
    )
