"""Markdown summary: content and order, and hostile text rendered inert.

Injection tests render the Markdown with markdown-it-py (a CommonMark parser
with GFM tables, installed with rich) and check the resulting HTML.
"""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from pipeline_guard.model import (
    Category,
    Finding,
    Location,
    Package,
    ScannerError,
    ScannerRun,
    ScanReport,
    Severity,
    Source,
    Suppression,
    Verdict,
)
from pipeline_guard.reporters import markdown
from pipeline_guard.reporters.escape import code, md, md_link

PARSER = MarkdownIt("commonmark").enable("table")
ZWSP = "\u200b"


def finding(**kw: object) -> Finding:
    base: dict[str, object] = {
        "scanner": "bandit",
        "category": Category.SAST,
        "rule_id": "B602",
        "title": "subprocess call with shell=True",
        "message": "subprocess call with shell=True identified, security issue.",
        "severity": Severity.HIGH,
        "location": Location("src/app.py", 12),
        "fingerprint": "1" * 64,
    }
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


SHELL = finding(
    sources=(Source("bandit", "B602", 12), Source("semgrep", "subprocess-shell-true", 12)),
    baseline_state="new",
)
FLASK = finding(
    scanner="osv",
    category=Category.SCA,
    rule_id="GHSA-m2qf-hxjv-5gpq",
    title="Flask session cookie disclosure",
    severity=Severity.CRITICAL,
    location=Location("requirements.txt", 4),
    package=Package("PyPI", "flask", "2.0.1", ("2.2.5", "2.3.2")),
    fingerprint="2" * 64,
    baseline_state="unchanged",
)
YAML = finding(
    scanner="osv",
    category=Category.SCA,
    rule_id="PYSEC-2021-142",
    title="PyYAML arbitrary code execution",
    severity=Severity.MEDIUM,
    location=Location("requirements.txt"),
    package=Package("PyPI", "pyyaml", "5.3"),
    fingerprint="3" * 64,
    baseline_state="unchanged",
)
ACCEPTED = finding(
    rule_id="B101",
    title="assert_used",
    severity=Severity.LOW,
    fingerprint="4" * 64,
    suppression=Suppression("inSource", "tests only", "src/app.py:30"),
)


def make_report(findings: tuple[Finding, ...] = (YAML, ACCEPTED, SHELL, FLASK)) -> ScanReport:
    runs = (
        ScannerRun("osv", Category.SCA, "0.1.0", findings=(FLASK, YAML), duration=0.25, targets=1),
        ScannerRun(
            "bandit",
            Category.SAST,
            "1.9.4",
            findings=(SHELL, ACCEPTED),
            duration=0.8,
            targets=5,
            notes=("src/broken.py: syntax error, not scanned",),
        ),
        ScannerRun(
            "checkov",
            Category.IAC,
            None,
            errors=(ScannerError("checkov", "timeout", "checkov did not finish within 600s"),),
        ),
    )
    return ScanReport(
        root="/work/repo",
        stage="pr",
        findings=findings,
        runs=runs,
        verdict=Verdict("pr", False, 3, ("1 new finding at high or above", "checkov failed")),
        started_at="2025-05-01T10:00:00Z",
        duration=2.0,
        tool_version="0.1.0",
        notes=("vulnerability database is 9 days old",),
    )


