"""The arXiv RSS page reader against any input: papers, rejects or a SourceError, fast."""

from __future__ import annotations

from hypothesis import given

from paperroute.domain import Checkpoint, Paper
from paperroute.ingest.sources.arxiv_rss import read_arxiv_rss
from paperroute.ingest.sources.errors import SourceError
from tests.ingest.sources.fuzzing import (
    FIXTURES,
    check_error,
    check_item,
    fuzz_settings,
    outcome,
    xml_pages,
)

WHERE = "https://rss.arxiv.org/rss/cs"
PAGES = sorted((FIXTURES / "arxiv-rss").glob("*.xml"))
DAY = (FIXTURES / "arxiv-rss" / "cs-2025-03-25.xml").read_bytes()


@fuzz_settings
@given(page=xml_pages(PAGES))
def test_any_page_reads_quickly_and_sanely(page: bytes) -> None:
    result = outcome(lambda: list(read_arxiv_rss(page, WHERE)))
    if isinstance(result, SourceError):
        check_error(result, WHERE)
        return
    checkpoints = [item for item in result if isinstance(item, Checkpoint)]
    assert checkpoints in ([], result[-1:])  # one at the end, if any
    for item in result[: len(result) - len(checkpoints)]:
        check_item(item, WHERE)


# --- inputs fuzzing found --------------------------------------------------------


def test_a_pubdate_with_an_absurd_time_zone_is_no_date() -> None:
    page = DAY.replace(
        b"<pubDate>Tue, 25 Mar 2025 00:00:00 -0400</pubDate>",
        b"<pubDate>Tue, 25 Mar 2025 00:00:00 -9999999999999999999</pubDate>",
        1,
    )
    items = list(read_arxiv_rss(page, WHERE))
    papers = [item for item in items if isinstance(item, Paper)]
    assert papers and all(paper.announced is None for paper in papers)
    assert not any(isinstance(item, Checkpoint) for item in items)  # no day to resume after
