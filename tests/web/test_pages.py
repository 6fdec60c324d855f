"""The site over a real database: the day's papers, a paper page, a category."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.domain import Paper, Version
from paperroute.ingest.normalize import build_paper
from paperroute.store.papers import upsert_papers

NOW = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)


def paper(n: int, day: str, cats: list[str], **fields: object) -> Paper:
    return build_paper(source="t", arxiv_id=f"2503.{n:05d}", title=f"Paper number {n}",
                       abstract=f"Abstract of paper {n}.", authors=["Ada Lovelace", "Alan Turing"],
                       categories=cats, announced=day, **fields)  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture
def client(engine: Engine, db_url: str) -> Iterator[TestClient]:
    batch = [
        paper(1, "2026-03-18", ["cs.LG"]),
        paper(2, "2026-03-19", ["cs.CV", "cs.LG"], code_url="https://github.com/a/b"),
        paper(
            3,
            "2026-03-20",
            ["cs.CL"],
            versions=[Version(1, dt.date(2026, 3, 17)), Version(2, dt.date(2026, 3, 19))],
        ),
        Paper(
            title="<script>alert('t')</script> Evil",
            abstract="<img src=x onerror=alert(1)>",
            source="t",
            arxiv_id="2503.66666",
            announced=dt.date(2026, 3, 20),
            project_url="javascript:alert(1)",
        ),
    ]
    with engine.begin() as conn:
        upsert_papers(conn, batch, NOW)
    with TestClient(
        create_app(Settings(database_url=db_url)), base_url="http://127.0.0.1"
    ) as test_client:
        yield test_client


def test_front_page_shows_the_newest_day_with_navigation(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Friday, March 20, 2026" in page.text
    assert "Paper number 3" in page.text and "Paper number 2" not in page.text
    assert 'href="/?date=2026-03-19"' in page.text
    older = client.get("/?date=2026-03-19")
    assert "Paper number 2" in older.text and 'href="/?date=2026-03-20"' in older.text
    assert 'href="https://github.com/a/b"' in older.text


def test_paper_page_has_metadata_and_versions(client: TestClient) -> None:
    page = client.get("/papers/2503.00003")
    assert page.status_code == 200
    assert ">v1</a> (2026-03-17), " in page.text and ">v2</a> (2026-03-19)" in page.text
    assert 'href="https://arxiv.org/pdf/2503.00003"' in page.text
    assert client.get("/papers/2503.00003v2").status_code == 200
    assert client.get("/papers/2503.99999").status_code == 404


def test_category_page_includes_cross_lists(client: TestClient) -> None:
    page = client.get("/c/cs.LG")
    assert "Paper number 1" in page.text and "Paper number 2" in page.text
    assert "Paper number 3" not in page.text


def test_output_is_escaped_everywhere(client: TestClient) -> None:
    for url in ("/", "/papers/2503.66666"):
        text = client.get(url).text
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "&lt;script&gt;" in text
        assert "javascript:" not in text


def test_recently_added_lists_papers_without_a_date(client: TestClient, engine: Engine) -> None:
    undated = build_paper(source="listing", title="A Listed Paper Without Id", abstract="Text.")
    with engine.begin() as conn:
        upsert_papers(conn, [undated], NOW + dt.timedelta(hours=1))
    page = client.get("/added").text
    assert page.index("A Listed Paper Without Id") < page.index("Paper number 1")
    assert "A Listed Paper Without Id" not in client.get("/").text


def test_anonymous_pages_are_cached_briefly_and_hold_no_form_token(client: TestClient) -> None:
    first = client.get("/papers/2503.00003")
    assert 'name="csrf"' not in first.text and "data-csrf" not in first.text
    cache = client.app.state.page_cache  # type: ignore[attr-defined]
    assert cache.get("/papers/2503.00003?") is not None
    second = client.get("/papers/2503.00003")
    assert second.text == first.text
    assert second.headers["content-security-policy"]  # headers are added, not cached
