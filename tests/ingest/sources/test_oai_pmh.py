"""arXiv OAI-PMH harvesting, served from local fixtures through the real PoliteClient."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from paperroute.domain import Checkpoint, Paper, Rejected, SourceItem, Version
from paperroute.ingest.http import FetchPolicy, PoliteClient
from paperroute.ingest.sources.errors import SourceError
from paperroute.ingest.sources.oai_pmh import (
    OaiWatermark,
    decode_oai_watermark,
    fetch_oai_records,
    split_authors,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "oai-pmh"
PAGE_1 = (FIXTURES / "listrecords_arxivraw_page1.xml").read_bytes()
PAGE_2 = (FIXTURES / "listrecords_arxivraw_page2.xml").read_bytes()
ARXIV_FORMAT = (FIXTURES / "listrecords_arxiv.xml").read_bytes()
NO_RECORDS = (FIXTURES / "error_norecordsmatch.xml").read_bytes()
BAD_TOKEN = (FIXTURES / "error_badresumptiontoken.xml").read_bytes()
BAD_ARGUMENT = (FIXTURES / "error_badargument.xml").read_bytes()
TOKEN = "7311982|1001"
FIRST_QUERY = {
    "verb": "ListRecords",
    "metadataPrefix": "arXivRaw",
    "set": "cs",
    "from": "2025-03-18",
    "until": "2025-03-20",
}
MARCH_18, MARCH_20 = dt.date(2025, 3, 18), dt.date(2025, 3, 20)


def _serve(httpserver: HTTPServer, body: bytes, query: dict[str, str] | None = None) -> None:
    httpserver.expect_request("/oai", query_string=query).respond_with_data(
        body, content_type="text/xml"
    )


def _serve_both_pages(httpserver: HTTPServer) -> None:
    _serve(httpserver, PAGE_1, FIRST_QUERY)
    _serve(httpserver, PAGE_2, {"verb": "ListRecords", "resumptionToken": TOKEN})


def _harvest(httpserver: HTTPServer, client: PoliteClient, **kwargs: object) -> list[SourceItem]:
    endpoint = httpserver.url_for("/oai")
    return list(fetch_oai_records(client, endpoint=endpoint, **kwargs))


def _march(client: PoliteClient, httpserver: HTTPServer, **kwargs: object) -> list[SourceItem]:
    return _harvest(httpserver, client, from_date=MARCH_18, until_date=MARCH_20, **kwargs)


def _papers(items: list[SourceItem]) -> dict[str, Paper]:
    return {p.arxiv_id or "": p for p in items if isinstance(p, Paper)}


def _watermarks(items: list[SourceItem]) -> list[OaiWatermark]:
    return [decode_oai_watermark(i.watermark) for i in items if isinstance(i, Checkpoint)]


def test_two_pages_follow_the_resumption_token(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    _serve_both_pages(httpserver)
    items = _march(client, httpserver)
    kinds = ["P" if isinstance(i, Paper) else type(i).__name__[0] for i in items]
    assert kinds == ["P", "P", "P", "C", "P", "P", "C"]  # the deleted record is skipped
    assert list(_papers(items)) == [
        "2503.12627",
        "2503.13045",
        "2503.12827",
        "2503.12260",
        "2503.15457",
    ]
    assert _watermarks(items) == [
        OaiWatermark(TOKEN, MARCH_18, MARCH_20),
        OaiWatermark(None, MARCH_18, MARCH_20),
    ]
    assert len(httpserver.log) == 2


def test_arxivraw_fields_and_version_history(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve_both_pages(httpserver)
    papers = _papers(_march(client, httpserver))
    revised = papers["2503.13045"]
    assert revised.source == "arxiv-oai"
    assert revised.title == "All You Need to Know About Training Image Retrieval Models"
    assert revised.authors == ("Gabriele Berton", "Kevin Musgrave", "Carlo Masone")
    assert revised.versions == (Version(1, dt.date(2025, 3, 17)), Version(2, dt.date(2025, 3, 19)))
    assert (revised.submitted, revised.updated) == (dt.date(2025, 3, 17), dt.date(2025, 3, 19))
    assert revised.abstract.startswith("Image retrieval is the task")
    assert revised.categories == ("cs.CV",)
    once = papers["2503.12627"]
    assert once.versions == (Version(1, dt.date(2025, 3, 16)),)
    assert once.categories == ("cs.CV", "cs.CL")
    assert once.comment is not None and once.comment.endswith("conference(WSDM), 2023")
    assert "\n" not in once.comment
    assert (once.doi, once.journal_ref) == (None, None)


def test_latex_in_authors_and_titles(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve_both_pages(httpserver)
    papers = _papers(_march(client, httpserver))
    assert papers["2503.12260"].authors[1] == "Elena Ortega-Beltrán"
    distilled = papers["2503.15457"]
    assert distilled.authors == (
        "Yuanzhi Zhu",
        "Xi Wang",
        "Stéphane Lathuilière",
        "Vicky Kalogeiton",
    )
    # Math is the author's notation and stays as written.
    assert distilled.title.startswith("Di$\\mathtt{[M]}$O: Distilling")
    assert papers["2503.12827"].title.startswith("GSBAK$^K$: $top$-$K$ Geometric")


def test_arxiv_format(httpserver: HTTPServer, client: PoliteClient) -> None:
    query = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs", "from": "2025-03-20"}
    _serve(httpserver, ARXIV_FORMAT, query)
    items = _harvest(httpserver, client, metadata_prefix="arXiv", from_date=MARCH_20)
    papers = _papers(items)
    flow = papers["2503.14880"]
    assert flow.authors[2] == "Roberto M. Cesar Jr."
    assert flow.journal_ref is not None and flow.journal_ref.endswith("(CVPR), 2025")
    assert (flow.submitted, flow.updated) == (dt.date(2025, 3, 19), None)
    aligned = papers["2503.13756"]
    assert aligned.authors == ("Yunpeng Shi", "Amit Singer", "Eric J. Verbeke")
    assert aligned.categories == ("cs.CV", "cs.NA", "math.NA")
    assert aligned.versions == ()  # this format does not say which version it describes
    assert (aligned.submitted, aligned.updated) == (dt.date(2025, 3, 17), MARCH_20)
    assert aligned.doi == "10.48550/arXiv.2503.13756"
    assert papers["2503.14797"].title.startswith("FACTS&EVIDENCE: An Interactive Tool")
    # `\&amp;` in the XML is unescaped once; normalize keeps LaTeX's escaped symbols.
    assert papers["2503.12141"].title.endswith("Intensity Analyzer \\& Fuzzy Logic")
    assert _watermarks(items) == [OaiWatermark(None, MARCH_20, MARCH_20)]


def test_resumes_from_a_checkpoint(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve(httpserver, PAGE_2, {"verb": "ListRecords", "resumptionToken": TOKEN})
    # A page 1 that saw only older records: the datestamp must still grow on page 2.
    saved = OaiWatermark(TOKEN, MARCH_18, MARCH_18).encode()
    items = _harvest(httpserver, client, watermark=saved, from_date=dt.date(2020, 1, 1))
    assert list(_papers(items)) == ["2503.12260", "2503.15457"]
    assert _watermarks(items) == [OaiWatermark(None, MARCH_18, MARCH_20)]
    assert len(httpserver.log) == 1


def test_a_finished_harvest_starts_the_next_from_its_datestamp(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    query = {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "set": "cs", "from": "2025-03-20"}
    _serve(httpserver, NO_RECORDS, query)
    finished = OaiWatermark(None, MARCH_18, MARCH_20).encode()
    items = _harvest(httpserver, client, watermark=finished)
    assert items == [Checkpoint(OaiWatermark(None, MARCH_20, MARCH_20).encode())]


def test_an_unfinished_harvest_starts_again_from_its_from_date() -> None:
    # Records come in no datestamp order: a half-read list proves nothing past `from`.
    assert OaiWatermark("t", MARCH_18, MARCH_20).next_from() == MARCH_18
    assert OaiWatermark(None, MARCH_18, MARCH_20).next_from() == MARCH_20
    assert OaiWatermark(None, MARCH_18, None).next_from() == MARCH_18


def test_no_records_match_is_an_empty_result(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve(httpserver, NO_RECORDS)
    items = _harvest(httpserver, client, from_date=dt.date(2025, 3, 22))
    assert not _papers(items)
    assert _watermarks(items) == [OaiWatermark(None, dt.date(2025, 3, 22), None)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (BAD_TOKEN, "badResumptionToken: The value of the resumptionToken argument is invalid"),
        (BAD_ARGUMENT, "badArgument: Illegal date format"),
    ],
)
def test_oai_errors_raise(
    httpserver: HTTPServer, client: PoliteClient, body: bytes, expected: str
) -> None:
    _serve(httpserver, body)
    with pytest.raises(SourceError, match=expected) as caught:
        _harvest(httpserver, client, watermark=OaiWatermark(TOKEN, MARCH_18).encode())
    assert httpserver.url_for("/oai") in str(caught.value)


def test_a_bad_watermark_raises() -> None:
    for bad in ["20", "{}", '{"token": 5, "from": null, "datestamp": null}', "not json"]:
        with pytest.raises(SourceError, match="fresh harvest"):
            decode_oai_watermark(bad)


def test_malformed_records_are_rejected(httpserver: HTTPServer, client: PoliteClient) -> None:
    body = PAGE_2.replace(b'<version version="v1">', b'<version version="first">', 1)
    body = body.replace(b"<id>2503.15457</id>", b"<id>not-an-id</id>")
    _serve(httpserver, body)
    items = _harvest(httpserver, client, watermark=OaiWatermark(TOKEN).encode())
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [r.reason for r in rejected] == [
        "version 'first' is not like v1, v2, ...",
        "'not-an-id' is not an arXiv id",
    ]
    assert rejected[0].location.endswith("record 1 (oai:arXiv.org:2503.12260)")
    assert rejected[1].location.endswith("record 3 (oai:arXiv.org:2503.15457)")
    assert _watermarks(items)[-1].datestamp == MARCH_20  # rejected records still count


def test_an_unknown_metadata_format_is_rejected(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    dublin_core = b'<arXivRaw xmlns="http://www.openarchives.org/OAI/2.0/oai_dc/"'
    _serve(
        httpserver,
        PAGE_2.replace(b'<arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"', dublin_core, 1),
    )
    items = _harvest(httpserver, client, watermark=OaiWatermark(TOKEN).encode())
    (rejected,) = [i for i in items if isinstance(i, Rejected)]
    assert "is neither arXiv nor arXivRaw" in rejected.reason
    assert list(_papers(items)) == ["2503.15457"]


def test_a_repeated_token_stops_the_harvest(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve(httpserver, PAGE_1)
    with pytest.raises(SourceError, match="same resumption token"):
        _harvest(httpserver, client, watermark=OaiWatermark(TOKEN).encode())


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE OAI-PMH [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<error code="badArgument">&c;</error></OAI-PMH>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE OAI-PMH [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<error code="badArgument">&xxe;</error></OAI-PMH>"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (PAGE_1[: len(PAGE_1) - 200], "not well-formed"),
        (BILLION_LAUGHS, "declares its own DTD"),
        (EXTERNAL_ENTITY, "declares its own DTD"),
        (b"<html><body>Down for maintenance</body></html>", "not an OAI-PMH response"),
    ],
    ids=["truncated", "laughs", "xxe", "html"],
)
def test_broken_or_hostile_responses_raise(
    httpserver: HTTPServer, client: PoliteClient, body: bytes, expected: str
) -> None:
    _serve(httpserver, body)
    with pytest.raises(SourceError, match=expected) as caught:
        _march(client, httpserver)
    message = str(caught.value)
    assert httpserver.url_for("/oai") in message
    assert "aaaaaaaaaaaaaaaaaaaa" not in message and "root:" not in message


def test_flow_control_503_waits_as_told(httpserver: HTTPServer) -> None:
    for _ in range(3):
        httpserver.expect_oneshot_request("/oai").respond_with_data(
            "busy", status=503, headers={"Retry-After": "1"}
        )
    _serve(httpserver, ARXIV_FORMAT)
    sleeps: list[float] = []
    with PoliteClient(FetchPolicy(delay=0, backoff=0.01, timeout=2), sleep=sleeps.append) as polite:
        items = _harvest(httpserver, polite, metadata_prefix="arXiv")
    assert len(_papers(items)) == 4
    assert sleeps == [1.0, 1.0, 1.0]
    assert len(httpserver.log) == 4


def test_pages_are_requested_politely_apart(httpserver: HTTPServer) -> None:
    _serve_both_pages(httpserver)
    sleeps: list[float] = []
    now = [1000.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    policy = FetchPolicy(delay=3, backoff=0.01, timeout=2)
    with PoliteClient(policy, sleep=sleep, clock=lambda: now[0]) as polite:
        items = _march(polite, httpserver)
    assert len(_papers(items)) == 5
    assert sleeps == [3.0]  # one pause, before page 2


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("A. Smith, B. Jones and C. Lee", ["A. Smith", "B. Jones", "C. Lee"]),
        ("Ileana Streinu and Louis Theran", ["Ileana Streinu", "Louis Theran"]),
        (
            "J. Doe (1), R. Roe (2) ((1) MIT, Cambridge, (2) CMU)",
            ["J. Doe", "R. Roe"],
        ),
        ("Roberto M. Cesar, Jr., Xu-Cheng\n  Yin", ["Roberto M. Cesar Jr.", "Xu-Cheng Yin"]),
        ("ATLAS Collaboration", ["ATLAS Collaboration"]),
        ("", []),
    ],
)
def test_split_authors(text: str, names: list[str]) -> None:
    assert split_authors(text) == names
