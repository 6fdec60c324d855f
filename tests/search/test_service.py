"""The search service over a real database and index, with a fast test embedder."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from paperroute.index.sync import open_index, sync_index
from paperroute.ingest.normalize import build_paper
from paperroute.search.service import Ranker, SearchService
from paperroute.store.papers import get_paper, upsert_papers
from tests.support import WordHashEmbedder

PAPERS = [
    ("2603.00001", "Diffusion models for image editing", "We edit photos with text guided diffusion.", ["cs.CV"], "2026-03-02", ["Ada Lovelace"]),
    ("2603.00002", "Reasoning in large language models", "Chain of thought makes language models reason.", ["cs.CL"], "2026-03-05", ["Alan Turing"]),
    ("2603.00003", "Graph neural networks for molecules", "Message passing predicts molecular properties.", ["cs.LG", "q-bio.BM"], "2026-03-06", ["Grace Hopper"]),
    ("2603.00004", "Editing images with diffusion and language", "Language instructions guide image diffusion editing.", ["cs.CV", "cs.CL"], "2026-03-09", ["Ada Lovelace", "Alan Turing"]),
    ("2512.00005", "Old work on image diffusion", "Diffusion for images, before it was popular.", ["cs.CV"], "2025-12-01", ["Vera Rubin"]),
]  # fmt: skip


@pytest.fixture
def service(engine: Engine, tmp_path: Path) -> Iterator[SearchService]:
    batch = [build_paper(source="t", arxiv_id=i, title=t, abstract=a, categories=c, announced=d, authors=au,
                         code_url="https://github.com/x/y" if i.endswith("4") else None,
                         upvotes=int(i[-1]) * 10 if i.startswith("2603") else None)
             for i, t, a, c, d, au in PAPERS]  # fmt: skip
    with engine.begin() as conn:
        upsert_papers(conn, batch, dt.datetime(2026, 3, 10, tzinfo=dt.UTC))
    embedder = WordHashEmbedder()
    index = open_index(tmp_path / "index", embedder)
    sync_index(engine, index, embedder)
    yield SearchService(engine, Ranker(index, embedder))


def keys(page: object) -> list[str]:
    return [h.paper.key or "" for h in page.hits]  # type: ignore[attr-defined]


TODAY = dt.date(2026, 3, 20)


def test_hybrid_lexical_and_semantic_find_the_topic(service: SearchService) -> None:
    for mode in ("hybrid", "lexical", "semantic"):
        found = keys(service.search("editing images with diffusion", mode=mode, today=TODAY))  # type: ignore[arg-type]
        assert found[0] == "2603.00004", mode
        assert "2603.00002" not in found[:3], mode


def test_filters_apply_in_every_mode(service: SearchService) -> None:
    def found(text: str, mode: str) -> list[str]:
        return keys(service.search(text, mode=mode, today=TODAY))  # type: ignore[arg-type]

    for mode in ("hybrid", "lexical", "semantic"):
        in_cl = found("diffusion cat:cs.CL", mode)
        assert in_cl[0] == "2603.00004" and set(in_cl) <= {"2603.00002", "2603.00004"}
        assert found("diffusion since:2026-01", mode) and "2512.00005" not in found(
            "diffusion since:2026-01", mode
        )
        assert found("diffusion has:code", mode) == ["2603.00004"]
        assert found("diffusion author:Rubin", mode) == ["2512.00005"]
        assert "2603.00004" not in found("diffusion -language", mode)


def test_an_arxiv_id_or_link_goes_straight_to_the_paper(service: SearchService) -> None:
    page = service.search("https://arxiv.org/abs/2603.00003v2", today=TODAY)
    assert page.paper is not None and page.paper.key == "2603.00003" and not page.hits


def test_sort_by_date_pagination_and_highlights(service: SearchService) -> None:
    by_date = keys(service.search("diffusion", sort="date", today=TODAY))
    assert by_date == ["2603.00004", "2603.00001", "2512.00005"]
    by_votes = keys(service.search("diffusion", sort="votes", today=TODAY))
    assert by_votes == ["2603.00004", "2603.00001", "2512.00005"]
    assert keys(service.search("language models", sort="votes", mode="lexical", today=TODAY))[
        :2
    ] == ["2603.00004", "2603.00002"]
    first = service.search("diffusion", limit=2, today=TODAY)
    second = service.search("diffusion", limit=2, offset=2, today=TODAY)
    last = service.search("diffusion", limit=2, offset=4, today=TODAY)
    assert first.has_more and second.has_more and not last.has_more
    assert len({*keys(first), *keys(second), *keys(last)}) == 5
    assert "<b>" in first.hits[0].title_html or "<b>" in first.hits[0].snippet_html


def test_similar_papers_exclude_themselves(service: SearchService, engine: Engine) -> None:
    index = service.ranker.index
    with engine.connect() as conn:
        ids = {
            p.key: i
            for i, p in zip(
                index.catalog.ids.tolist(), [get_paper(conn, k) for k, *_ in PAPERS], strict=True
            )
        }  # type: ignore[union-attr]
    similar, _ = service.ranker.similar([ids["2603.00001"]], limit=2)
    assert ids["2603.00001"] not in similar and ids["2603.00004"] in similar
    several, _ = service.ranker.similar([ids["2603.00001"], ids["2603.00004"]], limit=3)
    assert not {ids["2603.00001"], ids["2603.00004"]} & set(several)


def test_newest_first_reaches_past_the_first_candidates(engine: Engine, tmp_path: Path) -> None:
    start = dt.date(2025, 1, 1)
    batch = [build_paper(source="t", arxiv_id=f"2501.{n:05d}", title=f"Study {n} of graphs",
                         abstract="Graphs.", categories=["cs.LG"],
                         announced=(start + dt.timedelta(days=n)).isoformat()) for n in range(1, 301)]  # fmt: skip
    with engine.begin() as conn:
        upsert_papers(conn, batch, dt.datetime(2026, 3, 10, tzinfo=dt.UTC))
    embedder = WordHashEmbedder()
    index = open_index(tmp_path / "index", embedder)
    sync_index(engine, index, embedder)
    service = SearchService(engine, Ranker(index, embedder))
    for text in ("cat:cs.LG", "graphs"):
        page = service.search(text, sort="date", limit=3, today=TODAY)
        assert keys(page) == ["2501.00300", "2501.00299", "2501.00298"], text
    deep = service.search("graphs", sort="date", limit=10, offset=290, today=TODAY)
    assert keys(deep)[-1] == "2501.00001" and not deep.has_more


def test_a_pasted_abstract_is_searched_whole(service: SearchService) -> None:
    # 70 words of filler, then the words that find the paper: a query cut at the
    # box's word limit would never reach them.
    text = "lorem " * 70 + "message passing predicts molecular properties"
    page = service.search(text, today=TODAY)
    assert keys(page)[:1] == ["2603.00003"] and page.query.errors == ()
    # An operator makes it a query again, cut as queries are.
    cut = service.search(text + " cat:cs.LG", today=TODAY)
    assert cut.query.errors and "2603.00003" not in keys(cut)


def test_hybrid_feedback_copes_with_a_paper_not_embedded_yet(service: SearchService) -> None:
    index = service.ranker.index
    first = service.search("diffusion image editing", today=TODAY)
    missing = first.hits[0].paper_id
    index.vectors.delete(np.array([missing]))  # found by its words, no vector yet
    again = service.search("diffusion image editing", today=TODAY)
    assert missing in [h.paper_id for h in again.hits]


def test_typos_are_corrected_to_the_words_the_papers_use(service: SearchService) -> None:
    page = service.search("difusion modles", mode="lexical", today=TODAY, count=True)
    assert page.corrected and page.suggestion == "diffusion models"
    assert keys(page)[:1] == ["2603.00001"] and page.matches == 4  # papers with either word
    hybrid = service.search("resoning langauge modles", today=TODAY)
    assert hybrid.corrected and hybrid.suggestion == "reasoning language models"
    assert keys(hybrid)[0] == "2603.00002"
    right = service.search("diffusion models", today=TODAY, count=True)  # spelt right
    assert right.suggestion is None and not right.corrected and right.matches == 4


def test_few_matches_get_a_suggestion_but_keep_their_results(service: SearchService) -> None:
    page = service.search("molecular graphs", mode="lexical", today=TODAY, count=True)
    assert not page.corrected and page.matches is not None and page.matches >= 1
    assert service.search("molecular graphs", today=TODAY).matches is None  # counted on request
    gibberish = service.search("qzxvw plorbnik", mode="lexical", today=TODAY)
    assert gibberish.suggestion is None and not gibberish.hits


def test_newest_first_orders_only_the_good_matches(service: SearchService) -> None:
    page = service.search("image diffusion editing", sort="date", today=TODAY)
    assert page.date_floor is not None
    found = keys(page)
    # All three words, newest first; "Old work on image diffusion" has two of them.
    assert found[:2] == ["2603.00004", "2603.00001"]
    relevance = keys(service.search("image diffusion editing", mode="lexical", today=TODAY))
    assert set(found) <= set(relevance)
