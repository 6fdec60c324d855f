"""arXiv RSS feeds, fetched through the real PoliteClient from a local server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from paperroute.domain import Checkpoint, Paper, Rejected, SourceItem, Version
from paperroute.ingest.http import PoliteClient
from paperroute.ingest.sources.arxiv_rss import fetch_arxiv_rss
from paperroute.ingest.sources.errors import SourceError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "arxiv-rss"
FEED = (FIXTURES / "cs-2025-03-25.xml").read_bytes()
WEEKEND = (FIXTURES / "cs-2025-03-22-weekend.xml").read_bytes()
RSS_TYPE = "application/rss+xml"


def _base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def _fetch(
    httpserver: HTTPServer,
    client: PoliteClient,
    body: bytes,
    *,
    categories: str = "cs",
    announce_types: set[str] | None = None,
) -> list[SourceItem]:
    httpserver.expect_request("/rss/cs").respond_with_data(body, content_type=RSS_TYPE)
    return list(
        fetch_arxiv_rss(
            client,
            base_url=_base(httpserver),
            categories=categories,
            announce_types=announce_types,
        )
    )


def _papers(items: list[SourceItem]) -> dict[str, Paper]:
    return {p.arxiv_id or p.title: p for p in items if isinstance(p, Paper)}


def _feed(*items: str, pub_date: str = "Tue, 25 Mar 2025 00:00:00 -0400") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel>'
        f"<title>cs updates on arXiv.org</title><pubDate>{pub_date}</pubDate>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def _item(
    arxiv_id: str = "2503.17403v1",
    announce_type: str = "new",
    title: str = "<title>A Title</title>",
    extra: str = "",
) -> str:
    return (
        f"<item>{title}<link>https://arxiv.org/abs/{arxiv_id.split('v')[0]}</link>"
        f"<description>arXiv:{arxiv_id} Announce Type: {announce_type} \n"
        "Abstract: Some abstract.</description>"
        f"<guid isPermaLink='false'>oai:arXiv.org:{arxiv_id}</guid>"
        f"<category>cs.CL</category><arxiv:announce_type>{announce_type}</arxiv:announce_type>"
        f"<dc:creator>Ada Lovelace, Charles Babbage</dc:creator>{extra}</item>"
    )


def test_new_item_fields_are_mapped(httpserver: HTTPServer, client: PoliteClient) -> None:
    items = _fetch(httpserver, client, FEED)
    paper = _papers(items)["2503.17403"]
    assert paper.source == "arxiv-rss"
    assert paper.title == (
        "ChatGPT or A Silent Everywhere Helper: A Survey of Large Language Models"
    )
    assert paper.abstract.startswith("Large Language Models (LLMs) have revo lutionized")
    assert "Announce Type" not in paper.abstract and "Abstract:" not in paper.abstract
    assert paper.authors == ("Azim Akhtarshenas", "Afshin Dini", "Navid Ayoobi")
    assert paper.categories == ("cs.CL", "cs.AI")
    assert paper.versions == (Version(1),)
    assert paper.announced == dt.date(2025, 3, 25)
    assert paper.abs_url == "https://arxiv.org/abs/2503.17403"


def test_every_item_is_read_and_a_checkpoint_ends_the_feed(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    items = _fetch(httpserver, client, FEED)
    assert len(_papers(items)) == 8
    assert not any(isinstance(item, Rejected) for item in items)
    assert items[-1] == Checkpoint("2025-03-25")


def test_cross_list_keeps_its_primary_category_first(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    paper = _papers(_fetch(httpserver, client, FEED))["2503.17540"]
    assert paper.categories == ("eess.IV", "cs.CV")
    assert paper.announced == dt.date(2025, 3, 25)


def test_replacement_carries_its_version(httpserver: HTTPServer, client: PoliteClient) -> None:
    papers = _papers(_fetch(httpserver, client, FEED))
    assert papers["2503.12028"].versions == (Version(3),)
    assert papers["2503.12028"].latest_version == 3
    assert papers["2503.11742"].latest_version == 2
    assert papers["2503.11846"].latest_version == 2  # replace-cross
    # A replacement was first announced earlier: the feed's day is not its day.
    assert papers["2503.12028"].announced is None


def test_xml_escapes_and_accents_survive(httpserver: HTTPServer, client: PoliteClient) -> None:
    papers = _papers(_fetch(httpserver, client, FEED))
    assert papers["2503.14797"].title.startswith("FACTS&EVIDENCE: An Interactive Tool")
    assert papers["2503.11742"].authors[0] == "Moreno D'Incà"
    assert papers["2503.12028"].authors[0] == "F. Çengel"
    assert papers["2503.17543"].title.startswith("Echo-E$^3$Net")


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        ({"new"}, {"2503.17403", "2503.17456"}),
        ({"cross"}, {"2503.17540", "2503.17543"}),
        ({"replace"}, {"2503.11742", "2503.14797", "2503.12028"}),
        ({"new", "replace-cross"}, {"2503.17403", "2503.17456", "2503.11846"}),
    ],
)
def test_announce_types_filter_items(
    httpserver: HTTPServer, client: PoliteClient, types: set[str], expected: set[str]
) -> None:
    items = _fetch(httpserver, client, FEED, announce_types=types)
    assert set(_papers(items)) == expected
    assert items[-1] == Checkpoint("2025-03-25")


def test_unknown_announce_type_is_refused(client: PoliteClient) -> None:
    with pytest.raises(SourceError, match="unknown announce type"):
        list(fetch_arxiv_rss(client, base_url="http://127.0.0.1:9", categories="cs",
                             announce_types={"novel"}))  # fmt: skip


def test_empty_weekend_feed_yields_nothing(httpserver: HTTPServer, client: PoliteClient) -> None:
    assert _fetch(httpserver, client, WEEKEND) == []


def test_several_categories_make_one_feed_path(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    httpserver.expect_request("/rss/cs.LG+cs.CL").respond_with_data(WEEKEND)
    items = fetch_arxiv_rss(client, base_url=_base(httpserver), categories="cs.LG, cs.CL")
    assert list(items) == []
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("categories", ["", "cs/../../etc", "cs.LG?x=1", "CS"])
def test_bad_categories_are_refused_before_any_request(
    httpserver: HTTPServer, client: PoliteClient, categories: str
) -> None:
    with pytest.raises(SourceError, match="not a list of arXiv categories"):
        list(fetch_arxiv_rss(client, base_url=_base(httpserver), categories=categories))
    assert httpserver.log == []


def test_bad_item_is_rejected_and_the_rest_goes_on(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    body = _feed(_item(title=""), _item("2503.17456v1"))
    items = _fetch(httpserver, client, body)
    url = f"{_base(httpserver)}/rss/cs"
    assert items[0] == Rejected(f"{url} item 1", "missing title")
    assert isinstance(items[1], Paper) and items[1].arxiv_id == "2503.17456"
    assert items[2] == Checkpoint("2025-03-25")


def test_replacement_without_version_is_rejected(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    items = _fetch(httpserver, client, _feed(_item("2503.11742", "replace")))
    assert isinstance(items[0], Rejected)
    assert "without a version number" in items[0].reason


def test_journal_ref_doi_and_name_suffix(httpserver: HTTPServer, client: PoliteClient) -> None:
    extra = (
        "<arxiv:journal_reference>Phys. Rev. D 111, 054501 (2025)</arxiv:journal_reference>"
        "<arxiv:DOI>10.1103/PhysRevD.111.054501</arxiv:DOI>"
        "<dc:creator>Martin Luther King, Jr., Ada Lovelace</dc:creator>"
    )
    body = _feed(_item("2503.12028v2", "replace", extra=extra).replace(
        "<dc:creator>Ada Lovelace, Charles Babbage</dc:creator>", ""))  # fmt: skip
    paper = _papers(_fetch(httpserver, client, body))["2503.12028"]
    assert paper.journal_ref == "Phys. Rev. D 111, 054501 (2025)"
    assert paper.doi == "10.1103/PhysRevD.111.054501"
    assert paper.authors == ("Martin Luther King, Jr.", "Ada Lovelace")


def test_html_in_titles_is_cleaned(httpserver: HTTPServer, client: PoliteClient) -> None:
    title = "<title>Fast &lt;i&gt;k&lt;/i&gt;-means &amp;amp; friends</title>"
    paper = _papers(_fetch(httpserver, client, _feed(_item(title=title))))["2503.17403"]
    assert paper.title == "Fast k-means & friends"


def test_absurdly_long_title_is_rejected(httpserver: HTTPServer, client: PoliteClient) -> None:
    items = _fetch(httpserver, client, _feed(_item(title=f"<title>{'x' * 1500}</title>")))
    assert isinstance(items[0], Rejected)
    assert items[0].reason == "title is 1,500 characters (limit 1,000)"


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (404, b"Not Found", "answered HTTP 404"),
        (200, b"<html><body>Maintenance</body>", "not well-formed"),
        (200, b"<feed><entry/></feed>", "not an RSS feed"),
        (200, b'<!DOCTYPE r [<!ENTITY a "aaaa">]><rss><channel/></rss>', "declares its own DTD"),
    ],
)
def test_a_feed_that_is_not_one_stops_the_source(
    httpserver: HTTPServer, client: PoliteClient, status: int, body: bytes, message: str
) -> None:
    httpserver.expect_request("/rss/cs").respond_with_data(body, status=status)
    with pytest.raises(SourceError, match=message):
        list(fetch_arxiv_rss(client, base_url=_base(httpserver), categories="cs"))


def test_items_of_unwanted_types_are_skipped_unread(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    body = _feed(_item("2503.11742", "replace"), _item("2503.17456v1"))
    items = _fetch(httpserver, client, body, announce_types={"new"})
    assert set(_papers(items)) == {"2503.17456"}
    assert not any(isinstance(item, Rejected) for item in items)
