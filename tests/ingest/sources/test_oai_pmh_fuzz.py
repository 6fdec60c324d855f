"""OAI-PMH pages, author strings and watermarks against any input: sane answers, fast."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperroute.domain import Rejected
from paperroute.ingest.sources.errors import SourceError
from paperroute.ingest.sources.oai_pmh import (
    OaiWatermark,
    decode_oai_watermark,
    read_oai_page,
    split_authors,
)
from tests.ingest.sources.fuzzing import (
    FIXTURES,
    check_error,
    check_item,
    fuzz_settings,
    mutated_text,
    outcome,
    tricky_text,
    xml_pages,
)

WHERE = "https://oaipmh.arxiv.org/oai?verb=ListRecords&resumptionToken=7311982%7C1001"
LISTS = sorted((FIXTURES / "oai-pmh").glob("listrecords_*.xml"))
PAGES = [*LISTS, *LISTS, *sorted((FIXTURES / "oai-pmh").glob("error_*.xml"))]  # mostly records
PAGE_1 = (FIXTURES / "oai-pmh" / "listrecords_arxivraw_page1.xml").read_bytes()


@fuzz_settings
@given(page=xml_pages(PAGES), status=st.sampled_from((200,) * 18 + (400, 503)))
def test_any_page_reads_quickly_and_sanely(page: bytes, status: int) -> None:
    result = outcome(lambda: read_oai_page(page, WHERE, status))
    if isinstance(result, SourceError):
        check_error(result, WHERE)
        return
    assert result.token is None or (result.token and result.token == result.token.strip())
    for item in result.items:
        check_item(item, WHERE)


AUTHOR_PIECES = ["Jr", "jr.", "III", "(1) MIT", "(2", "and", " and  ", ",,", "\\'e", "{", "}"]


@fuzz_settings
@given(text=tricky_text(AUTHOR_PIECES, max_size=24))
def test_any_author_string_splits_quickly_and_sanely(text: str) -> None:
    names = outcome(lambda: split_authors(text))
    assert not isinstance(names, SourceError)
    for name in names:
        assert name and name == name.strip() and "," not in name


WATERMARKS = [
    OaiWatermark("7311982|1001", dt.date(2025, 3, 18), dt.date(2025, 3, 20)).encode(),
    OaiWatermark(None, None, dt.date(2025, 3, 20)).encode(),
    OaiWatermark().encode(),
]
JSON_VALUE = re.compile(r'(?<=:)("[^"]*"|null)')


@fuzz_settings
@given(
    watermark=st.one_of(
        mutated_text(
            WATERMARKS, tricky_text(['"', "null", "[", "{", "1", "[" * 5_000]), JSON_VALUE
        ),
        tricky_text(max_size=40),
    )
)
def test_any_watermark_decodes_or_is_refused(watermark: str) -> None:
    result = outcome(lambda: decode_oai_watermark(watermark))
    if isinstance(result, SourceError):
        assert "is not an OAI-PMH harvest position" in str(result)
        return
    assert decode_oai_watermark(result.encode()) == result


# --- inputs fuzzing found --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["(" * 50_000 + ")" * 50_000, "(a" * 50_000, "a)" * 50_000, "(x) " * 50_000],
    ids=["nested", "unclosed", "unopened", "many"],
)
def test_deeply_nested_affiliations_split_fast(text: str) -> None:
    started = time.process_time()  # CPU time: a busy machine does not make it fail
    split_authors(text)
    assert time.process_time() - started < 2.0  # the quadratic split took 17 s


def test_nested_affiliations_go_innermost_first() -> None:
    assert split_authors("A. Smith ((1) MIT (2) CMU), B. Jones (x (y), C. Lee") == [
        "A. Smith",
        "B. Jones (x",
        "C. Lee",
    ]


def test_a_deeply_nested_watermark_is_refused() -> None:
    with pytest.raises(SourceError, match="is not an OAI-PMH harvest position"):
        decode_oai_watermark("[" * 100_000)


def test_a_version_date_with_an_absurd_time_zone_is_rejected() -> None:
    page = PAGE_1.replace(
        b"<date>Sun, 16 Mar 2025 07:41:27 GMT</date>",
        b"<date>Sun, 16 Mar 2025 07:41:27 -9999999999999999999</date>",
    )
    first = read_oai_page(page, WHERE).items[0]
    assert isinstance(first, Rejected)
    assert first.location == f"{WHERE} record 1 (oai:arXiv.org:2503.12627)"
    assert "is not an RFC 2822 date" in first.reason


def test_a_page_long_oai_error_stays_readable() -> None:
    page = (FIXTURES / "oai-pmh" / "error_badargument.xml").read_bytes()
    page = page.replace(b'code="badArgument">', b'code="' + b"x" * 5_000 + b'">' + b"word " * 5_000)
    with pytest.raises(SourceError) as caught:
        read_oai_page(page, WHERE, 400)
    assert WHERE in str(caught.value) and len(str(caught.value)) < 1_000
