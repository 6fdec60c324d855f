"""The search page over a real index: results, highlights, filters, paging, helpful dead ends."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.index.sync import rebuild_index
from paperroute.store.papers import upsert_papers
from tests.support import WordHashEmbedder
from tests.web.conftest import NOW, make_paper


@pytest.fixture
def client(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    batch = [make_paper(n, f"2026-03-{10 + n % 10:02d}", ["cs.LG" if n % 2 else "cs.CV"])
             for n in range(1, 31)]  # fmt: skip
    batch.append(
        make_paper(99, "2026-03-19", ["cs.CL"], title="Diffusion models for image editing")
    )
    with engine.begin() as conn:
        upsert_papers(conn, batch, NOW)
    settings = Settings(home=tmp_path, database_url=db_url)
    rebuild_index(engine, settings.index_root, WordHashEmbedder())
    with TestClient(
        create_app(settings, embedder=WordHashEmbedder()), base_url="http://127.0.0.1"
    ) as test_client:
        yield test_client


def test_results_are_highlighted(client: TestClient) -> None:
    page = client.get("/search", params={"q": "diffusion editing"})
    assert page.status_code == 200
    assert "<b>Diffusion</b> models for image <b>editing</b>" in page.text


def test_filters_and_paging(client: TestClient) -> None:
    first = client.get("/search", params={"q": "graph neural networks", "category": "cs.LG"})
    keys = re.findall(r'data-key="(2503\.\d+)"', first.text)
    assert len(keys) == 15 and all(int(k[-2:]) % 2 == 1 for k in keys)
    page1 = client.get("/search", params={"q": "graph neural networks"})
    assert 'rel="next"' in page1.text
    page2 = client.get("/search", params={"q": "graph neural networks", "page": 2})
    keys1 = set(re.findall(r'data-key="(2503\.\d+)"', page1.text))
    keys2 = set(re.findall(r'data-key="(2503\.\d+)"', page2.text))
    assert len(keys1) == 20 and keys2 and not keys1 & keys2
    dated = client.get("/search", params={"q": "graph", "since": "2026-03-18", "sort": "date"})
    days = re.findall(r'<span class="date">(2026-03-\d\d)</span>', dated.text)
    assert days and days == sorted(days, reverse=True) and min(days) >= "2026-03-18"


def test_an_arxiv_id_goes_straight_to_the_paper(client: TestClient) -> None:
    response = client.get("/search", params={"q": "arXiv:2503.00007"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/papers/2503.00007"


def test_empty_query_shows_how_to_search(client: TestClient) -> None:
    page = client.get("/search")
    assert page.status_code == 200 and "author:" in page.text and "cat:cs.CL" in page.text


def test_no_results_page_offers_ways_out(client: TestClient) -> None:
    page = client.get("/search", params={"q": "zzyzx", "category": "cs.LG", "mode": "lexical"})
    assert "No papers found" in page.text
    assert "without filters" in page.text and "mode=semantic" in page.text


def test_bad_operators_are_reported_and_the_rest_still_runs(client: TestClient) -> None:
    page = client.get("/search", params={"q": "diffusion since:someday"})
    assert "Note:" in page.text and "Diffusion" in page.text


def test_similar_papers_on_the_paper_page(client: TestClient) -> None:
    page = client.get("/papers/2503.00003").text
    section = page.split('<section class="similar">', 1)[1]
    assert len(re.findall(r'data-key="2503\.\d+"', section)) == 8
    assert 'data-key="2503.00003"' not in section


def test_search_page_without_an_index_says_how_to_build_it(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    with TestClient(
        create_app(Settings(home=tmp_path, database_url=db_url)), base_url="http://127.0.0.1"
    ) as client:
        page = client.get("/search", params={"q": "anything"})
    assert page.status_code == 503 and "paperroute index rebuild" in page.text


def test_empty_filter_fields_from_the_form_mean_no_filter(client: TestClient) -> None:
    page = client.get("/search?q=diffusion&category=&since=&until=&sort=relevance&mode=hybrid")
    assert page.status_code == 200 and "<b>Diffusion</b>" in page.text
    assert client.get("/?date=").status_code == 200


def test_nonsense_finds_nothing_instead_of_the_nearest_papers(client: TestClient) -> None:
    for sort in ("relevance", "date", "votes"):
        page = client.get("/search", params={"q": "zzyzx qwrtp flurb", "sort": sort})
        assert "No papers found" in page.text, sort


def test_typos_are_corrected_and_counts_shown(client: TestClient) -> None:
    page = client.get("/search", params={"q": "difusion editng"})
    assert page.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", "", html.unescape(page.text)).split())
    assert "showing results for diffusion editing" in text
    assert "Diffusion models for image editing" in text
    as_typed = re.search(r'href="(/search\?[^"]*spelling=as-typed)"', page.text)
    assert as_typed is not None
    typed = client.get(html.unescape(as_typed.group(1)))
    assert "No papers found" in typed.text
    counted = client.get("/search", params={"q": "diffusion editing", "mode": "lexical"})
    assert re.search(r"\d+ papers? with any of these words", counted.text)
    dated = client.get("/search", params={"q": "diffusion editing", "sort": "date"})
    assert "newest first among the good matches" in dated.text
