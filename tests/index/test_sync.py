"""Sync, rebuild and check against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete

from paperroute.index.embed import Vectors
from paperroute.index.sync import check_index, open_index, rebuild_index, sync_index
from paperroute.ingest.normalize import build_paper
from paperroute.store.papers import upsert_papers
from paperroute.store.schema import papers
from tests.support import WordHashEmbedder

NOW = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)


class CountingEmbedder(WordHashEmbedder):
    def __init__(self, fail_after: int | None = None) -> None:
        self.calls, self.texts, self.fail_after = 0, 0, fail_after

    def embed(self, texts: Sequence[str]) -> Vectors:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt  # stands in for a kill in the middle of a sync
        self.calls += 1
        self.texts += len(texts)
        return super().embed(texts)


def add_papers(
    engine: Engine, numbers: range, when: dt.datetime = NOW, word: str = "graph"
) -> None:
    batch = [build_paper(source="t", arxiv_id=f"2503.{n:05d}", title=f"Paper {n} on {word}s",
                         abstract=f"We study {word} number {n}.", categories=["cs.LG"],
                         announced="2026-03-18") for n in numbers]  # fmt: skip
    with engine.begin() as conn:
        upsert_papers(conn, batch, when)


def test_sync_is_incremental_and_survives_a_crash(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, range(1, 51))
    crashing = CountingEmbedder(fail_after=2)
    index = open_index(tmp_path / "index", crashing)
    with pytest.raises(KeyboardInterrupt):
        sync_index(engine, index, crashing, batch_size=10)
    reopened = open_index(tmp_path / "index", crashing)
    assert len(reopened.catalog) == 20 and not check_index(engine, reopened).clean
    embedder = CountingEmbedder()
    assert sync_index(engine, reopened, embedder, batch_size=10) == 30
    assert check_index(engine, reopened).clean
    add_papers(engine, range(51, 56), NOW + dt.timedelta(minutes=1))
    assert sync_index(engine, open_index(tmp_path / "index", embedder), embedder) == 5
    assert embedder.texts == 35


def test_check_reports_missing_stale_and_extra(engine: Engine, tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    add_papers(engine, range(1, 6))
    index = open_index(tmp_path / "index", embedder)
    sync_index(engine, index, embedder)
    add_papers(engine, range(6, 8), NOW + dt.timedelta(minutes=1))
    add_papers(engine, range(1, 2), NOW + dt.timedelta(minutes=1), word="tree")
    with engine.begin() as conn:
        conn.execute(delete(papers).where(papers.c.key == "2503.00005"))
    report = check_index(engine, index)
    assert (len(report.missing), len(report.stale), len(report.extra)) == (2, 1, 1)
    assert not report.clean


def test_rebuild_reuses_stored_embeddings_and_swaps(engine: Engine, tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    add_papers(engine, range(1, 21))
    first = open_index(tmp_path / "index", embedder)
    sync_index(engine, first, embedder)
    assert embedder.texts == 20
    rebuilt = rebuild_index(engine, tmp_path / "index", embedder)
    assert embedder.texts == 20  # nothing recomputed
    assert rebuilt.generation != first.generation
    assert not (tmp_path / "index" / first.generation).exists()
    assert open_index(tmp_path / "index", embedder).generation == rebuilt.generation
    assert check_index(engine, rebuilt).clean
    add_papers(engine, range(1, 2), NOW + dt.timedelta(minutes=1), word="tree")
    sync_index(engine, rebuilt, embedder)
    assert embedder.texts == 21  # only the changed text


def test_a_new_model_starts_a_new_index(engine: Engine, tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    add_papers(engine, range(1, 4))
    sync_index(engine, open_index(tmp_path / "index", embedder), embedder)

    class Other(CountingEmbedder):
        name = "another-model"

    assert len(open_index(tmp_path / "index", Other()).catalog) == 0


def test_a_failed_rebuild_leaves_the_old_index_in_use(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, range(1, 31))
    good = CountingEmbedder()
    first = open_index(tmp_path / "index", good)
    sync_index(engine, first, good)
    add_papers(
        engine, range(31, 41), NOW + dt.timedelta(minutes=1)
    )  # the last batch needs embedding
    with pytest.raises(KeyboardInterrupt):
        rebuild_index(engine, tmp_path / "index", CountingEmbedder(fail_after=0), batch_size=10)
    in_use = open_index(tmp_path / "index", good)
    assert in_use.generation == first.generation and len(in_use.catalog) == 30
    rebuild_index(engine, tmp_path / "index", good)
    assert [p.name for p in (tmp_path / "index").glob("gen-*")] == [
        open_index(tmp_path / "index", good).generation
    ]


def test_a_paper_changed_during_a_build_is_indexed_once(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, range(1, 5))

    class ChangingEmbedder(CountingEmbedder):
        def embed(self, texts: Sequence[str]) -> Vectors:
            if self.calls == 0:  # an ingest lands while the first batch is embedded
                add_papers(engine, range(1, 2), NOW + dt.timedelta(minutes=2), word="tree")
            return super().embed(texts)

    embedder = ChangingEmbedder()
    index = open_index(tmp_path / "index", embedder)
    sync_index(engine, index, embedder, batch_size=2)
    ids = index.lexical.all_ids()
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 4
    assert check_index(engine, index).clean


def test_a_late_commit_behind_the_watermark_is_still_indexed(
    engine: Engine, tmp_path: Path
) -> None:
    embedder = CountingEmbedder()
    add_papers(engine, range(1, 4), NOW)
    index = open_index(tmp_path / "index", embedder)
    sync_index(engine, index, embedder)
    add_papers(
        engine, range(10, 11), NOW - dt.timedelta(minutes=1)
    )  # stamped before, committed after
    assert sync_index(engine, index, embedder) == 1
    assert check_index(engine, index).clean
    assert sync_index(engine, index, embedder) == 0  # the look-back skips what is unchanged
