"""The HTML report, rendered in headless Chromium (Debian's `chromium`).

Chromium loads the file, runs its inline script (allowed by the CSP hash), and
`--dump-dom` gives the resulting DOM, which we check for the counts, the
filter's effect and the absence of anything injected. CI installs the browser
with `apt-get install -y chromium` (scripts/system-deps.sh).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_samples import HOSTILE_MESSAGE, HOSTILE_PATH, blocked_report, finding, report

from pipeline_guard.model import Category, Severity
from pipeline_guard.reporters import html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed: apt-get install -y chromium",
)


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def iter(self) -> list[Node]:
        out = [self]
        for child in self.children:
            out.extend(child.iter())
        return out

    def all_text(self) -> str:
        return self.text + "".join(c.all_text() for c in self.children)

    def find(self, tag: str, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.iter()
            if n.tag == tag and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


VOID = {"meta", "link", "br", "img", "input", "hr", "source", "area", "base", "col", "wbr"}


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Node("#text", {}, text=data))


def parse(markup: str) -> Node:
    builder = _Builder()
    builder.feed(markup)
    builder.close()
    return builder.root


def dump_dom(page: Path, fragment: str = "") -> Node:
    """Load the page in headless Chromium and parse the DOM after its scripts ran."""
    assert CHROMIUM is not None
    profile = page.parent / f"profile-{page.stem}-{len(fragment)}"
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.resolve().as_uri() + fragment,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<html" in result.stdout, result.stderr[-2000:]
    return parse(result.stdout)


def write(tmp_path: Path, text: str, name: str = "report.html") -> Path:
    page = tmp_path / name
    page.write_text(text, encoding="utf-8")
    return page


def count(dom: Node, key: str) -> str:
    (box,) = dom.find("div", data_count=key)
    (dd,) = box.find("dd")
    return dd.all_text().strip()


def visible_rows(dom: Node) -> list[Node]:
    (table,) = dom.find("table", id="findings")
    return [r for r in table.find("tr") if "data-rank" in r.attrs and "hidden" not in r.attrs]


def hostile_report():  # type: ignore[no-untyped-def]
    evil = finding(
        Severity.HIGH,
        "<b>R1</b>",
        HOSTILE_PATH,
        4,
        HOSTILE_MESSAGE,
        help_url="javascript:alert(document.domain)",
    )
    return report(
        [evil],
        notes=("note <img src=x onerror=alert(3)>",),
        reasons=("reason </li><script>alert(4)</script>",),
    )


@needs_chromium
def test_counts_charts_verdict_and_versions_in_the_dom(tmp_path: Path) -> None:
    r = report(
        reasons=("2 new finding(s) at or above high (1 critical, 1 high)",),
        notes=("OSV database PyPI updated 2025-01-01T00:00:00Z (2 days old)", "1 ignore expired"),
        versions={"semgrep": "1.185.0"},
    )
    dom = dump_dom(write(tmp_path, html.render(r)))
    assert [count(dom, k) for k in ("active", "critical", "high", "medium", "low", "info")] == [
        "3",
        "1",
        "1",
        "0",
        "1",
        "0",
    ]
    assert (count(dom, "new"), count(dom, "suppressed")) == ("2", "1")
    (verdict,) = dom.find("div", id="verdict")
    assert verdict.attrs["data-passed"] == "false" and verdict.attrs["data-exit-code"] == "1"
    assert verdict.all_text() == "Gate failed (exit code 1)"
    (reasons,) = dom.find("ul", id="reasons")
    assert reasons.all_text().strip() == "2 new finding(s) at or above high (1 critical, 1 high)"
    (chart,) = dom.find("svg", id="chart-severity")
    bars = {g.attrs["data-label"]: g.attrs["data-value"] for g in chart.find("g")}
    assert bars == {"critical": "1", "high": "1", "medium": "0", "low": "1", "info": "0"}
    (by_cat,) = dom.find("svg", id="chart-category")
    assert {g.attrs["data-label"]: g.attrs["data-value"] for g in by_cat.find("g")} == {
        "sast": "2",
        "sca": "1",
        "iac": "0",
    }
    versions = {
        row.attrs["data-scanner"]: row.find("td", **{"class": "version"})[0].all_text()
        for row in dom.find("tr")
        if "data-scanner" in row.attrs
        and not row.find("span")
        and row.find("td", **{"class": "version"})
    }
    assert versions == {"bandit": "1.0.0", "checkov": "1.0.0", "osv": "1.0.0", "semgrep": "1.185.0"}
    (db,) = dom.find("ul", id="db")
    assert db.all_text().strip() == "OSV database PyPI updated 2025-01-01T00:00:00Z (2 days old)"
    (notes,) = dom.find("ul", id="notes")
    assert notes.all_text().strip() == "1 ignore expired"


@needs_chromium
def test_filter_script_runs_and_reads_the_fragment(tmp_path: Path) -> None:
    page = write(tmp_path, html.render(blocked_report()))
    everything = dump_dom(page)
    (form,) = everything.find("form", id="filters")
    assert "hidden" not in form.attrs  # the script ran: the CSP hash matches
    assert len(visible_rows(everything)) == 4
    high = dump_dom(page, "#severity=high")
    assert [r.attrs["data-severity"] for r in visible_rows(high)] == ["critical", "high"]
    (shown,) = high.find("span", id="shown")
    assert shown.all_text() == "2"
    sca = dump_dom(page, "#category=sca&q=requests")
    assert [r.attrs["data-scanner"] for r in visible_rows(sca)] == ["osv"]
    suppressed = dump_dom(page, "#status=suppressed")
    assert [r.attrs["data-category"] for r in visible_rows(suppressed)] == [Category.IAC.value]


def test_without_javascript_every_row_shows_and_the_form_stays_hidden() -> None:
    dom = parse(html.render(blocked_report()))
    (form,) = dom.find("form", id="filters")
    assert "hidden" in form.attrs
    assert len(visible_rows(dom)) == 4


@needs_chromium
def test_hostile_values_are_text_not_markup(tmp_path: Path) -> None:
    dom = dump_dom(write(tmp_path, html.render(hostile_report())))
    assert dom.find("img") == []
    assert len(dom.find("script")) == 1  # ours only
    assert dom.find("b") == []
    assert [a.attrs.get("href") for a in dom.find("a")] == []  # javascript: is never linked
    (table,) = dom.find("table", id="findings")
    text = table.all_text()
    assert HOSTILE_MESSAGE in text and HOSTILE_PATH in text and "<b>R1</b>" in text
    (reasons,) = dom.find("ul", id="reasons")
    assert reasons.all_text().strip() == "reason </li><script>alert(4)</script>"


def test_self_contained_with_a_strict_csp() -> None:
    text = html.render(blocked_report())
    assert not re.search(r"<(link|iframe|object|embed|img)\b", text)
    assert not re.search(r"<[a-z][^>]*\ssrc\s*=", text)
    assert "@import" not in text and "url(" not in text
    # The only absolute URLs are the help links of findings (anchors) and the SVG namespace.
    urls = set(re.findall(r"https?://[^\s\"'<>]+", text))
    assert urls == {
        "http://www.w3.org/2000/svg",
        "https://bandit.readthedocs.io/en/latest/plugins/b602.html",
        "https://osv.dev/vulnerability/GHSA-9wx4-h78v-vm56",
    }
    (csp,) = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    script = re.search(r"<script>(.*)</script>", text, flags=re.S)
    assert script is not None
    assert f"script-src '{html.csp_hash(script.group(1))}'" in csp
    assert "default-src 'none'" in csp


def test_empty_report_renders() -> None:
    dom = parse(html.render(report([])))
    (table,) = dom.find("table", id="findings")
    assert "No findings." in table.all_text()
    (verdict,) = dom.find("div", id="verdict")
    assert verdict.attrs["data-passed"] == "true"
