"""The Hugging Face daily list reader against any input: papers, rejects or a SourceError."""

from __future__ import annotations

import datetime as dt

import orjson
from hypothesis import given

from paperroute.domain import Paper, Rejected
from paperroute.ingest.sources.errors import SourceError
from paperroute.ingest.sources.hf_daily import read_hf_daily
from tests.ingest.sources.fuzzing import (
    FIXTURES,
    check_error,
    check_item,
    fuzz_settings,
    json_pages,
    outcome,
)

WHERE = "https://huggingface.co/api/daily_papers?date=2025-03-18"
DAY = dt.date(2025, 3, 18)
DAYS = [path.read_bytes() for path in sorted((FIXTURES / "hf-daily").glob("*.json"))]
FIELDS = ["paper", "id", "title", "summary", "authors", "name", "hidden", "publishedAt",
          "upvotes", "githubRepo", "githubStars", "projectPage", "ai_summary", "numComments"]  # fmt: skip
DEEP = b"[" * 1_000 + b"]" * 1_000  # as deep as orjson reads


@fuzz_settings
@given(page=json_pages(DAYS, FIELDS))
def test_any_page_reads_quickly_and_sanely(page: bytes) -> None:
    result = outcome(lambda: list(read_hf_daily(page, WHERE, DAY)))
    if isinstance(result, SourceError):
        check_error(result, WHERE)
        return
    for item in result:
        check_item(item, WHERE)
        assert not isinstance(item, Paper) or item.announced == DAY


# --- inputs fuzzing found --------------------------------------------------------


def _page(**fields: object) -> bytes:
    paper = {"id": "2503.11731", "title": "A title", **fields}
    text = orjson.dumps([{"paper": paper}])
    return text.replace(b'"DEEP"', DEEP)


def test_a_deeply_nested_date_is_rejected() -> None:
    items = list(read_hf_daily(_page(publishedAt="DEEP"), WHERE, DAY))
    assert items == [Rejected(f"{WHERE} item 1", "date of type list is not a string")]


def test_a_deeply_nested_link_is_no_link() -> None:
    (paper,) = read_hf_daily(_page(githubRepo="DEEP", projectPage="DEEP"), WHERE, DAY)
    assert isinstance(paper, Paper)
    assert (paper.code_url, paper.project_url) == (None, None)


def test_a_deeply_nested_id_is_rejected() -> None:
    items = list(read_hf_daily(_page(id=["x"]).replace(b'["x"]', DEEP), WHERE, DAY))
    assert items == [Rejected(f"{WHERE} item 1", "no paper.id (the arXiv id)")]
