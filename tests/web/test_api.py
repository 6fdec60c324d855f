"""The /api/v1 JSON API over a real database and index: papers, search, votes, collections."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.domain import Paper
from paperroute.index.sync import rebuild_index
from paperroute.ingest.normalize import build_paper
from paperroute.store import collections as collection_store
from paperroute.store import users as user_store
from paperroute.store import votes as vote_store
from paperroute.store.papers import ids_for_refs, set_hidden, upsert_papers
from tests.support import WordHashEmbedder

NOW = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)


def paper(arxiv_id: str, day: str, title: str, abstract: str, cats: list[str], **kw: Any) -> Paper:
    return build_paper(source="t", arxiv_id=arxiv_id, title=title, abstract=abstract,
                       authors=["Ada Lovelace"], categories=cats, announced=day, **kw)  # fmt: skip


PAPERS = [
    paper("2603.00001", "2026-03-02", "Diffusion models for image editing",
          "We edit photos with text guided diffusion.", ["cs.CV"], upvotes=4),
    paper("2603.00002", "2026-03-05", "Reasoning in large language models",
          "Chain of thought makes language models reason.", ["cs.CL"]),
    paper("2603.00003", "2026-03-06", "Graph neural networks for molecules",
          "Message passing predicts molecular properties.", ["cs.LG", "q-bio.BM"],
          code_url="https://github.com/x/graphs"),
    paper("2603.00004", "2026-03-09", "Editing images with diffusion and language",
          "Language instructions guide image diffusion editing.", ["cs.CV", "cs.CL"]),
    paper("2603.00005", "2026-03-09", "Hidden diffusion spam",
          "Diffusion images editing spam.", ["cs.CV"]),
    paper("hep-th/9901001", "1999-01-04", "Strings on old diffusion branes",
          "An old style identifier.", ["hep-th"]),
]  # fmt: skip


@dataclass
class ApiSite:
    client: TestClient
    alice: dict[str, str]  # request headers with each user's API token
    bob: dict[str, str]


def build_app(engine: Engine, db_url: str, home: Path, *, index: bool = True) -> TestClient:
    settings = Settings(home=home, database_url=db_url)
    if index:
        rebuild_index(engine, settings.index_root, WordHashEmbedder())
    return TestClient(
        create_app(settings, clock=lambda: NOW, embedder=WordHashEmbedder()),
        base_url="http://127.0.0.1",
    )


@pytest.fixture
def api(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ApiSite]:
    with engine.begin() as conn:
        upsert_papers(conn, PAPERS, NOW)
        set_hidden(conn, ids_for_refs(conn, ["2603.00005"])["2603.00005"], NOW)
        tokens = [
            user_store.create_api_token(conn, user_store.add_user(conn, email, NOW).id, "t", NOW)
            for email in ("alice@example.org", "bob@example.org")
        ]
    alice, bob = ({"authorization": f"Bearer {t}"} for t in tokens)
    with build_app(engine, db_url, tmp_path) as client:
        yield ApiSite(client, alice, bob)


def keys(papers: list[dict[str, Any]]) -> list[str]:
    return [p["id"] for p in papers]


def test_papers_list_filters_sorts_and_pages(api: ApiSite) -> None:
    get = api.client.get
    body = get("/api/v1/papers").json()
    assert keys(body["papers"])[:4] == ["2603.00004", "2603.00003", "2603.00002", "2603.00001"]
    assert body["total"] == 5 and body["limit"] == 50 and body["offset"] == 0  # hidden left out
    ranged = get("/api/v1/papers", params={"since": "2026-03-05", "until": "2026-03-06"}).json()
    assert keys(ranged["papers"]) == ["2603.00003", "2603.00002"]
    in_cl = get("/api/v1/papers", params={"category": "cs.cl"}).json()  # spelling is forgiven
    assert keys(in_cl["papers"]) == ["2603.00004", "2603.00002"]  # cross-lists count
    old = get("/api/v1/papers", params={"category": "hep-th"}).json()
    assert keys(old["papers"]) == ["hep-th/9901001"]
    assert keys(get("/api/v1/papers", params={"sort": "votes"}).json()["papers"])[0] == "2603.00001"
    page = get("/api/v1/papers", params={"limit": 2, "offset": 2}).json()
    assert keys(page["papers"]) == ["2603.00002", "2603.00001"] and page["total"] == 5
    for params, status, message in [
        ({"since": "2026-03-09", "until": "2026-03-01"}, 400, "since (2026-03-09) is after until"),
        ({"category": "cs LG; drop"}, 422, "not an arXiv category"),
        ({"since": "yesterday"}, 422, "since"),
        ({"sort": "random"}, 422, "sort"),
        ({"limit": "0"}, 422, "limit"),
        ({"offset": str(10**30)}, 422, "offset"),
    ]:
        response = get("/api/v1/papers", params=params)
        assert response.status_code == status, params
        assert message in response.json()["error"], params


def test_a_paper_by_id_with_its_votes(api: ApiSite) -> None:
    client = api.client
    client.post("/api/v1/papers/2603.00003/vote", headers=api.alice)
    body = client.get("/api/v1/papers/2603.00003v1").json()
    assert body["id"] == "2603.00003" and body["votes"] == 1 and body["upvotes"] is None
    assert body["categories"] == ["cs.LG", "q-bio.BM"] and body["announced"] == "2026-03-06"
    assert body["links"] == {
        "page": "/papers/2603.00003", "abs": "https://arxiv.org/abs/2603.00003",
        "pdf": "https://arxiv.org/pdf/2603.00003", "code": "https://github.com/x/graphs",
        "project": None,
    }  # fmt: skip
    assert client.get("/api/v1/papers/hep-th/9901001").json()["title"].startswith("Strings")
    for missing in ("2603.99999", "2603.00005", "%00", "x" * 300):
        response = client.get(f"/api/v1/papers/{missing}")
        assert response.status_code == 404 and "no paper" in response.json()["error"]


def test_search_with_filters_highlights_and_pages(api: ApiSite) -> None:
    def search(**params: Any) -> dict[str, Any]:
        response = api.client.get("/api/v1/search", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    found = search(q="diffusion editing")
    assert keys([h["paper"] for h in found["hits"]])[0] == "2603.00004"
    assert "2603.00005" not in keys([h["paper"] for h in found["hits"]])  # hidden
    assert "<b>" in found["hits"][0]["title_html"] + found["hits"][0]["snippet_html"]
    in_cl = search(q="diffusion", category="cs.CL", mode="lexical")
    assert keys([h["paper"] for h in in_cl["hits"]]) == ["2603.00004"]
    assert in_cl["query"] == "diffusion cat:cs.CL"
    since = search(q="diffusion", since="2026-03-03", until="2026-03-31", sort="date")
    assert keys([h["paper"] for h in since["hits"]]) == ["2603.00004"]
    first = search(q="diffusion", mode="semantic", limit=1)
    assert len(first["hits"]) == 1 and first["has_more"]
    assert search(q="diffusion", mode="semantic", limit=1, offset=1)["hits"] != first["hits"]
    by_id = search(q="arXiv:2603.00002")
    assert keys([h["paper"] for h in by_id["hits"]]) == ["2603.00002"]
    assert search(q="diffusion cat:nonsense!")["warnings"]
    for params, message in [
        ({}, "q:"),
        ({"q": "x", "mode": "fuzzy"}, "mode"),
        ({"q": "x", "limit": "1000"}, "limit"),
        ({"q": "x", "offset": "5000"}, "offset"),
        ({"q": "x", "category": "../etc"}, "not an arXiv category"),
    ]:
        response = api.client.get("/api/v1/search", params=params)
        assert response.status_code == 422 and message in response.json()["error"], params


def test_similar_papers(api: ApiSite) -> None:
    body = api.client.get("/api/v1/papers/2603.00001/similar", params={"limit": 3}).json()
    similar = keys([s["paper"] for s in body["papers"]])
    assert body["paper_id"] == "2603.00001" and len(similar) == 3
    assert similar[0] == "2603.00004"
    assert "2603.00001" not in similar and "2603.00005" not in similar
    assert api.client.get("/api/v1/papers/2603.99999/similar").status_code == 404


def test_search_and_similar_without_an_index(engine: Engine, db_url: str, tmp_path: Path) -> None:
    with engine.begin() as conn:
        upsert_papers(conn, PAPERS, NOW)
    with build_app(engine, db_url, tmp_path, index=False) as client:
        for url in ("/api/v1/search?q=diffusion", "/api/v1/papers/2603.00001/similar"):
            response = client.get(url)
            assert response.status_code == 503
            assert "paperroute index rebuild" in response.json()["error"]


def test_votes_need_a_token_and_count_once(api: ApiSite) -> None:
    client, url = api.client, "/api/v1/papers/2603.00002/vote"
    refused = client.post(url)
    assert refused.status_code == 401 and "API token" in refused.json()["error"]
    assert refused.headers["www-authenticate"] == "Bearer"
    assert client.post(url, headers={"authorization": "Bearer pr_forged"}).status_code == 401
    assert client.post(url, headers={"authorization": "Basic YTpi"}).status_code == 401
    assert client.post(url, headers=api.alice).json() == {
        "paper_id": "2603.00002", "voted": True, "votes": 1
    }  # fmt: skip
    assert client.post(url, headers=api.alice).json()["votes"] == 1
    assert client.post(url, headers=api.bob).json()["votes"] == 2
    assert client.delete(url, headers=api.alice).json() == {
        "paper_id": "2603.00002", "voted": False, "votes": 1
    }  # fmt: skip
    assert client.delete(url, headers=api.alice).json()["votes"] == 1
    assert client.get("/api/v1/papers/2603.00002").json()["votes"] == 1
    assert client.post("/api/v1/papers/2603.00005/vote", headers=api.alice).status_code == 404


def test_collections_belong_to_their_owner(api: ApiSite) -> None:
    client, alice, bob = api.client, api.alice, api.bob
    assert client.get("/api/v1/collections").status_code == 401
    created = client.post("/api/v1/collections", json={"name": "  To read  "}, headers=alice)
    assert created.status_code == 201
    mine = created.json()
    assert mine["name"] == "To read" and mine["public"] is False and mine["size"] == 0
    url = f"/api/v1/collections/{mine['id']}"
    for _ in range(2):  # adding twice keeps one
        added = client.put(f"{url}/papers/2603.00003v2", headers=alice)
        assert added.status_code == 200 and added.json()["size"] == 1
    client.put(f"{url}/papers/hep-th/9901001", headers=alice)
    detail = client.get(url, headers=alice).json()
    assert keys(detail["papers"]) == ["2603.00003", "hep-th/9901001"] and detail["total"] == 2
    assert [c["id"] for c in client.get("/api/v1/collections", headers=alice).json()] == [
        mine["id"]
    ]
    assert client.get("/api/v1/collections", headers=bob).json() == []
    # Someone else's private collection does not exist, whatever they try.
    for response in (
        client.get(url),
        client.get(url, headers=bob),
        client.patch(url, json={"public": True}, headers=bob),
        client.put(f"{url}/papers/2603.00001", headers=bob),
        client.delete(f"{url}/papers/2603.00003", headers=bob),
        client.delete(url, headers=bob),
    ):
        assert response.status_code == 404, response.request.method
        assert "no collection" in response.json()["error"]
    renamed = client.patch(url, json={"name": "Reading", "public": True}, headers=alice).json()
    assert renamed["name"] == "Reading" and renamed["public"] is True
    public = client.get(url)  # no token needed now
    assert public.status_code == 200 and public.json()["size"] == 2
    assert client.get(url, headers=bob).status_code == 200
    removed = client.delete(f"{url}/papers/2603.00003", headers=alice)
    assert removed.json()["size"] == 1
    assert client.put(f"{url}/papers/2603.00005", headers=alice).status_code == 404  # hidden
    assert client.delete(url, headers=alice).status_code == 204
    assert client.get(url, headers=alice).status_code == 404


def test_collection_input_is_checked(api: ApiSite) -> None:
    client, alice = api.client, api.alice
    for body, message in [
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "ok", "owner": 2}, "owner"),
        ({}, "name"),
        ([], "dictionary"),
    ]:
        response = client.post("/api/v1/collections", json=body, headers=alice)
        assert response.status_code == 422 and message in response.json()["error"], body
    broken = client.post(
        "/api/v1/collections",
        content=b"{not json",
        headers=alice | {"content-type": "application/json"},
    )
    assert broken.status_code == 422 and "error" in broken.json()
    made = client.post("/api/v1/collections", json={"name": "x"}, headers=alice).json()
    nothing = client.patch(f"/api/v1/collections/{made['id']}", json={}, headers=alice)
    assert nothing.status_code == 422 and "name" in nothing.json()["error"]
    for bad_id in ("0", "abc", str(2**40)):
        assert client.get(f"/api/v1/collections/{bad_id}").status_code == 422


def test_openapi_documents_every_api_route(api: ApiSite) -> None:
    schema = api.client.get("/openapi.json").json()
    assert "ApiToken" in schema["components"]["securitySchemes"]
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            ok = next(code for code in responses if code.startswith("2"))
            if ok != "204":
                assert "schema" in responses[ok]["content"]["application/json"], (path, method)
            errors = [code for code in responses if code.startswith(("4", "5"))]
            assert errors, (path, method)
            for code in errors:
                ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut"), (path, method, code)
    vote = schema["paths"]["/api/v1/papers/{paper_id}/vote"]["post"]
    assert vote["security"] == [{"ApiToken": []}]


def test_listings_cost_the_same_queries_for_many_papers(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    many = [
        paper(f"2604.{n:05d}", "2026-04-01", f"Paper {n}", "Text.", ["cs.LG"], upvotes=n)
        for n in range(60)
    ]
    with engine.begin() as conn:
        upsert_papers(conn, many, NOW)
        user = user_store.add_user(conn, "carol@example.org", NOW)
        token = user_store.create_api_token(conn, user.id, "t", NOW)
        collection = collection_store.create_collection(conn, user.id, "All", NOW, is_public=True)
        for paper_id in ids_for_refs(conn, [p.key or p.arxiv_id or "" for p in many]).values():
            collection_store.add_paper(conn, collection.id, paper_id, NOW)
            vote_store.vote(conn, user.id, paper_id, NOW)
    statements: list[object] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    with build_app(engine, db_url, tmp_path, index=False) as client:
        engine_of_app = client.app.state.engine  # type: ignore[attr-defined]
        event.listen(engine_of_app, "before_cursor_execute", count)
        headers = {"authorization": f"Bearer {token}"}
        client.get("/api/v1/collections", headers=headers)  # the token's first use is written
        for url in ("/api/v1/papers?sort=votes", f"/api/v1/collections/{collection.id}"):
            costs: list[int] = []
            for limit in (2, 50):
                statements.clear()
                body = client.get(
                    f"{url}{'&' if '?' in url else '?'}limit={limit}", headers=headers
                )
                assert len(body.json()["papers"]) == limit
                costs.append(len(statements))
            assert costs[0] == costs[1] <= 8, (url, costs)
        event.remove(engine_of_app, "before_cursor_execute", count)
