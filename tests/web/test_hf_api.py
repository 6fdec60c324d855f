"""The Hugging Face compatible API: the Hub's shapes, over a real database and index."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from sqlalchemy import Engine, event

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.domain import Paper, Version
from paperroute.index.sync import rebuild_index
from paperroute.ingest.normalize import build_paper
from paperroute.ingest.sources.hf_daily import item_to_paper
from paperroute.store import users as user_store
from paperroute.store import votes as vote_store
from paperroute.store.db import make_engine, upgrade_schema
from paperroute.store.papers import ids_for_refs, set_hidden, upsert_papers
from tests.support import WordHashEmbedder, serve_app

NOW = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)
HF_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ITEM_KEYS = {"paper", "publishedAt", "title", "summary", "thumbnail", "numComments",
             "submittedBy", "isAuthorParticipating"}  # fmt: skip
PAPER_KEYS = {"id", "authors", "publishedAt", "submittedOnDailyAt", "submittedOnDailyBy",
              "title", "summary", "upvotes", "discussionId", "numComments"}  # fmt: skip


def paper(n: int, day: str, title: str, abstract: str, **fields: Any) -> Paper:
    return build_paper(source="t", arxiv_id=f"2603.{n:05d}", title=title, abstract=abstract,
                       authors=["Ada Lovelace", "Alan Turing"], categories=["cs.LG"],
                       announced=day, **fields)  # fmt: skip


PAPERS = [
    paper(1, "2026-03-16", "Diffusion models for image editing", "We edit photos with diffusion.",
          upvotes=3),
    paper(2, "2026-03-18", "Reasoning in large language models", "Chain of thought reasoning.",
          versions=[Version(1, dt.date(2026, 3, 14)), Version(2, dt.date(2026, 3, 17))]),
    paper(3, "2026-03-20", "Graph networks for molecules", "Message passing on molecules.",
          code_url="https://github.com/a/graphs", github_stars=42,
          project_url="https://graphs.example.org", upvotes=5),
    paper(4, "2026-03-20", "Editing images with language", "Language guided image diffusion."),
    paper(5, "2026-03-20", "A hidden paper about diffusion", "Spam about diffusion."),
    paper(6, "2026-02-27", "Last month's diffusion survey", "A survey of diffusion models."),
]  # fmt: skip


def seed(engine: Engine, papers: list[Paper]) -> None:
    with engine.begin() as conn:
        upsert_papers(conn, papers, NOW)


def build_app(engine: Engine, db_url: str, home: Path, *, index: bool = True) -> FastAPI:
    settings = Settings(home=home, database_url=db_url)
    if index:
        rebuild_index(engine, settings.index_root, WordHashEmbedder())
    return create_app(settings, clock=lambda: NOW, embedder=WordHashEmbedder())


@pytest.fixture
def client(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    seed(engine, PAPERS)
    with engine.begin() as conn:
        ids = ids_for_refs(conn, ["2603.00003", "2603.00005"])
        set_hidden(conn, ids["2603.00005"], NOW)
        for email in ("a@example.org", "b@example.org"):
            user = user_store.add_user(conn, email, NOW)
            vote_store.vote(conn, user.id, ids["2603.00003"], NOW)
    with TestClient(
        build_app(engine, db_url, tmp_path), base_url="http://127.0.0.1"
    ) as test_client:
        yield test_client


def ids_of(items: list[dict[str, Any]]) -> list[str]:
    return [item["paper"]["id"] for item in items]


def test_daily_papers_have_the_hubs_shape(client: TestClient) -> None:
    response = client.get("/api/daily_papers")
    assert response.status_code == 200
    items = response.json()
    # The newest day by default, hidden papers left out, newest id first.
    assert ids_of(items) == ["2603.00004", "2603.00003"]
    item = items[1]
    assert set(item) == ITEM_KEYS
    assert set(item["paper"]) == PAPER_KEYS | {"githubRepo", "githubStars", "projectPage"}
    assert set(items[0]["paper"]) == PAPER_KEYS  # no links: left out, like the Hub does
    inner = item["paper"]
    assert inner["upvotes"] == 2 + 5  # two votes here, five from elsewhere
    assert inner["githubRepo"] == "https://github.com/a/graphs" and inner["githubStars"] == 42
    assert inner["projectPage"] == "https://graphs.example.org"
    assert [a["name"] for a in inner["authors"]] == ["Ada Lovelace", "Alan Turing"]
    assert all(set(a) == {"_id", "name", "hidden"} and not a["hidden"] for a in inner["authors"])
    assert re.fullmatch(r"[0-9a-f]{24}", inner["discussionId"])
    assert item["publishedAt"] == "2026-03-20T00:00:00.000Z"
    assert all(HF_TIME.match(t) for t in (inner["publishedAt"], inner["submittedOnDailyAt"]))
    assert item["title"] == inner["title"] == "Graph networks for molecules"
    assert item["summary"] == inner["summary"] and item["thumbnail"] is None
    assert item["numComments"] == 0 and item["isAuthorParticipating"] is False
    assert item["submittedBy"]["name"] == "paperroute"


def test_daily_papers_by_day_week_month_sorted_and_paged(client: TestClient) -> None:
    def ids(**params: Any) -> list[str]:
        response = client.get("/api/daily_papers", params=params)
        assert response.status_code == 200, response.text
        return ids_of(response.json())

    assert ids(date="2026-03-18") == ["2603.00002"]
    assert ids(date="2026-03-21") == []
    week = ["2603.00004", "2603.00003", "2603.00002", "2603.00001"]
    assert ids(week="2026-W12") == week
    assert ids(month="2026-02") == ["2603.00006"]
    assert ids(week="2026-W12", sort="trending") == [
        "2603.00003", "2603.00001", "2603.00004", "2603.00002"
    ]  # fmt: skip
    assert ids(week="2026-W12", limit=3, p=1) == week[3:]
    assert ids(week="2026-W12", submitter="someone") == []
    # The paper's own date is when arXiv first had it: its first version.
    item = client.get("/api/daily_papers", params={"date": "2026-03-18"}).json()[0]
    assert item["paper"]["publishedAt"] == "2026-03-14T00:00:00.000Z"


BAD_PARAMETERS = [
    ({"date": "2026-13-01"}, 422, "date"),
    ({"week": "2026-W60"}, 422, "not an ISO week"),
    ({"week": "last week"}, 422, "not an ISO week"),
    ({"month": "2026-13"}, 422, "not a month"),
    ({"date": "2026-03-20", "month": "2026-03"}, 400, "only one of"),
    ({"sort": "oldest"}, 422, "sort"),
    ({"limit": "101"}, 422, "limit"),
    ({"p": "-1"}, 422, "p"),
    ({"p": "99999999999999999999999"}, 422, "p"),
]


def test_bad_parameters_get_a_json_error(engine: Engine, db_url: str, tmp_path: Path) -> None:
    with TestClient(
        build_app(engine, db_url, tmp_path, index=False), base_url="http://127.0.0.1"
    ) as client:
        for params, status, message in BAD_PARAMETERS:
            response = client.get("/api/daily_papers", params=params)
            assert response.status_code == status, params
            assert message in response.json()["error"], params


def test_paper_info_and_not_found(client: TestClient) -> None:
    response = client.get("/api/papers/2603.00003v2")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "2603.00003" and body["upvotes"] == 7
    assert set(body) == PAPER_KEYS | {"githubRepo", "githubStars", "projectPage"}
    for unknown in ("2603.99999", "2603.00005", "%00", "x" * 500):
        missing = client.get(f"/api/papers/{unknown}")
        assert missing.status_code == 404 and "no paper" in missing.json()["error"]


def test_search_finds_papers_in_the_item_shape(client: TestClient) -> None:
    found = client.get("/api/papers/search", params={"q": "diffusion", "limit": 10}).json()
    assert ids_of(found)[0] in {"2603.00001", "2603.00006"}
    assert "2603.00005" not in ids_of(found)  # hidden
    assert all(set(item) == ITEM_KEYS for item in found)
    assert len(client.get("/api/papers/search", params={"q": "diffusion", "limit": 1}).json()) == 1
    by_id = client.get("/api/papers/search", params={"q": "2603.00003"}).json()
    assert ids_of(by_id) == ["2603.00003"] and by_id[0]["paper"]["upvotes"] == 7
    newest = client.get("/api/papers/search").json()
    assert ids_of(newest)[:2] == ["2603.00004", "2603.00003"]


def test_search_without_an_index_says_how_to_build_it(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    seed(engine, PAPERS)
    with TestClient(
        build_app(engine, db_url, tmp_path, index=False), base_url="http://127.0.0.1"
    ) as client:
        response = client.get("/api/papers/search", params={"q": "diffusion"})
    assert response.status_code == 503
    assert "paperroute index rebuild" in response.json()["error"]


def test_a_page_of_papers_costs_the_same_queries_as_a_few(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    many = [paper(100 + n, "2026-03-20", f"Paper {n}", "Text.", upvotes=n) for n in range(60)]
    seed(engine, many)
    app = build_app(engine, db_url, tmp_path, index=False)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    with TestClient(app, base_url="http://127.0.0.1") as client:
        event.listen(app.state.engine, "before_cursor_execute", count)
        costs: dict[tuple[str, int], int] = {}
        for sort in ("publishedAt", "trending"):
            for limit in (2, 50, 2):
                statements.clear()
                params = {"limit": limit, "sort": sort}
                items = client.get("/api/daily_papers", params=params).json()
                assert len(items) == limit
                costs[sort, limit] = len(statements)
        event.remove(app.state.engine, "before_cursor_execute", count)
    assert costs["publishedAt", 2] == costs["publishedAt", 50] <= 6, statements
    # Trending reads the window's signals: three grouped counts more, whatever the page size.
    assert costs["trending", 2] == costs["trending", 50] <= 9, statements


def test_the_hub_client_reads_this_api(tmp_path: Path) -> None:
    # On SQLite only: the other tests show both databases give the same JSON.
    db_url = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = make_engine(db_url)
    upgrade_schema(engine)
    seed(engine, PAPERS)
    with serve_app(build_app(engine, db_url, tmp_path)) as base_url:
        api = HfApi(endpoint=base_url, token=False)
        daily = list(api.list_daily_papers(date="2026-03-20", sort="trending", limit=10))
        assert [p.id for p in daily] == ["2603.00003", "2603.00005", "2603.00004"]
        first = daily[0]
        assert first.title == "Graph networks for molecules" and first.upvotes == 5
        assert first.authors is not None and first.authors[0].name == "Ada Lovelace"
        assert first.submitted_at == dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
        assert first.published_at == dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
        assert first.submitted_by is not None and first.submitted_by.username == "paperroute"
        paged = api.list_daily_papers(week="2026-W12", p=1, limit=3)
        assert [p.id for p in paged] == ["2603.00002", "2603.00001"]
        found = list(api.list_papers(query="molecules", limit=5))
        assert found[0].id == "2603.00003" and found[0].summary
        info = api.paper_info("2603.00003")
        assert info.title == "Graph networks for molecules" and info.upvotes == 5
        assert info.github_repo == "https://github.com/a/graphs" and info.github_stars == 42
        assert info.project_page == "https://graphs.example.org"
        assert info.submitted_at == dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
        with pytest.raises(HfHubHTTPError) as missing:
            api.paper_info("2603.99999")
        assert missing.value.response.status_code == 404
    engine.dispose()


def test_our_own_hugging_face_importer_reads_what_we_serve(client: TestClient) -> None:
    items = client.get("/api/daily_papers", params={"week": "2026-W12"}).json()
    day = dt.date(2026, 3, 20)
    read = {p.arxiv_id: p for p in (item_to_paper(item, day) for item in items)}
    graphs = read["2603.00003"]
    assert graphs.title == "Graph networks for molecules"
    assert graphs.authors == ("Ada Lovelace", "Alan Turing") and graphs.upvotes == 7
    assert graphs.code_url == "https://github.com/a/graphs" and graphs.github_stars == 42
    assert read["2603.00002"].submitted == dt.date(2026, 3, 14)
