"""Ingest strips HTML with a parser: no tag an HTML reader would run reaches the store.

The old pattern let `<svg/onload=...>` through (no space before the
attribute) and turned `<scr<script>ipt>` into `<script>` by cutting the inner tag.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from paperroute.domain import Paper
from paperroute.ingest.markup import strip_tags
from paperroute.ingest.normalize import build_paper, clean_text
from paperroute.ingest.pipeline import run_ingest
from paperroute.store import papers as paper_store

HOSTILE = [
    "<svg/onload=alert(1)>Title",
    "<scr<script>ipt>alert(1)</script>Title",
    "<<script>script>alert(1)</script>Title",
    "<img/src=x onerror=alert(1)>Title",
    "<iframe/src=javascript:alert(1)>Title",
    "<details open ontoggle=alert(1)>Title",
    "<x onclick=alert(1)>Title",
    "&lt;svg/onload=alert(1)&gt;Title",  # escaped once in the source: a tag when decoded
    "<scr\u200bipt>alert(1)</script>Title",  # an invisible character dropped later
    "\\emph{<}script>alert(1)\\emph{<}/script>Title",  # a tag only once the LaTeX command is read
    "<sc<!-- -->ript>alert(1)Title",
    "<svg><script>alert(1)</script></svg>Title",
    "Title <img src=x onerror=alert(1) ",  # no `>`: live once a page goes on with markup
]


_LIVE = ("<script", "<svg", "<img", "<iframe", "<details", "<x ", "<!--", "onload=",
         "onerror=", "ontoggle=", "onclick=")  # fmt: skip


def _looks_like_markup(text: str) -> bool:
    """Whether an HTML reader would find an element or a handler here."""
    lowered = text.lower()
    return any(live in lowered for live in _LIVE)


@pytest.mark.parametrize("title", HOSTILE)
def test_hostile_markup_leaves_no_tag(title: str) -> None:
    cleaned = build_paper(source="t", title=title).title
    assert not _looks_like_markup(cleaned), cleaned
    assert "Title" in cleaned


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a < b and c > d", "a < b and c > d"),
        ("for all x<y we have", "for all x<y we have"),
        ("if x<y and y>z then x<z", "if x<y and y>z then x<z"),
        ("$x<y$ and $y>z$", "$x<y$ and $y>z$"),
        (r"$\{x \mid x<y\}$ and $|x|<|y|$", r"$\{x \mid x<y\}$ and $|x|<|y|$"),
        ("p<0.05 at n<=100, f: A -> B, g<-h", "p<0.05 at n<=100, f: A -> B, g<-h"),
        (r"$\langle a, b \rangle$ is $O(n^2)$", r"$\langle a, b \rangle$ is $O(n^2)$"),
        ("AT&amp;T &lt; 5 &amp;amp;", "AT&T < 5 &amp;"),
        ("H<sub>2</sub>O and <i>in situ</i>", "H2O and in situ"),
        ("one<br>two<p>three</p>", "one two three"),
        (r"Schr\"{o}dinger <b>bound</b> $\psi<1$", "Schrödinger bound $\\psi<1$"),
    ],
)
def test_benign_text_and_mathematics_are_kept(text: str, expected: str) -> None:
    assert clean_text(text) == expected


def test_script_and_style_content_is_not_text() -> None:
    assert clean_text("<script>alert(1)</script>A <style>p{}</style>B") == "A B"


def test_stored_papers_are_clean(engine: Engine) -> None:
    """Through the pipeline into the database: what a page or feed later reads is clean."""
    papers: list[Paper] = [
        build_paper(
            source="t",
            arxiv_id=f"2501.{number:05d}",
            title=title,
            abstract=f"We show a < b. {title}",
            announced="2025-01-15",
        )
        for number, title in enumerate(HOSTILE, start=1)
    ]
    run_ingest(engine, "test", "hostile", papers)
    with engine.connect() as conn:
        stored = paper_store.list_papers(conn, limit=100).papers
    assert len(stored) == len(HOSTILE)
    for paper in stored:
        assert not _looks_like_markup(paper.title), paper.title
        assert not _looks_like_markup(paper.abstract), paper.abstract
        assert paper.abstract.startswith("We show a < b.")


def test_mathematics_and_token_names_are_not_cut() -> None:
    """Real abstracts of the shared corpus that an earlier stripper cut short or emptied."""
    cut = (
        "multiset codes in the regime $t<q$ with redundancy $t+O(1)$, independent of the "
        "blocklength $n=5$. Second, we develop"
    )
    assert strip_tags(cut) == cut
    for text in (
        "strict ordering $CNN<ViT<Hybrid<Capsule$. Controlled experiments",
        "a chain-of-thought block (<think>) followed by </think> at sentence boundaries",
        "an activity-level <ACT> token and cluster-specific <GROUP> tokens",
        "previous answer is: <answer> {last round answer} </answer>, and please re-answer",
    ):
        assert strip_tags(text) == text
    # Still removed: elements, and any tag that would act (even with a name of its own).
    assert strip_tags("$<script>alert(1)</script>$") == "$$"
    assert "onclick" not in strip_tags("<think onclick=alert(1)>hi</think>")


def test_a_link_keeps_its_web_address_as_text() -> None:
    text = (
        'Code: <a href="https://github.com/a/b">this https URL</a>; <a href="javascript:x()">no</a>'
    )
    assert strip_tags(text) == "Code: this https URL (https://github.com/a/b); no"
