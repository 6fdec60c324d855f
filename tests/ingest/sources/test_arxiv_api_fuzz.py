"""The arXiv API page reader against any input: papers, rejects or a SourceError, fast."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperroute.domain import Rejected
from paperroute.ingest.sources.arxiv_api import read_arxiv_page
from paperroute.ingest.sources.errors import SourceError
from tests.ingest.sources.fuzzing import (
    FIXTURES,
    check_error,
    check_item,
    fuzz_settings,
    outcome,
    xml_pages,
)

WHERE = "https://export.arxiv.org/api/query?search_query=all:testing&start=0&max_results=10"
RECORDED = FIXTURES / "arxiv-api"
# The 10-entry pages and the small id answers (one paper, an old-style id, none, an error).
PAGES = sorted([*RECORDED.glob("q_testing_s*_m10_*.xml"), *RECORDED.glob("id_*.xml")])


def _recording(prefix: str) -> bytes:
    (path,) = RECORDED.glob(f"{prefix}_*.xml")
    return path.read_bytes()


ONE_PAPER = _recording("id_quant-ph_0201082v1")


@fuzz_settings
@given(page=xml_pages(PAGES), status=st.sampled_from((200,) * 18 + (400, 503)))
def test_any_page_reads_quickly_and_sanely(page: bytes, status: int) -> None:
    result = outcome(lambda: read_arxiv_page(page, WHERE, status))
    if isinstance(result, SourceError):
        check_error(result, WHERE)
        return
    items, total = result
    assert total >= 0
    for item in items:
        check_item(item, WHERE)


# --- inputs fuzzing found --------------------------------------------------------


@pytest.mark.parametrize("count", ["\u00b2", "1" * 5_000], ids=["superscript-two", "5000-digits"])
def test_a_result_count_int_cannot_read_is_no_count(count: str) -> None:
    page = ONE_PAPER.replace(
        b">1</opensearch:totalResults>", f">{count}</opensearch:totalResults>".encode()
    )
    with pytest.raises(SourceError, match="the feed has no result count") as caught:
        read_arxiv_page(page, WHERE)
    assert WHERE in str(caught.value)


def test_an_id_with_a_5000_digit_version_is_rejected() -> None:
    sent = "http://arxiv.org/abs/quant-ph/0201082v" + "9" * 5_000
    page = ONE_PAPER.replace(
        b"http://arxiv.org/abs/quant-ph/0201082v1</id>", f"{sent}</id>".encode()
    )
    (item,), total = read_arxiv_page(page, WHERE)
    assert total == 1
    assert item == Rejected(f"{WHERE} entry 1", f"entry id {sent[:80]!r} is not an arXiv id")


@pytest.mark.parametrize(
    "page",
    [
        ONE_PAPER.replace(b"<entry>", b"<" + b"v" * 5_000 + b">", 1),  # libxml2 quotes the name
        _recording("id_abc").replace(b"incorrect id format for abc", b"word " * 5_000),
    ],
    ids=["long-tag-name", "long-arxiv-error"],
)
def test_an_error_message_stays_readable(page: bytes) -> None:
    with pytest.raises(SourceError) as caught:
        read_arxiv_page(page, WHERE, 400)
    assert WHERE in str(caught.value) and len(str(caught.value)) < 1_000
