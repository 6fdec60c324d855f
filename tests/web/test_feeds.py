"""RSS and Atom feeds over a real database, read back with an XML parser."""

from __future__ import annotations

import datetime as dt
import html
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.domain import Paper
from paperroute.index.sync import rebuild_index
from paperroute.ingest.normalize import build_paper
from paperroute.store import collections as collection_store
from paperroute.store.papers import ids_for_refs, paper_key, set_hidden, upsert_papers
from paperroute.store.users import add_user
from tests.support import WordHashEmbedder

NOW = dt.datetime(2026, 3, 21, 9, 30, tzinfo=dt.UTC)
A = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
EVIL_TITLE = "<b>Bold</b> claims & counterclaims"
EVIL_ABSTRACT = "We show <script>alert(1)</script> that a < b & c > d."


LISTED = build_paper(source="listing", title="A listed paper without an id", abstract="Listed.")


def paper(n: int, day: str, cats: list[str], title: str = "", **fields: object) -> Paper:
    return build_paper(
        source="t",
        arxiv_id=f"2503.{n:05d}",
        title=title or f"Paper number {n}",
        abstract=f"Abstract of paper {n}.",
        authors=["Ada Lovelace", "Alan Turing"],
        categories=cats,
        announced=day,
        **fields,  # type: ignore[arg-type]
    )


def seed(engine: Engine) -> None:
    batch = [
        paper(1, "2026-03-18", ["cs.LG"]),
        paper(
            2,
            "2026-03-19",
            ["cs.CV", "cs.LG"],
            code_url="https://github.com/a/b",
            updated="2026-03-25",
        ),
        paper(3, "2026-03-20", ["cs.CL"], title="Sparse attention for long documents"),
        paper(5, "2026-03-20", ["cs.LG"], title="Withdrawn spam about sparse attention"),
        # Straight into the store, as a source that skipped cleaning would put it.
        Paper(
            title=EVIL_TITLE,
            abstract=EVIL_ABSTRACT + "\x0c",
            source="t",
            arxiv_id="2503.66666",
            categories=("cs.CL",),
            announced=dt.date(2026, 3, 20),
        ),
        LISTED,
    ]
    with engine.begin() as conn:
        upsert_papers(conn, batch, NOW - dt.timedelta(days=1))
        set_hidden(conn, ids_for_refs(conn, ["2503.00005"])["2503.00005"], NOW)


def make_client(db_url: str, home: Path, **settings: object) -> TestClient:
    app = create_app(
        Settings(home=home, database_url=db_url, **({"trusted_hosts": ["testserver"]} | settings)),  # type: ignore[arg-type]
        clock=lambda: NOW,
        embedder=WordHashEmbedder(),
    )
    return TestClient(app)


