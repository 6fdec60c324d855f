"""TeX in titles and abstracts shown as math and text; links in comments are links."""

from __future__ import annotations

import datetime as dt

from lxml import html as lxml_html

from paperroute.store.papers import upsert_papers
from paperroute.web.rich_text import linkify, tex_html, tex_text
from tests.web.conftest import NOW, Site, make_paper


def test_math_becomes_mathml_and_text_commands_text() -> None:
    out = str(tex_html(r"$D^3$-RSMDE: 40$\times$ Faster, 70-80\% fewer \emph{labels} \& more"))
    assert out.count("<math") == 2 and "<msup><mi>D</mi><mn>3</mn></msup>" in out
    assert "\u00d7" in out and "$" not in out and "\\" not in out
    assert "70-80% fewer <em>labels</em> &amp; more" in out
    assert str(tex_html(r"A\allowbreak B over $\mathcal{A}$")).startswith("AB over <math")


def test_plain_text_is_only_escaped() -> None:
    assert str(tex_html("a < b & <script>")) == "a &lt; b &amp; &lt;script&gt;"


def test_hostile_tex_cannot_link_or_script() -> None:
    out = str(tex_html(r"$\href{javascript:alert(1)}{x}$ and $<script>alert(1)</script>$"))
    assert "href" not in out and "javascript" not in out and "<script" not in out
    tree = lxml_html.fragment_fromstring(out, create_parent="div")
    assert {el.tag for el in tree.iter()} <= {"div", "math", "mrow", "mi", "mo", "mn"}


def test_tex_that_cannot_be_read_is_shown_as_written() -> None:
    assert "$" in str(tex_html("costs $5"))  # one dollar: no math
    assert tex_text(r"$D^3$: 40\% \emph{faster}") == "$D^3$: 40% faster"


def test_comment_links_are_links_and_nothing_else() -> None:
    out = str(linkify("Code: https://github.com/a/b. Page: http://x.org/p?a=1&b=2, <b>"))
    assert '<a href="https://github.com/a/b" rel="nofollow noopener">' in out
    assert 'href="http://x.org/p?a=1&amp;b=2"' in out and "&lt;b&gt;" in out
    assert "<a" not in str(linkify("javascript:alert(1)"))


def test_pages_render_tex_titles_abstracts_and_comment_links(site: Site) -> None:
    paper = make_paper(
        9, "2026-03-20", ["cs.CV"], title=r"$D^3$-RSMDE: 40$\times$ Faster",
        abstract=r"We map $\mathcal{A}$ with 70-80\% less.", comment="Code: https://github.com/d/d3",
    )  # fmt: skip
    with site.engine.begin() as conn:
        upsert_papers(conn, [paper], NOW - dt.timedelta(hours=1))
    page = site.client.get("/papers/2503.00009").text
    tree = lxml_html.fromstring(page)
    assert tree.findtext(".//title").startswith("$D^3$-RSMDE: 40$\\times$ Faster")
    heading = tree.find(".//h1")
    assert heading is not None and len(heading.findall(".//math")) == 2
    assert "70-80% less" in page and "\\%" not in page
    assert tree.xpath('//dd/a[@href="https://github.com/d/d3"]')
    listing = site.client.get("/").text
    assert "<msup><mi>D</mi><mn>3</mn></msup>" in listing