class _Tags(HTMLParser):
    """Collects the tags and attributes of rendered HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def html_tags(text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(PARSER.render(text))
    return parser.tags


def table_rows(html: str, header: str) -> list[list[str]]:
    """Cells of each body row of the table whose first header cell is `header`."""
    tables = re.findall(r"<table>(.*?)</table>", html, re.S)
    [table] = [t for t in tables if re.match(rf"\s*<thead>\s*<tr>\s*<th[^>]*>{header}</th>", t)]
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S)
    assert body is not None
    return [
        re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


def test_verdict_comes_first_with_reasons() -> None:
    text = markdown.render(make_report())
    lines = text.splitlines()
    assert lines[0] == "## pipeline-guard: FAILED"
    assert "Stage `pr` · 3 active findings (1 new) · 1 suppressed · exit code 3" in lines
    assert text.index("- 1 new finding at high or above") < text.index("### Findings by category")
    assert "- checkov failed" in lines
    passed = dataclasses.replace(make_report(), verdict=Verdict("pr", True, 0))
    assert markdown.render(passed).startswith("## pipeline-guard: PASSED\n")


def test_counts_table_by_category_and_severity() -> None:
    html = PARSER.render(markdown.render(make_report()))
    rows = table_rows(html, "category")
    assert rows == [
        ["sast", "0", "1", "0", "0", "0", "1"],
        ["sca", "1", "0", "1", "0", "0", "2"],
        ["iac", "0", "0", "0", "0", "0", "0"],
        ["<strong>total</strong>", "1", "1", "1", "0", "0", "3"],
    ]


def test_findings_most_severe_first_with_fix_and_sources() -> None:
    html = PARSER.render(markdown.render(make_report()))
    rows = table_rows(html, "severity")
    assert [r[1] for r in rows] == [
        "<code>GHSA-m2qf-hxjv-5gpq</code>",
        "<code>B602</code>",
        "<code>PYSEC-2021-142</code>",
    ]
    flask, shell, yaml = rows
    assert flask[0] == "<strong>critical</strong> (unchanged)"
    assert flask[3] == "<code>requirements.txt:4</code>"
    assert flask[4] == "flask 2.0.1 → 2.2.5, 2.3.2"
    assert shell[0] == "<strong>high</strong> (new)"
    assert shell[5] == "bandit, semgrep"
    assert yaml[3] == "<code>requirements.txt</code>"  # no line from the tool
    assert yaml[4] == "pyyaml 5.3 → no fix released"


def test_suppressed_errors_notes_and_scanner_versions() -> None:
    text = markdown.render(make_report())
    assert "1 suppressed finding is not listed" in text
    assert "B101" not in text  # the suppressed finding itself is not listed
    assert "- **checkov** (timeout): checkov did not finish within 600s" in text
    assert "- vulnerability database is 9 days old" in text
    assert "- bandit: src/broken\\.py: syntax error, not scanned" in text
    rows = table_rows(PARSER.render(text), "scanner")
    assert [(r[0], r[2], r[6]) for r in rows] == [
        ("bandit", "1.9.4", "ok"),
        ("checkov", "unknown", "failed"),
        ("osv", "0.1.0", "ok"),
    ]


def test_long_lists_are_cut_with_a_count() -> None:
    many = tuple(
        finding(location=Location(f"src/m{i}.py", 1), fingerprint=f"{i:064x}") for i in range(5)
    )
    text = markdown.render(make_report(many), max_findings=3)
    rows = table_rows(PARSER.render(text), "severity")
    assert len(rows) == 3
    assert "… and 2 more findings, not listed here: see the JSON or SARIF report." in text


def test_no_findings_and_no_scanners() -> None:
    empty = dataclasses.replace(make_report(()), runs=(), verdict=Verdict("pr", True, 0), notes=())
    text = markdown.render(empty)
    assert "No active findings." in text
    assert "### Findings by category" not in text
    assert "| (no scanner ran) |" in text


HOSTILE_TITLE = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) a|b @org/team fixes #123"
HOSTILE_PATH = "src/](javascript:alert(1))|x``y`.py"


def test_injection_through_message_title_and_file_name_renders_inert() -> None:
    evil = finding(
        rule_id="rule`with``backticks",
        title=HOSTILE_TITLE,
        message=HOSTILE_TITLE,
        location=Location(HOSTILE_PATH, 7),
        sources=(Source("bandit", "B602", 7), Source("@evil/team", "x", 7)),
    )
    rep = dataclasses.replace(
        make_report((evil,)),
        verdict=Verdict("pr", False, 1, (f"blocked: {HOSTILE_TITLE}\n## fake heading",)),
        notes=("<script>alert(1)</script>",),
    )
    text = markdown.render(rep)
    tags = html_tags(text)
    names = {t for t, _ in tags}
    assert "img" not in names and "script" not in names and "a" not in names
    assert [t for t, _ in tags if t == "h2"] == ["h2"]  # only our own heading
    assert all("javascript" not in (v or "") for _, attrs in tags for v in attrs.values())
    html = PARSER.render(text)
    [row] = table_rows(html, "severity")
    assert len(row) == 6  # '|' in the title and path did not add cells
    assert row[1] == "<code>rule`with``backticks</code>"
    assert row[2] == (
        "&lt;img src=x onerror=alert(1)&gt; [click](javascript:alert(1)) a|b "
        f"@{ZWSP}org/team fixes #{ZWSP}123"
    )
    assert row[3] == "<code>src/](javascript:alert(1))|x``y`.py:7</code>"
    assert row[5] == f"bandit, @{ZWSP}evil/team"
    # the reason's line break stayed inside its list item; no heading was created
    assert "blocked: &lt;img src=x onerror=alert(1)&gt;" in html
    assert "<br>## fake heading" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_md_escapes_every_markdown_and_html_construct() -> None:
    assert md("<b>&amp;</b>") == "&lt;b&gt;&amp;amp;&lt;/b&gt;"
    assert md("*a* _b_ [c](d) `e` # f | g ~h~ $x$ !i") == (
        "\\*a\\* \\_b\\_ \\[c\\]\\(d\\) \\`e\\` \\# f \\| g \\~h\\~ \\$x\\$ \\!i"
    )
    assert md("one\ntwo\r\nthree") == "one<br>two<br>three"
    assert md("@alice and @org/team") == "@&#8203;alice and @&#8203;org/team"
    assert md("#12 and GH-34") == "\\#&#8203;12 and GH&#8203;\\-34"
    assert md("safe\u202eevil\x1b[31m") == "safe\\[U\\+202E\\]evil\\[U\\+001B\\]\\[31m"
    assert PARSER.renderInline(md(HOSTILE_TITLE)).count("<") == 0


def test_code_spans_hold_any_backtick_run() -> None:
    assert code("plain") == "`plain`"
    assert code("a`b") == "``a`b``"
    assert code("``x```") == "```` ``x``` ````"
    assert code("a|b") == "`a|b`"
    assert code("a|b", cell=True) == "`a\\|b`"
    assert code("") == ""
    for value in ["`", "``x", "x``", " padded ", "<img src=x>", "a\nb"]:
        rendered = PARSER.renderInline(code(value))
        inner = rendered.removeprefix("<code>").removesuffix("</code>")
        expected = value.replace("\n", " ").replace("&", "&amp;").replace("<", "&lt;")
        assert inner == expected.replace(">", "&gt;"), value


def test_links_only_for_web_urls() -> None:
    assert (
        md_link("docs", "https://example.com/a b(c)") == "[docs](https://example.com/a%20b%28c%29)"
    )
    assert md_link("docs", "javascript:alert(1)") == "docs"
    assert md_link("docs", "/relative") == "docs"
    assert md_link("x]y", None) == "x\\]y"
