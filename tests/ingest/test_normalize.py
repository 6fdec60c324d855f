"""Normalising records: ids, text cleaning, validation with clear reasons."""

from __future__ import annotations

import datetime as dt

import pytest

from paperroute.domain import Version
from paperroute.ingest.normalize import RecordError, build_paper, clean_text, parse_arxiv_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2503.11731", ("2503.11731", None)),
        ("2503.11731v3", ("2503.11731", 3)),
        ("arXiv:2503.11731v2", ("2503.11731", 2)),
        ("https://arxiv.org/abs/2503.11731v2", ("2503.11731", 2)),
        ("https://arxiv.org/pdf/2503.11731.pdf", ("2503.11731", None)),
        ("http://arxiv.org/abs/quant-ph/0201082v1", ("quant-ph/0201082", 1)),
        ("quant-ph/0201082", ("quant-ph/0201082", None)),
        ("math.GT/0309136", ("math.GT/0309136", None)),
        ("0704.0001", ("0704.0001", None)),
        ("abc", None),
        ("", None),
        ("12345", None),
    ],
)
def test_parse_arxiv_id(text: str, expected: tuple[str, int | None] | None) -> None:
    assert parse_arxiv_id(text) == expected


def test_clean_text_handles_html_latex_and_whitespace() -> None:
    assert clean_text("Deep\n  Learning <i>for</i> &amp; all") == "Deep Learning for & all"
    assert clean_text(r"Schr\"{o}dinger and Poincar\'e") == "Schrödinger and Poincaré"
    assert clean_text(r"\emph{Fast} $k$-means at 55.8\% cost") == "Fast $k$-means at 55.8\\% cost"
    assert clean_text("zero\u200bwidth\x00 and bidi\u202e") == "zerowidth and bidi"


def test_script_tags_are_stripped_not_executed() -> None:
    paper = build_paper(source="t", title="<script>alert(1)</script>Title", abstract="x")
    assert "<script>" not in paper.title


def test_build_paper_dedupes_authors_and_keeps_order() -> None:
    paper = build_paper(
        source="t",
        title="T",
        authors=["B", "A", "B"],
        categories=["cs.LG", "cs.LG", "not a category!"],
    )
    assert paper.authors == ("B", "A")
    assert paper.categories == ("cs.LG",)


def test_id_version_becomes_history() -> None:
    paper = build_paper(
        source="t", title="T", arxiv_id="2503.11731v2", versions=[Version(1, dt.date(2025, 3, 1))]
    )
    assert paper.versions == (Version(1, dt.date(2025, 3, 1)), Version(2, None))
    assert paper.latest_version == 2


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"title": ""}, "empty title"),
        ({"title": None}, "missing title"),
        ({"title": "x" * 1001}, "title is 1,001 characters"),
        ({"abstract": "y" * 20_001}, "abstract is 20,001 characters"),
        ({"arxiv_id": "not-an-id"}, "is not an arXiv id"),
        ({"announced": "March 18"}, "not an ISO date"),
        ({"authors": ["z" * 400]}, "author name is 400 characters"),
    ],
)
def test_bad_records_name_the_problem(fields: dict[str, object], reason: str) -> None:
    values: dict[str, object] = {"source": "t", "title": "T"} | fields
    with pytest.raises(RecordError, match=reason):
        build_paper(**values)  # type: ignore[arg-type]


def test_only_web_links_are_kept() -> None:
    paper = build_paper(
        source="t", title="T", code_url="javascript:alert(1)", project_url="https://x.org/p"
    )
    assert paper.code_url is None
    assert paper.project_url == "https://x.org/p"


def test_empty_abstract_is_allowed() -> None:
    assert build_paper(source="t", title="T", abstract="").abstract == ""


def test_code_and_project_links_are_found_in_the_comment() -> None:
    paper = build_paper(
        source="t",
        title="T",
        comment="Project page: https://gen-searcher.vercel.app Code: https://github.com/tulerfeng/Gen-Searcher.",
    )
    assert paper.code_url == "https://github.com/tulerfeng/Gen-Searcher"
    assert paper.project_url == "https://gen-searcher.vercel.app"


def test_links_in_the_abstract_count_too_and_given_links_win() -> None:
    abstract = "Code is available at https://github.com/a/b; see our demo at https://a.io/x."
    found = build_paper(source="t", title="T", abstract=abstract)
    assert (found.code_url, found.project_url) == ("https://github.com/a/b", "https://a.io/x")
    given = build_paper(source="t", title="T", abstract=abstract, code_url="https://gitlab.com/c/d")
    assert given.code_url == "https://gitlab.com/c/d"
    assert (
        build_paper(source="t", title="T", abstract="See https://example.org/paper.").project_url
        is None
    )


def test_implausible_ids_and_categories_are_refused_before_the_database() -> None:
    assert parse_arxiv_id("notanarchive/0201082") is None
    assert parse_arxiv_id("quant-ph.ABCDEFGHIJ/0201082") is None
    assert parse_arxiv_id("math.GT/0309136") == ("math.GT/0309136", None)
    paper = build_paper(source="t", title="T", categories=["cs." + "X" * 80, "cs.LG"])
    assert paper.categories == ("cs.LG",)


def test_hugging_face_notes_are_kept_clean_or_left_out_never_rejecting_the_paper() -> None:
    kept = build_paper(
        source="hf-daily", title="T", arxiv_id="2503.11731",
        ai_summary="  A &amp; B  ", ai_keywords=["LiDAR", " LiDAR ", 3, "", "NeRF"],
        organization={"_id": "5e6a", "name": "nvidia", "fullname": "NVIDIA",
                      "avatar": "https://example.org/a.png"},
    )  # fmt: skip
    assert kept.ai_summary == "A & B" and kept.ai_keywords == ("LiDAR", "NeRF")
    assert kept.organization is not None and kept.organization.fullname == "NVIDIA"
    assert kept.organization.avatar == "https://example.org/a.png"
    odd = build_paper(
        source="hf-daily", title="T", arxiv_id="2503.11731",
        ai_summary="x" * 6000, ai_keywords="LiDAR",
        organization={"name": "o", "avatar": "javascript:alert(1)", "fullname": ["x"]},
    )  # fmt: skip
    assert odd.ai_summary is None and odd.ai_keywords == ()
    assert odd.organization is not None and odd.organization.name == "o"
    assert odd.organization.avatar is None and odd.organization.fullname is None
    for nameless in ({"fullname": "No name"}, {"name": 5}, "nvidia", None):
        assert build_paper(source="t", title="T", organization=nameless).organization is None