@pytest.fixture
def client(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    seed(engine)
    with make_client(db_url, tmp_path) as test_client:
        yield test_client


def rss(response: Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    root = ET.fromstring(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    return channel


def atom(response: Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    root = ET.fromstring(response.content)
    assert root.tag == f"{A}feed"
    return root


def guids(channel: ET.Element) -> list[str]:
    return [item.findtext("guid", "") for item in channel.iter("item")]


def atom_ids(feed: ET.Element) -> list[str]:
    return [entry.findtext(f"{A}id", "") for entry in feed.iter(f"{A}entry")]


def links(element: ET.Element) -> dict[str, list[ET.Element]]:
    found: dict[str, list[ET.Element]] = {}
    for link in element.findall(f"{A}link"):
        found.setdefault(link.get("rel", "alternate"), []).append(link)
    return found


def urn(key: str) -> str:
    return f"urn:paperroute:paper:{key}"


def test_daily_rss_has_the_newest_days_papers(client: TestClient) -> None:
    channel = rss(client.get("/feeds/daily.rss"))
    assert channel.findtext("title") == "paperroute — daily papers"
    assert channel.findtext("link") == "http://testserver/"
    assert channel.findtext("description") == "Papers announced on 2026-03-20."
    self_link = channel.find(f"{A}link")
    assert self_link is not None
    assert self_link.get("href") == "http://testserver/feeds/daily.rss"
    assert (self_link.get("rel"), self_link.get("type")) == ("self", "application/rss+xml")
    # The hidden paper of the same day is left out.
    assert guids(channel) == [urn("2503.66666"), urn("2503.00003")]
    item = next(i for i in channel.iter("item") if i.findtext("guid") == urn("2503.00003"))
    assert item.findtext("title") == "Sparse attention for long documents"
    assert item.findtext("link") == "http://testserver/papers/2503.00003"
    assert item.find("guid").get("isPermaLink") == "false"  # type: ignore[union-attr]
    assert item.findtext("description") == "Abstract of paper 3."
    assert item.findtext("pubDate") == "Fri, 20 Mar 2026 00:00:00 +0000"
    assert [c.text for c in item.findall("category")] == ["cs.CL"]
    assert [c.text for c in item.findall(f"{DC}creator")] == ["Ada Lovelace", "Alan Turing"]
    enclosure = item.find("enclosure")
    assert enclosure is not None
    assert enclosure.get("url") == "https://arxiv.org/pdf/2503.00003"
    assert enclosure.get("type") == "application/pdf"


def test_daily_atom_entries_link_the_paper_page_arxiv_and_pdf(client: TestClient) -> None:
    feed = atom(client.get("/feeds/daily.atom?date=2026-03-19"))
    assert feed.findtext(f"{A}title") == "paperroute — papers of 2026-03-19"
    assert feed.findtext(f"{A}id") == "http://testserver/feeds/daily.atom?date=2026-03-19"
    assert feed.findtext(f"{A}updated") == "2026-03-25T00:00:00+00:00"
    feed_links = links(feed)
    assert feed_links["alternate"][0].get("href") == "http://testserver/?date=2026-03-19"
    assert feed_links["self"][0].get("type") == "application/atom+xml"
    (entry,) = feed.iter(f"{A}entry")
    assert entry.findtext(f"{A}id") == urn("2503.00002")
    assert entry.findtext(f"{A}title") == "Paper number 2"
    assert entry.findtext(f"{A}summary") == "Abstract of paper 2."
    assert entry.findtext(f"{A}published") == "2026-03-19T00:00:00+00:00"
    assert entry.findtext(f"{A}updated") == "2026-03-25T00:00:00+00:00"  # its newest version
    names = [a.findtext(f"{A}name") for a in entry.findall(f"{A}author")]
    assert names == ["Ada Lovelace", "Alan Turing"]
    assert [c.get("term") for c in entry.findall(f"{A}category")] == ["cs.CV", "cs.LG"]
    by_rel = links(entry)
    assert [x.get("href") for x in by_rel["alternate"]] == ["http://testserver/papers/2503.00002"]
    assert [(x.get("href"), x.get("title")) for x in by_rel["related"]] == [
        ("https://arxiv.org/abs/2503.00002", "arXiv"),
        ("https://github.com/a/b", "code"),
    ]
    assert [x.get("type") for x in by_rel["enclosure"]] == ["application/pdf"]


def test_text_is_escaped_by_the_feed_not_passed_through(client: TestClient) -> None:
    for url in ("/feeds/daily.rss", "/feeds/daily.atom"):
        body = client.get(url).content
        assert b"<script>" not in body and b"<b>Bold" not in body
    assert b"&lt;/b&gt; claims &amp; counterclaims" in client.get("/feeds/daily.atom").content
    assert b"&amp;lt;/b&amp;gt; claims &amp;amp; counterclaims" in (
        client.get("/feeds/daily.rss").content
    )
    # Atom says the summary is text: read back, it is the abstract itself
    # (less a control character XML cannot carry).
    entry = next(atom(client.get("/feeds/daily.atom")).iter(f"{A}entry"))
    assert entry.findtext(f"{A}title") == EVIL_TITLE
    summary = entry.find(f"{A}summary")
    assert summary is not None and summary.get("type") in (None, "text")
    assert summary.text == EVIL_ABSTRACT
    # An RSS title or description is HTML to readers: escaped once more, it shows as text.
    body = client.get("/feeds/daily.rss").content
    assert b"&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;" in body
    item = next(rss(client.get("/feeds/daily.rss")).iter("item"))
    assert item.findtext("title") == html.escape(EVIL_TITLE, quote=False)
    assert item.findtext("description") == html.escape(EVIL_ABSTRACT, quote=False)


def test_category_feed_takes_a_dotted_category(client: TestClient) -> None:
    channel = rss(client.get("/feeds/c/cs.LG.rss"))
    assert channel.findtext("title") == "paperroute — cs.LG"
    assert channel.findtext("link") == "http://testserver/c/cs.LG"
    assert guids(channel) == [urn("2503.00002"), urn("2503.00001")]  # a cross-list; not hidden
    feed = atom(client.get("/feeds/c/cs.LG.atom"))
    assert atom_ids(feed) == guids(channel)
    assert atom_ids(atom(client.get("/feeds/c/math.AG.atom"))) == []
    for url in ("/feeds/c/cs.LG", "/feeds/c/cs.LG.xml", "/feeds/c/.rss", "/feeds/daily.json"):
        missing = client.get(url)
        assert missing.status_code == 404, url
        assert ".rss or .atom" in missing.text


def test_bad_date_is_a_clear_400(client: TestClient) -> None:
    response = client.get("/feeds/daily.rss?date=yesterday")
    assert response.status_code == 400 and "date" in response.text


def test_public_collection_feed_and_private_is_404(client: TestClient, engine: Engine) -> None:
    listed_key = paper_key(LISTED)
    with engine.begin() as conn:
        owner = add_user(conn, "owner@example.org", NOW)
        public = collection_store.create_collection(
            conn, owner.id, "Reading group", NOW, is_public=True
        )
        private = collection_store.create_collection(conn, owner.id, "Secret plans", NOW)
        ids = ids_for_refs(conn, ["2503.00001", "2503.00005", listed_key])
        for minutes, key in enumerate(["2503.00001", "2503.00005", listed_key]):
            later = NOW + dt.timedelta(minutes=minutes)
            collection_store.add_paper(conn, public.id, ids[key], later)
            collection_store.add_paper(conn, private.id, ids[key], later)
    channel = rss(client.get(f"/feeds/collections/{public.id}.rss"))
    assert channel.findtext("title") == "paperroute — Reading group"
    assert channel.findtext("link") == f"http://testserver/collections/{public.id}"
    # Most recently added first; the hidden paper is left out.
    assert guids(channel) == [urn(listed_key), urn("2503.00001")]
    feed = atom(client.get(f"/feeds/collections/{public.id}.atom"))
    assert atom_ids(feed) == guids(channel)
    undated = next(feed.iter(f"{A}entry"))
    assert undated.find(f"{A}published") is None  # no announcement day to give
    assert undated.findtext(f"{A}updated") == NOW.isoformat()
    assert "enclosure" not in links(undated)  # no arXiv id, so no PDF link
    for url in (
        f"/feeds/collections/{private.id}.rss",
        f"/feeds/collections/{private.id}.atom",
        "/feeds/collections/999.rss",
        "/feeds/collections/abc.rss",
        "/feeds/collections/99999999999999999999.atom",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Secret plans" not in response.text


def test_search_feed_gives_the_top_results(engine: Engine, db_url: str, tmp_path: Path) -> None:
    seed(engine)
    with make_client(db_url, tmp_path) as unindexed:
        response = unindexed.get("/feeds/search.rss?q=sparse+attention")
        assert response.status_code == 503
        assert "search index has not been built" in response.text
    rebuild_index(engine, tmp_path / "index", WordHashEmbedder())
    with make_client(db_url, tmp_path) as client:
        channel = rss(client.get("/feeds/search.rss?q=sparse+attention"))
        assert channel.findtext("title") == "paperroute — search: sparse attention"
        assert channel.findtext("link") == "http://testserver/search?q=sparse+attention"
        found = guids(channel)
        assert found[0] == urn("2503.00003")
        assert urn("2503.00005") not in found  # hidden, though it matches
        feed = atom(client.get("/feeds/search.atom?q=sparse%20attention&sort=date"))
        assert atom_ids(feed)[0] == urn("2503.00003")
        assert links(feed)["alternate"][0].get("href") == (
            "http://testserver/search?q=sparse+attention&sort=date"
        )
        assert atom_ids(atom(client.get("/feeds/search.atom?q=2503.00002"))) == [urn("2503.00002")]
        for url in ("/feeds/search.rss", "/feeds/search.rss?q=", "/feeds/search.atom?q=%20"):
            empty = client.get(url)
            assert empty.status_code == 400, url
            assert "needs a query" in empty.text
        assert client.get("/feeds/search.rss?q=x&sort=worst").status_code == 400


def test_links_use_the_configured_base_url(engine: Engine, db_url: str, tmp_path: Path) -> None:
    seed(engine)
    with make_client(db_url, tmp_path, base_url="https://papers.example.org/") as client:
        feed = atom(client.get("/feeds/c/cs.CV.atom"))
    assert links(feed)["self"][0].get("href") == "https://papers.example.org/feeds/c/cs.CV.atom"
    assert links(feed)["alternate"][0].get("href") == "https://papers.example.org/c/cs.CV"
    entry = next(feed.iter(f"{A}entry"))
    assert links(entry)["alternate"][0].get("href") == (
        "https://papers.example.org/papers/2503.00002"
    )


def test_an_unchanged_feed_answers_304(client: TestClient) -> None:
    first = client.get("/feeds/daily.atom")
    again = client.get("/feeds/daily.atom")
    assert first.content == again.content  # dated by its papers, not by the clock
    etag = first.headers["etag"]
    cached = client.get("/feeds/daily.atom", headers={"if-none-match": etag})
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers["etag"] == etag


def test_feeds_of_an_empty_site_are_valid_and_empty(db_url: str, tmp_path: Path) -> None:
    with make_client(db_url, tmp_path) as client:
        channel = rss(client.get("/feeds/daily.rss"))
        assert channel.findtext("description") == "No papers have been announced yet."
        assert guids(channel) == []
        feed = atom(client.get("/feeds/daily.atom"))
        assert feed.findtext(f"{A}updated") == NOW.isoformat()
