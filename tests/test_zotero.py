"""Zotero sync through the Web API v3, against a server on loopback that answers as the API
does (its documented response shapes: keys, collections, items, write results)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine
from werkzeug import Request, Response

from paperroute.ingest.normalize import build_paper
from paperroute.ingest.zotero_sync import pull_collection, push_collection
from paperroute.store import collections as collection_store
from paperroute.store.papers import ids_for_refs, upsert_papers
from paperroute.store.users import add_user
from paperroute.zotero import ZoteroClient, ZoteroError

KEY = "AbCdEf0123456789GhIjKlMn"
USER = 4242
NOW = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)


@dataclass
class FakeZotero:
    """What the API keeps between requests: collections and items, by key."""

    collections: dict[str, str] = field(default_factory=dict[str, str])  # key -> name
    items: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    writes: list[list[dict[str, Any]]] = field(default_factory=list[list[dict[str, Any]]])

    def handle(self, request: Request) -> Response:
        if request.headers.get("Zotero-API-Key") != KEY:
            return Response("Forbidden", status=403)
        assert request.headers.get("Zotero-API-Version") == "3"
        path = request.path
        if path == f"/keys/{KEY}":
            return _json({"key": KEY, "userID": USER, "username": "ada", "access": {}})
        base = f"/users/{USER}"
        if path == f"{base}/collections" and request.method == "GET":
            rows = [{"key": k, "version": 1, "data": {"key": k, "name": n, "parentCollection": False}}
                    for k, n in self.collections.items()]  # fmt: skip
            return _page(rows, request)
        if path == f"{base}/collections" and request.method == "POST":
            assert request.headers.get("Zotero-Write-Token")
            made = {}
            for n, body in enumerate(request.get_json()):
                key = f"COLL{len(self.collections) + 1:04d}"
                self.collections[key] = body["name"]
                made[str(n)] = key
            return _json({"successful": {}, "success": made, "unchanged": {}, "failed": {}})
        if path == f"{base}/items" and request.method == "POST":
            batch = request.get_json()
            assert len(batch) <= 50
            self.writes.append(batch)
            made = {}
            for n, body in enumerate(batch):
                key = f"ITEM{len(self.items) + 1:04d}"
                self.items.append(body | {"key": key})
                made[str(n)] = key
            return _json({"successful": {}, "success": made, "unchanged": {}, "failed": {}})
        if path.startswith(f"{base}/collections/") and path.endswith("/items/top"):
            key = path.split("/")[4]
            rows = [{"key": i["key"], "version": 1, "data": i} for i in self.items
                    if key in i.get("collections", [])]  # fmt: skip
            return _page(rows, request)
        return Response("Not found", status=404)


def _json(body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=200, headers=headers, content_type="application/json")


def _page(rows: list[dict[str, Any]], request: Request) -> Response:
    start, limit = int(request.args.get("start", 0)), int(request.args.get("limit", 25))
    return _json(rows[start : start + limit], {"Total-Results": str(len(rows))})


@pytest.fixture
def zotero(httpserver: HTTPServer) -> Iterator[tuple[FakeZotero, str]]:
    fake = FakeZotero()
    httpserver.expect_request("").respond_with_handler(fake.handle)
    yield fake, httpserver.url_for("/").rstrip("/")


@pytest.fixture
def library(engine: Engine) -> tuple[int, int]:
    """A reader with a collection of two papers here; (user id, collection id)."""
    papers = [
        build_paper(source="t", arxiv_id="2503.00001", title="Sparse attention at scale",
                    abstract="a", authors=["Ada Lovelace", "Ludwig van Beethoven"], announced="2026-03-18"),
        build_paper(source="t", arxiv_id="2503.00002", title="Graph networks, again",
                    abstract="b", authors=["Alan Turing"], announced="2026-03-19", doi="10.1000/g"),
    ]  # fmt: skip
    with engine.begin() as conn:
        upsert_papers(conn, papers, NOW)
        user = add_user(conn, "ada@example.org", NOW)
        shelf = collection_store.create_collection(conn, user.id, "Reading list", NOW)
        for paper_id in ids_for_refs(conn, ["2503.00001", "2503.00002"]).values():
            collection_store.add_paper(conn, shelf.id, paper_id, NOW)
    return user.id, shelf.id


def test_push_sends_preprint_items_once(
    engine: Engine, zotero: tuple[FakeZotero, str], library: tuple[int, int]
) -> None:
    fake, url = zotero
    client = ZoteroClient(KEY, base_url=url)
    with engine.connect() as conn:
        first = push_collection(conn, client, library[1], "From paperroute")
        again = push_collection(conn, client, library[1], "From paperroute")
    assert (first.sent, first.already_there) == (2, 0)
    assert (again.sent, again.already_there) == (0, 2)
    assert list(fake.collections.values()) == ["From paperroute"]
    sent = {item["archiveID"]: item for item in fake.items}
    one = sent["arXiv:2503.00001"]
    assert one["itemType"] == "preprint" and one["repository"] == "arXiv"
    assert (
        one["DOI"] == "10.48550/arXiv.2503.00001"
        and one["url"] == "https://arxiv.org/abs/2503.00001"
    )
    assert one["creators"][1] == {
        "creatorType": "author",
        "firstName": "Ludwig",
        "lastName": "van Beethoven",
    }
    assert one["collections"] == ["COLL0001"] and one["date"] == "2026-03-18"
    assert sent["arXiv:2503.00002"]["DOI"] == "10.1000/g"


def test_pull_brings_a_zotero_collection_in(
    engine: Engine, zotero: tuple[FakeZotero, str], library: tuple[int, int]
) -> None:
    fake, url = zotero
    fake.collections["TOREAD01"] = "To read"
    fake.items += [
        {"key": "Z1", "itemType": "preprint", "title": "Sparse Attention at Scale",
         "archiveID": "arXiv:2503.00001", "collections": ["TOREAD01"]},
        {"key": "Z2", "itemType": "journalArticle", "title": "Graph networks, again (journal version)",
         "DOI": "10.1000/G", "collections": ["TOREAD01"]},
        {"key": "Z3", "itemType": "book", "title": "A book not here",
         "creators": [{"creatorType": "author", "firstName": "Grace", "lastName": "Hopper"}],
         "collections": ["TOREAD01"]},
        {"key": "Z4", "itemType": "note", "note": "<p>mine</p>", "collections": ["TOREAD01"]},
        {"key": "Z5", "itemType": "preprint", "title": "Elsewhere", "collections": ["OTHER"]},
    ]  # fmt: skip
    client = ZoteroClient(KEY, base_url=url)
    with engine.begin() as conn:
        report = pull_collection(conn, client, library[0], "To read", NOW, into="To read")
        filed = collection_store.paper_ids_in(conn, report.collection_id)
    assert report.entries == 3 and report.matched == 2 and len(filed) == 2
    assert [p.title for p in report.unmatched] == ["A book not here"]
    with pytest.raises(ZoteroError, match='no collection "Nope"'), engine.begin() as conn:
        pull_collection(conn, client, library[0], "Nope", NOW, into="x")


def test_a_wrong_key_gets_a_sentence(zotero: tuple[FakeZotero, str]) -> None:
    _, url = zotero
    with pytest.raises(ZoteroError, match="refused the key"):
        ZoteroClient("WrongKey0123456789", base_url=url).collections()
    with pytest.raises(ZoteroError, match="not a Zotero API key"):
        ZoteroClient("not a key!", base_url=url)
    with pytest.raises(ZoteroError, match="could not be reached"):
        ZoteroClient(KEY, base_url="http://127.0.0.1:9").collections()
