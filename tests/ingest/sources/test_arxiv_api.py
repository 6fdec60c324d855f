"""The arXiv query API, served from real recordings through the real PoliteClient."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from paperroute.domain import Checkpoint, Paper, Rejected, SourceItem, Version
from paperroute.ingest.http import FetchError, FetchPolicy, PoliteClient
from paperroute.ingest.sources.arxiv_api import fetch_arxiv_ids, fetch_arxiv_query
from paperroute.ingest.sources.errors import SourceError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "arxiv-api"
ATOM = "application/atom+xml"


def _recording(prefix: str) -> bytes:
    (path,) = FIXTURES.glob(f"{prefix}_*.xml")
    return path.read_bytes()


TESTING_0 = _recording("q_testing_s0_m10")
TESTING_10 = _recording("q_testing_s10_m10")


def _base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def _serve(httpserver: HTTPServer, body: bytes, status: int = 200, **query: str) -> None:
    httpserver.expect_request("/api/query", query_string=query or None).respond_with_data(
        body, status=status, content_type=ATOM
    )


def _serve_ids(httpserver: HTTPServer, body: bytes, ids: str, status: int = 200) -> None:
    _serve(httpserver, body, status, id_list=ids, start="0", max_results="100")


def _serve_testing(httpserver: HTTPServer, start: int, body: bytes) -> None:
    _serve(httpserver, body, search_query="all:testing", start=str(start), max_results="10")


def _query(httpserver: HTTPServer, client: PoliteClient, **kwargs: object) -> list[SourceItem]:
    return list(fetch_arxiv_query(client, base_url=_base(httpserver), **kwargs))


def _papers(items: list[SourceItem]) -> list[Paper]:
    return [item for item in items if isinstance(item, Paper)]


def test_a_recorded_page_becomes_papers(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve_testing(httpserver, 0, TESTING_0)
    items = _query(httpserver, client, search_query="all:testing", page_size=10, max_results=10)
    papers = _papers(items)
    assert len(papers) == 10
    assert items[-1] == Checkpoint("10")
    first = papers[0]
    assert first.source == "arxiv-api"
    assert first.arxiv_id == "2202.12139"
    assert first.title.startswith("Testing Deep Learning Models: A First Comparative Study")
    assert first.authors == ("Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker")
    assert first.categories == ("cs.SE", "cs.LG")
    assert first.versions == (Version(1, dt.date(2022, 2, 24)),)
    assert first.submitted == first.updated == dt.date(2022, 2, 24)
    assert first.doi == "10.1109/ICSTW55395.2022.00035"
    assert first.journal_ref is not None and first.journal_ref.startswith("Artificial Intelligence")
    assert first.comment == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert first.abstract.startswith("Deep Learning (DL) has revolutionized")


def test_old_style_id_and_many_authors(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve_ids(httpserver, _recording("id_quant-ph_0201082v1"), "quant-ph/0201082v1")
    _serve_ids(httpserver, _recording("id_0808.05394_1707.08567"), "0808.05394,1707.08567")
    (old,) = _papers(_query(httpserver, client, id_list=["quant-ph/0201082v1"]))
    assert old.arxiv_id == "quant-ph/0201082"
    assert old.versions == (Version(1, dt.date(2002, 1, 18)),)
    assert old.categories == ("quant-ph", "cs.PL")
    assert old.abstract.startswith("We show a representation")  # leading spaces gone
    assert (old.comment, old.doi, old.journal_ref) == ("32 pages", None, None)
    (proceedings,) = _papers(_query(httpserver, client, id_list=["0808.05394", "1707.08567"]))
    assert len(proceedings.authors) == 34
    assert proceedings.authors[:2] == ("Kees A. Schouhamer Immink", "Stan Baggen")
    assert proceedings.authors[-2:] == ("Dirk Wübben", "Hirosuke Yamamoto")


def test_primary_category_comes_first(httpserver: HTTPServer, client: PoliteClient) -> None:
    body = TESTING_0.replace(
        b'<arxiv:primary_category term="cs.SE"/>', b'<arxiv:primary_category term="cs.LG"/>', 1
    )
    _serve_testing(httpserver, 0, body)
    papers = _papers(_query(httpserver, client, search_query="all:testing", max_results=10))
    assert papers[0].categories == ("cs.LG", "cs.SE")


def test_a_later_version_keeps_both_dates(httpserver: HTTPServer, client: PoliteClient) -> None:
    body = TESTING_0.replace(b"abs/2202.12139v1</id>", b"abs/2202.12139v3</id>").replace(
        b"<updated>2022-02-24T15:05:19Z</updated>", b"<updated>2022-05-02T10:00:00Z</updated>", 1
    )
    _serve_testing(httpserver, 0, body)
    first = _papers(_query(httpserver, client, search_query="all:testing", max_results=10))[0]
    assert first.versions == (Version(1, dt.date(2022, 2, 24)), Version(3, dt.date(2022, 5, 2)))
    assert (first.submitted, first.updated) == (dt.date(2022, 2, 24), dt.date(2022, 5, 2))


def test_html_and_latex_in_titles_are_cleaned(httpserver: HTTPServer, client: PoliteClient) -> None:
    body = TESTING_0.replace(
        b"<title>Testing Deep Learning Models:",
        b"<title>&lt;i&gt;Testing&lt;/i&gt; \\textit{Deep} Learning Models"
        b' for Sch\\"on &amp;amp; Co:',
    )
    _serve_testing(httpserver, 0, body)
    first = _papers(_query(httpserver, client, search_query="all:testing", max_results=10))[0]
    assert first.title.startswith("Testing Deep Learning Models for Schön & Co: A First")


def test_pages_follow_start_and_total(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve_testing(httpserver, 0, TESTING_0)
    _serve_testing(httpserver, 10, TESTING_10)
    items = _query(httpserver, client, search_query="all:testing", page_size=10, max_results=20)
    papers = _papers(items)
    assert len(papers) == 20
    assert len({p.arxiv_id for p in papers}) == 20
    assert [i.watermark for i in items if isinstance(i, Checkpoint)] == ["10", "20"]
    assert isinstance(items[10], Checkpoint) and isinstance(items[21], Checkpoint)
    assert len(httpserver.log) == 2


def test_stops_at_total_results(httpserver: HTTPServer, client: PoliteClient) -> None:
    # totalResults is 1: a second page would be a wasted request.
    _serve(httpserver, _recording("id_0808.05394_1707.08567"))
    items = _query(httpserver, client, id_list=["0808.05394", "1707.08567"], page_size=1)
    assert len(_papers(items)) == 1
    assert items[-1] == Checkpoint("1")
    assert len(httpserver.log) == 1


def test_resumes_from_a_checkpoint(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve_testing(httpserver, 0, TESTING_0)
    _serve_testing(httpserver, 10, TESTING_10)
    first_run = _query(httpserver, client, search_query="all:testing", page_size=10, max_results=10)
    watermark = [i for i in first_run if isinstance(i, Checkpoint)][-1].watermark
    httpserver.clear_log()
    resumed = _query(
        httpserver,
        client,
        search_query="all:testing",
        page_size=10,
        max_results=10,
        start=int(watermark),
    )
    assert [r.args["start"] for r, _ in httpserver.log] == ["10"]
    assert not {p.arxiv_id for p in _papers(first_run)} & {p.arxiv_id for p in _papers(resumed)}
    assert resumed[-1] == Checkpoint("20")


def test_an_error_feed_raises_with_arxivs_message(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    _serve_ids(httpserver, _recording("id_abc"), "abc", status=400)
    with pytest.raises(SourceError) as caught:
        _query(httpserver, client, id_list=["abc"])
    message = str(caught.value)
    assert "incorrect id format for abc" in message
    assert "id_list=abc" in message


def test_an_empty_feed_yields_nothing(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve_ids(httpserver, _recording("id_0000.0000"), "0000.0000")
    assert _query(httpserver, client, id_list=["0000.0000"]) == []


def test_a_malformed_entry_is_rejected_and_the_rest_kept(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    body = TESTING_0.replace(b"<id>http://arxiv.org/abs/2202.12139v1</id>", b"<id>nonsense</id>")
    start = body.index(b"<entry>", body.index(b"<entry>") + 1)
    title_start = body.index(b"<title>", start)
    body = body[:title_start] + body[body.index(b"</title>", title_start) + 8 :]
    _serve_testing(httpserver, 0, body)
    items = _query(httpserver, client, search_query="all:testing", max_results=10)
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [r.reason for r in rejected] == [
        "entry id 'nonsense' is not an arXiv id",
        "missing title",
    ]
    assert rejected[0].location.endswith("entry 1")
    assert "/api/query?" in rejected[1].location and rejected[1].location.endswith("entry 2")
    assert len(_papers(items)) == 8
    assert items[-1] == Checkpoint("10")


def test_an_empty_page_before_the_total_raises(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    start = TESTING_10.index(b"<entry>")
    body = TESTING_10[:start] + b"</feed>"
    _serve_testing(httpserver, 10, body)
    with pytest.raises(SourceError, match="start=10"):
        _query(httpserver, client, search_query="all:testing", start=10, page_size=10)


@pytest.mark.parametrize(
    "body",
    [
        TESTING_0[: len(TESTING_0) // 2],  # truncated
        b"<html><body>Service unavailable</body></html>",
        b"",
    ],
    ids=["truncated", "html", "empty"],
)
def test_a_broken_response_names_the_url(
    httpserver: HTTPServer, client: PoliteClient, body: bytes
) -> None:
    _serve(httpserver, body)
    with pytest.raises(SourceError) as caught:
        _query(httpserver, client, search_query="all:testing")
    assert _base(httpserver) + "/api/query?" in str(caught.value)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE feed [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol4;</title></entry></feed>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2202.12139v1</id>
<title>&xxe;</title></entry></feed>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_hostile_xml_is_refused(httpserver: HTTPServer, client: PoliteClient, body: bytes) -> None:
    _serve(httpserver, body)
    with pytest.raises(SourceError, match="declares its own DTD") as caught:
        _query(httpserver, client, search_query="all:testing")
    assert "lollol" not in str(caught.value) and "root:" not in str(caught.value)


def test_a_server_that_hangs_fails_after_retries(httpserver: HTTPServer) -> None:
    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(1.5)
        return Response(TESTING_0, content_type=ATOM)

    httpserver.expect_request("/slow/api/query").respond_with_handler(hang)
    sleeps: list[float] = []
    policy = FetchPolicy(delay=0, backoff=0.01, timeout=0.3, retries=1)
    try:
        with PoliteClient(policy, sleep=sleeps.append) as slow, pytest.raises(FetchError) as caught:
            list(fetch_arxiv_query(slow, base_url=httpserver.url_for("/slow"), search_query="x"))
        assert "timed out after 0.3 s (2 attempts)" in str(caught.value)
        assert sleeps == [0.01]
    finally:
        release.set()
        # Let the server answer both abandoned requests before the next test uses it.
        deadline = time.monotonic() + 3
        while len(httpserver.log) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)


def test_fetch_ids_reports_bad_and_unknown_ids(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    _serve(
        httpserver,
        _recording("id_0808.05394_1707.08567"),
        id_list="0808.05394,1707.08567",
        start="0",
        max_results="2",
    )
    items = list(
        fetch_arxiv_ids(
            client,
            ["https://arxiv.org/abs/0808.05394", "not an id", "1707.08567", "arXiv:1707.08567"],
            base_url=_base(httpserver),
        )
    )
    assert items[0] == Rejected("id 'not an id'", "not an arXiv id (e.g. 2503.11731)")
    assert isinstance(items[1], Paper) and items[1].arxiv_id == "1707.08567"
    assert items[2] == Rejected("arXiv id 0808.05394", "arXiv has no paper with this id")
    assert len(items) == 3


def test_fetch_ids_sends_batches(httpserver: HTTPServer, client: PoliteClient) -> None:
    one = {"start": "0", "max_results": "1"}
    _serve(httpserver, _recording("id_quant-ph_0201082v1"), id_list="quant-ph/0201082v1", **one)
    _serve(httpserver, _recording("id_0000.0000"), id_list="0000.0000", **one)
    items = list(
        fetch_arxiv_ids(
            client, ["quant-ph/0201082v1", "0000.0000"], base_url=_base(httpserver), batch_size=1
        )
    )
    assert [type(i) for i in items] == [Paper, Rejected]
    assert len(httpserver.log) == 2
