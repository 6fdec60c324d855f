"""`paperroute mcp` over stdio, spawned as an assistant would, driven by the MCP package's client."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from paperroute.config import Settings
from paperroute.index.embed import load_embedder
from paperroute.index.sync import rebuild_index
from paperroute.ingest.normalize import build_paper
from paperroute.mcp_server import Caller, PaperTools, build_server
from paperroute.rank.for_you import CandidateCache
from paperroute.search.live import LiveSearch
from paperroute.store import users as user_store
from paperroute.store import votes as vote_store
from paperroute.store.db import make_engine
from paperroute.store.papers import ids_for_refs, upsert_papers
from tests.cli.conftest import Invoke
from tests.support import WordHashEmbedder

NOW = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)
PAPERS = [
    ("2603.00001", "2026-03-19", "Diffusion models for image editing",
     "We edit photographs with text-guided diffusion models."),
    ("2603.00002", "2026-03-19", "Graph neural networks for molecules",
     "Message passing networks predict the properties of molecules."),
    ("2603.00003", "2026-03-20", "Molecular property prediction with graph networks",
     "Graph neural networks learn chemistry from molecular graphs."),
    ("2603.00004", "2026-03-20", "Robots that learn to walk",
     "Reinforcement learning trains legged robots in simulation."),
]  # fmt: skip


@pytest.fixture
def db_url(sqlite_db_url: str) -> str:
    """SQLite only here: the command is tested; the stores are tested on both databases."""
    return sqlite_db_url


@pytest.fixture
def corpus(db_url: str, cli_env: dict[str, str]) -> dict[str, str]:
    """A few papers, indexed with the real model, and a reader who voted for one."""
    engine = make_engine(db_url)
    papers = [build_paper(source="t", arxiv_id=i, title=t, abstract=a, authors=["Ada Lovelace"],
                          categories=["cs.LG"], announced=day) for i, day, t, a in PAPERS]  # fmt: skip
    with engine.begin() as conn:
        upsert_papers(conn, papers, NOW)
        ada = user_store.add_user(conn, "ada@example.org", NOW)
        vote_store.vote(conn, ada.id, ids_for_refs(conn, ["2603.00002"])["2603.00002"], NOW)
    settings = Settings(home=Path(cli_env["PAPERROUTE_HOME"]), database_url=db_url)
    rebuild_index(engine, settings.index_root, load_embedder("minilm"))
    engine.dispose()
    return cli_env | {"PAPERROUTE_BASE_URL": "https://papers.example.org"}


def over_stdio(
    env: dict[str, str], *args: str, calls: list[tuple[str, dict[str, Any]]]
) -> list[Any]:
    server = StdioServerParameters(command=sys.executable, args=["-m", "paperroute", "mcp", *args],
                                   env=env)  # fmt: skip

    async def run() -> list[Any]:
        with anyio.fail_after(120):
            return await session()

    async def session() -> list[Any]:
        async with Client(server) as client:
            tools = await client.list_tools()
            assert {t.name for t in tools.tools} == {
                "search_papers", "get_paper", "similar_papers", "daily_papers", "for_you"
            }  # fmt: skip
            assert all(t.annotations and t.annotations.read_only_hint for t in tools.tools)
            return [await client.call_tool(name, arguments) for name, arguments in calls]

    return anyio.run(run)


@pytest.mark.slow  # separate processes, killed or served: seconds each
def test_an_assistant_searches_and_reads_papers_over_stdio(corpus: dict[str, str]) -> None:
    search, cat, paper, similar, day, mine = over_stdio(corpus, "--user", "ada@example.org", calls=[
        ("search_papers", {"query": "how do neural networks predict chemistry?", "limit": 2}),
        ("search_papers", {"query": "robots -diffusion cat:cs.LG", "mode": "lexical"}),
        ("get_paper", {"arxiv_id": "2603.00002"}),
        ("similar_papers", {"arxiv_id": "2603.00002", "limit": 1}),
        ("daily_papers", {}),
        ("for_you", {"limit": 3}),
    ])  # fmt: skip
    hits = search.structured_content["papers"]
    assert {h["paper"]["arxiv_id"] for h in hits} == {"2603.00002", "2603.00003"}
    assert [h["paper"]["arxiv_id"] for h in cat.structured_content["papers"]] == ["2603.00004"]
    assert paper.structured_content["links"] == {
        "abs": "https://arxiv.org/abs/2603.00002", "pdf": "https://arxiv.org/pdf/2603.00002",
        "page": "https://papers.example.org/papers/2603.00002", "code": None, "project": None,
    }  # fmt: skip
    assert paper.structured_content["votes"] == 1
    assert "2603.00002" in paper.content[0].text  # the text form, for clients without structure
    assert [s["paper"]["arxiv_id"] for s in similar.structured_content["papers"]] == ["2603.00003"]
    assert day.structured_content["date"] == "2026-03-20"
    assert [p["arxiv_id"] for p in day.structured_content["papers"]] == ["2603.00004", "2603.00003"]
    assert mine.structured_content["papers"][0]["paper"]["arxiv_id"] == "2603.00003"


def test_without_a_reader_for_you_says_how_to_name_one(db_url: str, tmp_path: Path) -> None:
    # In process (the client can hold a server itself): nothing but the tools is in question.
    engine = make_engine(db_url)
    search = LiveSearch(engine, tmp_path / "index", WordHashEmbedder)
    tools = PaperTools(engine, search, CandidateCache("none"), None, lambda: NOW)
    server = build_server(lambda _: Caller(tools, None))

    async def run() -> Any:
        async with Client(server) as client:
            return await client.call_tool("for_you", {})

    mine = anyio.run(run)
    engine.dispose()
    assert mine.is_error and "paperroute mcp --user EMAIL" in mine.content[0].text


def test_an_unknown_reader_is_refused_with_a_message(invoke: Invoke) -> None:
    invoke("init")
    out = invoke("mcp", "--user", "nobody@example.org", expect=1).output
    assert "no user 'nobody@example.org'" in out


def test_help_says_how_an_assistant_starts_it(invoke: Invoke) -> None:
    out = " ".join(invoke("mcp", "--help").output.split())
    assert "Example: paperroute mcp --user ada@example.org" in out and "/mcp" in out
