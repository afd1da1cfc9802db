"""Make scanner- and repo-controlled text inert in Markdown (and HTML) output.

Finding messages, rule ids and file names come from tools and from the scanned
repository, i.e. possibly from an attacker (a pull request can name a file
`<img src=x onerror=alert(1)>.py`). Everything such goes through `md` (inline
text) or `code` (inline code span) before it reaches a Markdown template; both
return text that renders as exactly the characters given, on GitHub's
Markdown (GFM) as on plain CommonMark:

- HTML cannot be injected (`<`, `>`, `&` become entities);
- no Markdown construct can start (every ASCII punctuation character that has a
  meaning in Markdown is backslash-escaped), so no links, images, emphasis,
  headings or table cells break out;
- line breaks become `<br>` (our markup, not theirs) so a table row stays one
  row;
- `@user`, `@org/team`, `#123` and `GH-123` do not notify anyone or link an
  issue (a zero-width space is inserted: GitHub links these after rendering,
  so a backslash escape alone would not stop them);
- control characters and bidirectional overrides (the "trojan source" trick)
  are shown as `[U+XXXX]` instead of reordering what the reader sees.

`FILTERS` registers them in any jinja2 Environment (PR comment, job summary).
`redact_report` is the last line of defence against raw secret values.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Sequence
from typing import Any, Final
from urllib.parse import quote, urlsplit

from pipeline_guard.model import ScanReport
from pipeline_guard.secrets.redact import scrub

#: Markdown punctuation that can start or end a construct (`$` is GitHub's math).
#: `<`, `>` and `&` become HTML entities instead: a backslash does not stop HTML
#: in every renderer.
_MD_PUNCTUATION: Final = frozenset("\\`*_{}[]()#+-.!|~$")
_ENTITIES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ZWSP: Final = "&#8203;"  # an entity, so the neutraliser is visible in the Markdown source

_NEWLINES = re.compile(r"\r\n|[\r\n\v\f\u0085\u2028\u2029]")
# C0/C1 controls (tab and newline are handled separately) and bidi embeddings/isolates.
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")
# After escaping, `@name` -> insert ZWSP after `@`; `#12` is `\#12`; `GH-12` is `GH\-12`.
_MENTION = re.compile(r"@(?=[A-Za-z0-9_])")
_ISSUE_REF = re.compile(r"(\\#)(?=[0-9])")
_GH_REF = re.compile(r"(?i)(\bGH)(?=\\-[0-9])")

#: Shorter "secrets" would shred ordinary words; real credentials are longer.
MIN_SECRET_LENGTH: Final = 4


def _show_invisible(text: str) -> str:
    return _INVISIBLE.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def md(value: object) -> str:
    """Escape any value for use as inline Markdown text (also inside table cells)."""
    text = _show_invisible(_NEWLINES.sub("\n", str(value)).strip())
    out: list[str] = []
    for ch in text:
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _MD_PUNCTUATION:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("<br>")
        elif ch == "\t":
            out.append(" ")
        else:
            out.append(ch)
    escaped = "".join(out)
    escaped = _MENTION.sub("@" + _ZWSP, escaped)
    escaped = _ISSUE_REF.sub(r"\1" + _ZWSP, escaped)
    return _GH_REF.sub(r"\1" + _ZWSP, escaped)


def code(value: object, cell: bool = False) -> str:
    """Render any value as one inline code span, whatever backticks it contains.

    Code spans show their content literally (no HTML, no entities, no mentions),
    so only the fence needs care: it is one backtick longer than the longest run
    inside. With `cell=True` a `|` is escaped, which GFM tables require even
    inside code spans (outside a table the backslash would show).
    """
    text = _show_invisible(_NEWLINES.sub(" ", str(value)).replace("\t", " "))
    if not text.strip():
        return ""
    if cell:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each end when both ends have one: pad so
    # an edge backtick does not merge with the fence and edge spaces survive.
    pad = " " if text[0] in "` " or text[-1] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_link(text: object, url: str | None) -> str:
    """A Markdown link when `url` is http(s), else just the escaped text.

    Only http and https are linked: `javascript:`, `data:` and relative URLs
    from a scanner are shown as text, never made clickable.
    """
    label = md(text)
    if not url or not is_web_url(url):
        return label
    # Encode everything that could end the destination or confuse the parser.
    safe_url = quote(url, safe=":/?#[]@!$&'*+,;=%~-._")
    safe_url = safe_url.replace("(", "%28").replace(")", "%29")
    return f"[{label}]({safe_url})"


def is_web_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


#: Filters for a jinja2 Environment: `{{ finding.message | md }}`, `{{ path | code }}`.
FILTERS: Final[dict[str, Callable[..., str]]] = {"md": md, "code": code, "md_link": md_link}


def report_secrets(report: ScanReport) -> list[str]:
    """The raw secret values scanners asked to keep out of every output."""
    values = {s for run in report.runs for s in run.redact if len(s) >= MIN_SECRET_LENGTH}
    return sorted(values, key=lambda s: (-len(s), s))


def redact_report(report: ScanReport) -> ScanReport:
    """The report with every known raw secret value replaced in all its text.

    The core redacts findings before reporters see them; this is a second line
    of defence for anything that slipped through (a tool's stderr in an error,
    a note). Returns the same object when there is nothing to redact.
    """
    secrets = report_secrets(report)
    if not secrets:
        return report
    result: ScanReport = _scrub_value(report, secrets)
    return result


def _scrub_value(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, enum.Enum):  # before str: StrEnum values are str
        return value
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, tuple):
        return tuple(_scrub_value(v, secrets) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _scrub_value(getattr(value, f.name), secrets)
            for f in dataclasses.fields(value)
            if f.name != "redact"  # the list of secrets itself is never rendered
        }
        return dataclasses.replace(value, **changes)
    return value
