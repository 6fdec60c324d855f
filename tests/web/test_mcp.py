"""`/mcp`: the paper tools over streamable HTTP, driven by the MCP package's own client
against the site on a real loopback port."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import Engine

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.domain import Paper
from paperroute.index.sync import rebuild_index
from paperroute.ingest.normalize import build_paper
from paperroute.store import api_tokens as token_store
from paperroute.store import users as user_store
from paperroute.store import votes as vote_store
from paperroute.store.db import make_engine, upgrade_schema
from paperroute.store.interests import add_interests
from paperroute.store.papers import ids_for_refs, set_hidden, upsert_papers
from tests.support import WordHashEmbedder, serve_app

NOW = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)
SITE = "https://papers.example.org"
TOOLS = {"search_papers", "get_paper", "similar_papers", "daily_papers", "for_you"}


def paper(n: int, day: str, title: str, abstract: str, **fields: Any) -> Paper:
    return build_paper(source="t", arxiv_id=f"2603.{n:05d}", title=title, abstract=abstract,
                       authors=["Ada Lovelace", "Alan Turing"], categories=["cs.LG"],
                       announced=day, **fields)  # fmt: skip


PAPERS = [
    paper(1, "2026-03-16", "Diffusion models for image editing", "We edit photos with diffusion."),
    paper(2, "2026-03-19", "Graph networks for molecules", "Message passing on molecules.",
          code_url="https://github.com/a/graphs"),
    paper(3, "2026-03-20", "Molecule graphs and message passing", "Graph networks on molecules."),
    paper(4, "2026-03-20", "Editing images with diffusion", "Language guided image diffusion."),
    paper(5, "2026-03-20", "A hidden paper about diffusion", "Spam about diffusion."),
]  # fmt: skip


@dataclass
class Site:
    url: str
    token: str  # ada's: she voted for the graphs paper
    fresh_token: str  # bob's: nothing to go on yet
    expired: str = ""
    revoked: str = ""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # On SQLite only: the tools read through the same stores the API tests run on both.
    home = tmp_path_factory.mktemp("mcp")
    db_url = f"sqlite:///{home / 'paperroute.db'}"
    engine = make_engine(db_url)
    upgrade_schema(engine)
    token, fresh = _seed(engine)
    with engine.begin() as conn:
        user = user_store.get_user_by_email(conn, "bob@example.org")
        assert user is not None
        old = NOW - dt.timedelta(days=2)
        expired = token_store.create_api_token(
            conn, user.id, "old", old, lifetime=dt.timedelta(days=1)
        )
        revoked = token_store.create_api_token(conn, user.id, "gone", old)
        (listed,) = [t for t in token_store.list_api_tokens(conn, user.id) if t.name == "gone"]
        token_store.revoke_api_token(conn, user.id, listed.id, NOW)
    settings = Settings(home=home, database_url=db_url, base_url=SITE)
    rebuild_index(engine, settings.index_root, WordHashEmbedder())
    app = create_app(settings, clock=lambda: NOW, embedder=WordHashEmbedder())
    with serve_app(app) as url:
        yield Site(url, token, fresh, expired, revoked)
    engine.dispose()


def _seed(engine: Engine) -> tuple[str, str]:
    with engine.begin() as conn:
        upsert_papers(conn, PAPERS, NOW)
        ids = ids_for_refs(conn, ["2603.00002", "2603.00005"])
        set_hidden(conn, ids["2603.00005"], NOW)
        ada = user_store.add_user(conn, "ada@example.org", NOW)
        bob = user_store.add_user(conn, "bob@example.org", NOW)
        vote_store.vote(conn, ada.id, ids["2603.00002"], NOW)
        add_interests(conn, ada.id, NOW, categories=["cs.LG"], paper_keys=["2603.00002"], texts=[])
        return (token_store.create_api_token(conn, ada.id, "mcp", NOW),
                token_store.create_api_token(conn, bob.id, "mcp", NOW))  # fmt: skip


def call(site: Site, token: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Open the MCP client with the token, list the tools, make the calls; their results."""

    async def run() -> list[Any]:
        headers = {"authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            transport = streamable_http_client(f"{site.url}/mcp", http_client=http)
            async with Client(transport) as client:
                listed = await client.list_tools()
                assert {t.name for t in listed.tools} == TOOLS
                return [await client.call_tool(name, args) for name, args in calls]

    return anyio.run(run)


def test_without_a_valid_token_the_answer_is_401_before_any_mcp(site: Site) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "t", "version": "1"}}}  # fmt: skip
    accept = {"accept": "application/json, text/event-stream"}
    refusals = [({}, "an API token is needed"), ({"authorization": "Basic eA=="}, "is needed"),
                ({"authorization": "Bearer pr_not-a-token"}, "not valid"),
                ({"authorization": f"Bearer {'x' * 5000}"}, "not valid"),
                ({"authorization": f"Bearer {site.expired}"}, "this API token expired on"),
                ({"authorization": f"Bearer {site.revoked}"}, "this API token was revoked on")]  # fmt: skip
    for headers, reason in refusals:
        answer = httpx.post(f"{site.url}/mcp", json=initialize, headers=accept | headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"] == "Bearer"
        assert reason in answer.json()["error"], headers
        assert "mcp-session-id" not in answer.headers
    assert httpx.get(f"{site.url}/mcp", headers=accept).status_code == 401
    # With a token: stateless, so a GET (a stream of server messages) is refused at once.
    token = {"authorization": f"Bearer {site.token}", "accept": "text/event-stream"}
    for method in ("GET", "DELETE"):
        refused = httpx.request(method, f"{site.url}/mcp", headers=token, timeout=10)
        assert refused.status_code == 405 and refused.headers["allow"] == "POST"

    async def without_token() -> None:
        async with Client(f"{site.url}/mcp") as client:
            await client.list_tools()

    with pytest.raises(Exception):  # noqa: B017 - the client has no single error for an HTTP 401
        anyio.run(without_token)


def test_the_tools_answer_with_arxiv_ids_and_links(site: Site) -> None:
    search, by_id, one, similar, day, trending, newest = (
        r.structured_content
        for r in call(site, site.token, [
            ("search_papers", {"query": "diffusion images", "limit": 5}),
            ("search_papers", {"query": "arXiv:2603.00002"}),
            ("get_paper", {"arxiv_id": "2603.00002v1"}),
            ("similar_papers", {"arxiv_id": "2603.00002", "limit": 3}),
            ("daily_papers", {"date": "2026-03-20"}),
            ("daily_papers", {"date": "2026-03-20", "sort": "trending", "limit": 1}),
            ("daily_papers", {}),
        ])
    )  # fmt: skip
    found = [hit["paper"]["arxiv_id"] for hit in search["papers"]]
    assert set(found[:2]) == {"2603.00001", "2603.00004"} and "2603.00005" not in found
    assert all("<b>" not in hit["snippet"] for hit in search["papers"])
    assert [hit["paper"]["arxiv_id"] for hit in by_id["papers"]] == ["2603.00002"]
    assert one["title"] == "Graph networks for molecules" and one["votes"] == 1
    assert one["authors"] == ["Ada Lovelace", "Alan Turing"] and one["announced"] == "2026-03-19"
    # Links to arXiv, and to the page here from the configured address, never the request's.
    assert one["links"] == {"abs": "https://arxiv.org/abs/2603.00002",
                            "pdf": "https://arxiv.org/pdf/2603.00002",
                            "page": f"{SITE}/papers/2603.00002",
                            "code": "https://github.com/a/graphs", "project": None}  # fmt: skip
    assert similar["paper_id"] == "2603.00002"
    assert similar["papers"][0]["paper"]["arxiv_id"] == "2603.00003"
    assert "2603.00002" not in [s["paper"]["arxiv_id"] for s in similar["papers"]]
    assert day["date"] == "2026-03-20" and day["total"] == 2
    assert [p["arxiv_id"] for p in day["papers"]] == ["2603.00004", "2603.00003"]
    assert len(trending["papers"]) == 1 and newest == day


def test_mistakes_come_back_as_tool_errors_that_say_what_to_do(site: Site) -> None:
    missing, bad_day, empty, too_many = call(site, site.token, [
        ("get_paper", {"arxiv_id": "2603.00005"}),  # hidden
        ("daily_papers", {"date": "20 March"}),
        ("search_papers", {"query": "  "}),
        ("search_papers", {"query": "graphs", "limit": 500}),
    ])  # fmt: skip
    assert all(r.is_error for r in (missing, bad_day, empty, too_many))
    assert "no paper '2603.00005' here" in missing.content[0].text
    assert "write YYYY-MM-DD" in bad_day.content[0].text
    assert "give words to search for" in empty.content[0].text
    assert "limit" in too_many.content[0].text


def test_for_you_is_the_token_users(site: Site) -> None:
    (ada,) = call(site, site.token, [("for_you", {"limit": 5})])
    (bob,) = call(site, site.fresh_token, [("for_you", {})])
    picked = ada.structured_content["papers"]
    assert picked and picked[0]["paper"]["arxiv_id"] == "2603.00003"  # like the graphs she voted
    assert all(p["reason"] for p in picked)
    assert "2603.00002" not in [p["paper"]["arxiv_id"] for p in picked]  # she has it already
    assert bob.structured_content == {"papers": []}


def test_the_site_serves_mcp_without_a_site_address_too(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'paperroute.db'}"
    engine = make_engine(db_url)
    upgrade_schema(engine)
    token, _ = _seed(engine)
    app = create_app(Settings(home=tmp_path, database_url=db_url), clock=lambda: NOW,
                     embedder=WordHashEmbedder())  # fmt: skip
    with serve_app(app) as url:
        (one,) = call(Site(url, token, token), token, [("get_paper", {"arxiv_id": "2603.00001"})])
    engine.dispose()
    # No configured address: no link to a page here rather than one made from the Host.
    assert one.structured_content["links"]["page"] is None
