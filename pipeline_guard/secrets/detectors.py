"""The secrets rule table: one `Detector` per credential format, with its real shape.

Each detector has one or more regular expressions whose named group `secret` is the
value. Every pattern starts with a literal: the credential's fixed prefix (`AKIA`,
`ghp_`, `xoxb-`, `-----BEGIN `) or, for the name-based detectors, the credential word
(`secret`, `token`, ...). That literal is the per-detector prefilter: the regex engine
finds it with its fast literal scan (measured at about 2 GB/s here, faster than a
separate `keyword in text` test) and only then tries the rest of the pattern.

Severity table (documented; `severity:` in pipeline-guard.yml overrides per id):

- critical (a live key to an account or host): AWS secret access key, GitHub tokens,
  GitLab PAT, Stripe live secret key, Azure storage account key, private key blocks.
- high (provider keys with a narrower reach, or one half of a pair): AWS access key ID,
  Slack token and webhook, Google API key, npm token, SendGrid, Twilio, password in a URL.
- medium (less certain): JWT (often short-lived or a test token), and the generic,
  entropy-gated secret-looking assignments.

Every detector maps to CWE-798 (use of hard-coded credentials).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline_guard.model import Severity
from pipeline_guard.secrets.allowlist import generic_name_ok, generic_value_ok, name_around

CWE = "CWE-798"
CWE_URL = "https://cwe.mitre.org/data/definitions/798.html"
DEFAULT_ENTROPY_THRESHOLD = 3.0


@dataclass(frozen=True)
class Hit:
    """A detector's match, read from the original text.

    Patterns of `lowercase` detectors run on a lowercased copy of the text (much faster
    than IGNORECASE); the spans are the same, the values are taken from the original.
    """

    match: re.Match[str]
    text: str

    def group(self, name: str = "secret") -> str:
        """The original text of a named group ("" if it did not take part)."""
        start, end = self.match.span(name)
        return self.text[start:end] if start >= 0 else ""

    def span(self, name: str = "secret") -> tuple[int, int]:
        """Offsets of a named group in the original text."""
        return self.match.span(name)


@dataclass(frozen=True)
class Detector:
    """One credential format."""

    id: str
    title: str
    severity: Severity
    patterns: tuple[re.Pattern[str], ...]  # each starts with a literal; group `secret`
    advice: str  # what to do, shown in the finding's message
    help_url: str = CWE_URL
    tags: tuple[str, ...] = ()
    confidence: str = "high"
    #: the patterns are written for, and run on, the lowercased text
    lowercase: bool = False
    #: an entropy gate for the value; generic detectors use the configured threshold
    min_entropy: float | None = None
    #: generic detectors: entropy-gated, name-based, switched off by `include_generic: false`
    generic: bool = False
    #: only for files whose values are unquoted literals (.env, yaml, ini, shell, ...)
    config_files_only: bool = False
    #: placeholder markers ("example", "xxxx", ...) are looked for in the value; off for
    #: long random values (key blocks, JWTs) where a marker turns up by chance
    check_placeholders: bool = True
    #: extra shape check on the match (e.g. a JWT header must decode to JSON with "alg")
    validate: Callable[[Hit], bool] | None = field(default=None, compare=False)
    #: the strings to scrub from every output (default: the value itself)
    redact_values: Callable[[str], tuple[str, ...]] | None = field(default=None, compare=False)


# --- format checks ---------------------------------------------------------------------


def _b64url_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error):
        return None


def _jwt_shaped(hit: Hit) -> bool:
    header = _b64url_json(hit.group().split(".", 1)[0])
    return isinstance(header, dict) and "alg" in header


_PEM_HEADER = re.compile(r"^[A-Za-z-]+:.*$")  # Proc-Type: / DEK-Info: lines of encrypted PEM
_PEM_LINE_BREAK = re.compile(r"\\r\\n|\\n|\r?\n|\r")  # real breaks, or escaped ones in JSON


def _pem_lines(body: str) -> tuple[str, ...]:
    lines = (ln.strip().strip("\"',+") for ln in _PEM_LINE_BREAK.split(body))
    return tuple(s for s in lines if s and not _PEM_HEADER.match(s))


def _pem_body_ok(hit: Hit) -> bool:
    data = "".join(_pem_lines(hit.group()))
    return len(data) >= 64 and re.fullmatch(r"[A-Za-z0-9+/=]+", data) is not None


def _pem_redact(body: str) -> tuple[str, ...]:
    # Each base64 line separately: another tool's output quotes lines, not whole blocks.
    return _pem_lines(body)


def _url_password_ok(hit: Hit) -> bool:
    # postgres://postgres:postgres@localhost: a well-known default, not a leaked secret
    return hit.group() != hit.group("user")


def _generic_ok(hit: Hit, *, quoted: bool) -> bool:
    name = name_around(hit.text, hit.match.start())
    return generic_name_ok(name) and generic_value_ok(hit.group(), quoted=quoted)


def _generic_quoted_ok(hit: Hit) -> bool:
    return _generic_ok(hit, quoted=True)


def _generic_unquoted_ok(hit: Hit) -> bool:
    return _generic_ok(hit, quoted=False)


# --- pattern pieces ----------------------------------------------------------------------


def _rx(*patterns: str, flags: int = 0) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, flags) for p in patterns)


def _not_after(chars: str, prefix_len: int) -> str:
    """A lookbehind, placed after a literal prefix, that the prefix does not continue
    a longer token. (A lookbehind before the literal would disable the fast scan.)"""
    return f"(?<![{chars}].{{{prefix_len}}})"


_ALNUM = "0-9A-Za-z"
# `name = `, `"name": `, `name => `, `name := `, `[name]=`; whitespace bounded so a match
# never runs far from its credential word.
_ASSIGN = r"[\"'\]]?[ \t]{0,16}(?::=|=>|[:=])[ \t]{0,16}"
# The credential words the generic detectors start from (on lowercased text), one pattern
# per leading literal; the rest of the name, before and after the word, is read back by
# `name_around`.
_CREDENTIAL_WORDS = (
    r"pass(?:word|wd|phrase)",
    r"pwd",
    r"secret",
    r"token",
    r"credential",
    r"api[_-]?key",
    r"access[_-]?key",
    r"auth[_-]?key",
    r"private[_-]?key",
)
_QUOTED_VALUE = r"(?P<q>[\"'`])(?P<secret>[^\"'`\s\\]{8,200})(?P=q)"
_UNQUOTED_VALUE = r"(?P<secret>[^\s\"'`#;,]{8,200})(?=[ \t\r]{0,16}(?:$|[#;]))"


def _generic(value: str) -> tuple[str, ...]:
    return tuple(w + r"[\w.-]{0,40}" + _ASSIGN + value for w in _CREDENTIAL_WORDS)


_AWS_DOCS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html"
_GITHUB_DOCS = (
    "https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/"
    "managing-your-personal-access-tokens"
)
_ROTATE = "Revoke it at the provider, then load it from a secret store or environment variable."
_IF_REAL = (
    "If this is a real credential, revoke it, then load it from a secret store or "
    "environment variable."
)

DETECTORS: tuple[Detector, ...] = (
    Detector(
        id="pg.secret.aws-access-key-id",
        title="AWS access key ID",
        severity=Severity.HIGH,
        patterns=_rx(
            r"(?P<secret>(?:AKIA|ASIA)" + _not_after(_ALNUM, 4) + r"[0-9A-Z]{16})(?![0-9A-Za-z])"
        ),
        advice="An AWS access key ID is half of a credential pair. " + _ROTATE,
        help_url=_AWS_DOCS,
        tags=("aws",),
    ),
    Detector(
        id="pg.secret.aws-secret-access-key",
        title="AWS secret access key",
        severity=Severity.CRITICAL,
        patterns=_rx(
            r"aws[\w.-]{0,24}?secret[\w.-]{0,24}" + _ASSIGN + r"[\"']?"
            r"(?P<secret>[a-z0-9/+]{40})(?![a-z0-9/+=])",
            r"secret_?access_?key" + _ASSIGN + r"[\"']?(?P<secret>[a-z0-9/+]{40})(?![a-z0-9/+=])",
        ),
        lowercase=True,
        advice="Deactivate the access key in IAM. " + _ROTATE,
        help_url=_AWS_DOCS,
        tags=("aws",),
        min_entropy=3.5,
    ),
    Detector(
        id="pg.secret.github-token",
        title="GitHub token",
        severity=Severity.CRITICAL,
        patterns=_rx(
            r"(?P<secret>gh[pousr]_" + _not_after(_ALNUM + "_", 4) + r"[0-9A-Za-z]{36,251})"
            r"(?![0-9A-Za-z_])"
        ),
        advice=_ROTATE,
        help_url=_GITHUB_DOCS,
        tags=("github",),
    ),
    Detector(
        id="pg.secret.github-fine-grained-pat",
        title="GitHub fine-grained personal access token",
        severity=Severity.CRITICAL,
        patterns=_rx(
            r"(?P<secret>github_pat_" + _not_after(_ALNUM + "_", 11) + r"[0-9A-Za-z]{22}_"
            r"[0-9A-Za-z]{59})(?![0-9A-Za-z_])"
        ),
        advice=_ROTATE,
        help_url=_GITHUB_DOCS,
        tags=("github",),
    ),
    Detector(
        id="pg.secret.gitlab-pat",
        title="GitLab personal access token",
        severity=Severity.CRITICAL,
        patterns=_rx(
            r"(?P<secret>glpat-" + _not_after(_ALNUM + "_-", 6) + r"[0-9A-Za-z_-]{20,64})"
            r"(?![0-9A-Za-z_-])"
        ),
        advice=_ROTATE,
        help_url="https://docs.gitlab.com/ee/user/profile/personal_access_tokens.html",
        tags=("gitlab",),
    ),
    Detector(
        id="pg.secret.slack-token",
        title="Slack token",
        severity=Severity.HIGH,
        patterns=_rx(
            r"(?P<secret>xox[abprs]-" + _not_after(_ALNUM + "-", 5) + r"\d+-"
            r"[0-9A-Za-z][0-9A-Za-z-]{8,})(?![0-9A-Za-z-])"
        ),
        advice=_ROTATE,
        help_url="https://api.slack.com/authentication/token-types",
        tags=("slack",),
    ),
    Detector(
        id="pg.secret.slack-webhook",
        title="Slack incoming webhook URL",
        severity=Severity.HIGH,
        patterns=_rx(
            r"hooks\.slack\.com/(?:services|workflows|triggers)/T[0-9A-Z]{6,12}/"
            r"(?:[0-9A-Za-z]+/){1,2}(?P<secret>[0-9A-Za-z]{20,})(?![0-9A-Za-z])"
        ),
        advice="Anyone with the URL can post to the channel. " + _ROTATE,
        help_url="https://api.slack.com/messaging/webhooks",
        tags=("slack",),
    ),
    Detector(
        id="pg.secret.stripe-live-key",
        title="Stripe live secret key",
        severity=Severity.CRITICAL,
        patterns=_rx(
            *(
                rf"(?P<secret>{prefix}_live_"
                + _not_after(_ALNUM + "_", 8)
                + r"[0-9A-Za-z]{20,247})(?![0-9A-Za-z])"
                for prefix in ("sk", "rk")  # one literal per pattern keeps the fast scan
            )
        ),
        advice="Roll the key in the Stripe dashboard. " + _ROTATE,
        help_url="https://docs.stripe.com/keys",
        tags=("stripe",),
    ),
    Detector(
        id="pg.secret.google-api-key",
        title="Google API key",
        severity=Severity.HIGH,
        patterns=_rx(
            r"(?P<secret>AIza" + _not_after(_ALNUM + "_-", 4) + r"[0-9A-Za-z_-]{35})"
            r"(?![0-9A-Za-z_-])"
        ),
        advice="Delete or restrict the key in the Google Cloud console. " + _ROTATE,
        help_url="https://cloud.google.com/docs/authentication/api-keys",
        tags=("gcp",),
    ),
    Detector(
        id="pg.secret.private-key",
        title="Private key",
        severity=Severity.CRITICAL,
        patterns=_rx(
            r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"
            r"(?P<secret>[\s\S]{1,20000}?)-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"
        ),
        advice="Treat the key as compromised: replace it and revoke what it signed or opened.",
        tags=("private-key",),
        check_placeholders=False,
        validate=_pem_body_ok,
        redact_values=_pem_redact,
    ),
    Detector(
        id="pg.secret.jwt",
        title="JSON Web Token",
        severity=Severity.MEDIUM,
        patterns=_rx(
            r"(?P<secret>eyJ" + _not_after(_ALNUM + "_-", 3) + r"[0-9A-Za-z_-]{8,}"
            r"\.[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]{16,})(?![0-9A-Za-z_-])"
        ),
        advice="A JWT may grant a live session until it expires. If it is a test token, "
        "suppress this finding; otherwise revoke the session and rotate the signing key.",
        help_url="https://datatracker.ietf.org/doc/html/rfc7519",
        tags=("jwt",),
        confidence="medium",
        check_placeholders=False,
        validate=_jwt_shaped,
    ),
    Detector(
        id="pg.secret.npm-token",
        title="npm access token",
        severity=Severity.HIGH,
        patterns=_rx(
            r"(?P<secret>npm_" + _not_after(_ALNUM + "_", 4) + r"[0-9A-Za-z]{36})(?![0-9A-Za-z])"
        ),
        advice=_ROTATE,
        help_url="https://docs.npmjs.com/about-access-tokens",
        tags=("npm",),
    ),
    Detector(
        id="pg.secret.sendgrid-api-key",
        title="SendGrid API key",
        severity=Severity.HIGH,
        patterns=_rx(
            r"(?P<secret>SG\." + _not_after(_ALNUM, 3) + r"[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43})"
            r"(?![0-9A-Za-z_-])"
        ),
        advice=_ROTATE,
        help_url="https://docs.sendgrid.com/ui/account-and-settings/api-keys",
        tags=("sendgrid",),
    ),
    Detector(
        id="pg.secret.twilio-api-key",
        title="Twilio API key",
        severity=Severity.HIGH,
        patterns=_rx(r"(?P<secret>SK" + _not_after(_ALNUM, 2) + r"[0-9a-f]{32})(?![0-9A-Za-z])"),
        advice=_ROTATE,
        help_url="https://www.twilio.com/docs/iam/api-keys",
        tags=("twilio",),
        min_entropy=3.0,
    ),
    Detector(
        id="pg.secret.twilio-auth-token",
        title="Twilio auth token",
        severity=Severity.HIGH,
        patterns=_rx(
            r"twilio[\w.-]{0,20}?(?:auth[_.-]?)?token" + _ASSIGN + r"[\"']?"
            r"(?P<secret>[0-9a-f]{32})(?![0-9a-z])"
        ),
        lowercase=True,
        advice="Rotate the auth token in the Twilio console. " + _ROTATE,
        help_url="https://www.twilio.com/docs/iam/api-keys",
        tags=("twilio",),
        min_entropy=3.0,
    ),
    Detector(
        id="pg.secret.azure-storage-key",
        title="Azure storage account key",
        severity=Severity.CRITICAL,
        patterns=_rx(r"accountkey=(?P<secret>[a-z0-9+/]{86}==)"),
        lowercase=True,
        advice="Rotate the storage account key in Azure. " + _ROTATE,
        help_url=(
            "https://learn.microsoft.com/en-us/azure/storage/common/storage-account-keys-manage"
        ),
        tags=("azure",),
    ),
    Detector(
        id="pg.secret.password-in-url",
        title="Password in a URL",
        severity=Severity.HIGH,
        patterns=_rx(
            # the scheme (2+ characters) is checked behind the literal "://"
            r"://(?<=[A-Za-z0-9+.-]{2}://)"
            r"(?P<user>[^\s:/?#@'\"<>]{0,128}):(?P<secret>[^\s:/?#@'\"<>\[\]]{6,256})"
            r"@(?:[A-Za-z0-9_.-]{1,253}|\[[0-9A-Fa-f:.]+\])"
        ),
        advice="Change the password, and pass credentials to the client separately "
        "(environment variable or secret store), not inside the URL.",
        tags=("url",),
        validate=_url_password_ok,
    ),
    Detector(
        id="pg.secret.generic-assignment",
        title="Secret-looking value assigned to a credential name",
        severity=Severity.MEDIUM,
        patterns=_rx(*_generic(_QUOTED_VALUE)),
        lowercase=True,
        advice=_IF_REAL,
        tags=("generic",),
        confidence="medium",
        generic=True,
        validate=_generic_quoted_ok,
    ),
    Detector(
        id="pg.secret.generic-config-value",
        title="Secret-looking value assigned to a credential name in a config file",
        severity=Severity.MEDIUM,
        patterns=_rx(*_generic(_UNQUOTED_VALUE), flags=re.MULTILINE),
        lowercase=True,
        advice=_IF_REAL,
        tags=("generic",),
        confidence="medium",
        generic=True,
        config_files_only=True,
        validate=_generic_unquoted_ok,
    ),
)

DETECTOR_IDS = tuple(d.id for d in DETECTORS)

_CONFIG_SUFFIXES = (
    ".env",
    ".ini",
    ".cfg",
    ".conf",
    ".properties",
    ".yaml",
    ".yml",
    ".toml",
    ".sh",
    ".bash",
    ".zsh",
)
_CONFIG_NAMES = frozenset({".env", ".npmrc", ".pypirc", "dockerfile", "containerfile"})


def is_config_file(path: str) -> bool:
    """Files whose values are unquoted literals: .env, ini, yaml, shell, Dockerfile, ..."""
    base = path.rsplit("/", 1)[-1].lower()
    return (
        base in _CONFIG_NAMES
        or base.startswith((".env.", "dockerfile."))
        or base.endswith(_CONFIG_SUFFIXES)
    )
