"""The current `huggingface_hub` client against the site on a loopback port: every paper
method it has, every filter `list_daily_papers` sends, and the Hub's own fields of papers
that came from Hugging Face's daily list, kept when ingested and passed through as they were."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import huggingface_hub
import orjson
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from sqlalchemy import Engine

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.domain import Paper
from paperroute.index.sync import rebuild_index
from paperroute.ingest.normalize import build_paper
from paperroute.ingest.sources.hf_daily import read_hf_daily
from paperroute.store import users as user_store
from paperroute.store import votes as vote_store
from paperroute.store.db import make_engine, upgrade_schema
from paperroute.store.papers import get_paper, ids_for_refs, set_hidden, upsert_papers
from tests.conftest import FIXTURES
from tests.support import WordHashEmbedder, serve_app

NOW = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)
DAILY = FIXTURES / "hf-daily" / "daily_papers-2025-03-18.json"
ORG = {"_id": "5e6aca39878b8b2bf9806447", "name": "example-org", "fullname": "Example Lab",
       "avatar": "https://example.org/avatar.png"}  # fmt: skip


def paper(n: int, day: str, title: str, **fields: Any) -> Paper:
    return build_paper(source="t", arxiv_id=f"2603.{n:05d}", title=title, abstract=f"{title}.",
                       authors=["Ada Lovelace"], categories=["cs.LG"], announced=day,
                       **fields)  # fmt: skip


OURS = [
    paper(1, "2026-02-27", "Last month's survey"),
    paper(2, "2026-03-18", "Reasoning in language models", upvotes=4),
    paper(3, "2026-03-20", "Graph networks for molecules", upvotes=1,
          code_url="https://github.com/a/graphs", github_stars=42),
    paper(4, "2026-03-20", "Editing images with diffusion", upvotes=9),
    paper(5, "2026-03-20", "A hidden paper"),
]  # fmt: skip


def hub_papers() -> list[Paper]:
    """The recorded daily list, as our importer reads it; its first paper has an organization."""
    items = orjson.loads(DAILY.read_bytes())
    items[0]["organization"] = ORG
    read = read_hf_daily(orjson.dumps(items), str(DAILY), dt.date(2026, 3, 19))
    return [p for p in read if isinstance(p, Paper)]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HfApi]:
    # SQLite only: tests/web/test_hf_api.py shows both databases answer the same JSON.
    home = tmp_path_factory.mktemp("hub")
    db_url = f"sqlite:///{home / 'paperroute.db'}"
    engine = make_engine(db_url)
    upgrade_schema(engine)
    _seed(engine)
    settings = Settings(home=home, database_url=db_url)
    rebuild_index(engine, settings.index_root, WordHashEmbedder())
    with serve_app(create_app(settings, clock=lambda: NOW, embedder=WordHashEmbedder())) as url:
        yield HfApi(endpoint=url, token=False)
    engine.dispose()


def _seed(engine: Engine) -> None:
    with engine.begin() as conn:
        upsert_papers(conn, [*OURS, *hub_papers()], NOW)
        ids = ids_for_refs(conn, ["2603.00003", "2603.00005"])
        set_hidden(conn, ids["2603.00005"], NOW)
        user = user_store.add_user(conn, "a@example.org", NOW)
        vote_store.vote(conn, user.id, ids["2603.00003"], NOW)


def test_the_newest_client_is_the_one_tested() -> None:
    assert tuple(int(x) for x in huggingface_hub.__version__.split(".")[:2]) >= (2, 4)


def ids(papers: Any) -> list[str]:
    return [p.id for p in papers]


def test_list_daily_papers_honours_every_filter_the_client_sends(api: HfApi) -> None:
    assert ids(api.list_daily_papers()) == ["2603.00004", "2603.00003"]  # the newest day
    assert ids(api.list_daily_papers(date="2026-03-18")) == ["2603.00002"]
    assert ids(api.list_daily_papers(date="2026-03-21")) == []
    week = ids(api.list_daily_papers(week="2026-W12"))
    assert week == ["2603.00004", "2603.00003", "2503.12087", "2503.11742", "2503.11731",
                    "2603.00002"]  # fmt: skip
    assert ids(api.list_daily_papers(month="2026-02")) == ["2603.00001"]
    assert ids(api.list_daily_papers(month="2026-03", limit=2)) == week[:2]
    assert ids(api.list_daily_papers(week="2026-W12", p=2, limit=2)) == week[4:]
    assert ids(api.list_daily_papers(date="2026-03-20", sort="publishedAt")) == week[:2]
    # Trending: this site's votes and Hub upvotes over the paper's age.
    assert ids(api.list_daily_papers(date="2026-03-20", sort="trending")) == [
        "2603.00004", "2603.00003"
    ]  # fmt: skip
    # Every paper here is put on the list by the site itself: its submitter.
    assert ids(api.list_daily_papers(week="2026-W12", submitter="paperroute")) == week
    assert ids(api.list_daily_papers(week="2026-W12", submitter="akhaliq")) == []
    with pytest.raises(HfHubHTTPError) as both:
        list(api.list_daily_papers(week="2026-W12", month="2026-03"))
    assert both.value.response.status_code == 400


def test_paper_info_passes_the_hubs_fields_through(api: HfApi) -> None:
    recorded = orjson.loads(DAILY.read_bytes())[0]["paper"]
    info = api.paper_info("2503.11731")
    assert info.title == recorded["title"]
    assert info.ai_summary == recorded["ai_summary"]
    assert info.ai_keywords == recorded["ai_keywords"]
    assert info.github_repo == recorded["githubRepo"]
    assert info.github_stars == recorded["githubStars"]
    assert info.project_page == recorded["projectPage"]
    assert info.organization is not None
    assert (info.organization.name, info.organization.fullname) == ("example-org", "Example Lab")
    assert info.organization.__dict__["avatar"] == ORG["avatar"]
    assert info.upvotes == recorded["upvotes"]
    assert info.submitted_by is not None and info.submitted_by.username == "paperroute"


def test_what_the_hub_did_not_say_is_absent_not_made_up(api: HfApi) -> None:
    bare = api.paper_info("2503.11742")  # on the Hub's list, without notes
    ours = api.paper_info("2603.00003")  # from another source, with a code link
    for info in (bare, ours):
        assert info.ai_summary is None and info.ai_keywords is None and info.organization is None
    assert bare.github_repo is None and bare.project_page is None and bare.github_stars is None
    assert ours.github_repo == "https://github.com/a/graphs" and ours.github_stars == 42
    assert ours.upvotes == 2  # one from elsewhere, one here


def test_the_daily_list_carries_the_notes_too(api: HfApi) -> None:
    (hub,) = [p for p in api.list_daily_papers(date="2026-03-19") if p.id == "2503.11731"]
    # The client reads the organization of an entry from the entry itself, as the Hub sends it.
    assert hub.organization is not None and hub.organization.name == "example-org"
    assert hub.title and hub.summary and hub.authors
    found = list(api.list_papers(query="Gaussian Splatting sensor", limit=3))
    assert found[0].id == "2503.11731" and found[0].organization is not None


def test_read_paper_gives_the_paper_as_markdown(api: HfApi) -> None:
    text = api.read_paper("2503.11731")
    recorded = orjson.loads(DAILY.read_bytes())[0]["paper"]
    assert text.startswith(f"# {recorded['title']}\n")
    assert "- arXiv: [2503.11731](https://arxiv.org/abs/2503.11731)" in text
    assert "([PDF](https://arxiv.org/pdf/2503.11731))" in text
    assert f"- Code: <{recorded['githubRepo']}> (143 stars)" in text
    assert "- Organization: Example Lab" in text
    assert f"## AI summary\n\n{recorded['ai_summary']}" in text
    assert text.rstrip().endswith(recorded["summary"].strip().split()[-1])
    plain = api.read_paper("2603.00002v1")
    assert "## AI summary" not in plain and "Keywords" not in plain
    assert "- Upvotes: 4" in plain
    for unknown in ("2603.99999", "2603.00005"):  # unknown, hidden
        with pytest.raises(HfHubHTTPError) as missing:
            api.read_paper(unknown)
        assert missing.value.response.status_code == 404


def test_the_notes_survive_another_source_describing_the_paper(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade_schema(engine)
    (hub, *_) = hub_papers()
    arxiv = build_paper(source="arxiv", arxiv_id="2503.11731v2", title=hub.title,
                        abstract=hub.abstract, categories=["cs.CV"])  # fmt: skip
    with engine.begin() as conn:
        upsert_papers(conn, [hub], NOW)
        upsert_papers(conn, [arxiv], NOW)
        stored = get_paper(conn, "2503.11731")
    engine.dispose()
    assert stored is not None and stored.categories == ("cs.CV",)
    assert stored.ai_summary == hub.ai_summary and stored.ai_keywords == hub.ai_keywords
    assert stored.organization is not None and stored.organization.fullname == "Example Lab"
