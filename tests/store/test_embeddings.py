"""Stored embeddings on SQLite and PostgreSQL, and the file that carries them between databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from paperroute.index.embed import Vectors, embedding_text, text_hash
from paperroute.index.sync import check_index, open_index, sync_index
from paperroute.ingest.normalize import build_paper
from paperroute.store import embeddings as store
from paperroute.store.papers import ids_for_refs, upsert_papers
from tests.support import WordHashEmbedder

NOW = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)


class CountingEmbedder(WordHashEmbedder):
    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.texts.extend(texts)
        return super().embed(texts)


def hash_of(title: str, abstract: str) -> str:
    return text_hash(embedding_text(title, abstract))


def add_papers(engine: Engine, abstracts: dict[str, str]) -> dict[str, int]:
    """Papers titled after their arXiv id; returns their internal ids."""
    batch = [build_paper(source="t", arxiv_id=key, title=f"Paper {key}", abstract=abstract,
                         announced="2026-03-18") for key, abstract in abstracts.items()]  # fmt: skip
    with engine.begin() as conn:
        upsert_papers(conn, batch, NOW)
        return ids_for_refs(conn, list(abstracts))


def shipped_file(model: str, abstracts: dict[str, str]) -> store.EmbeddingsFile:
    texts = [embedding_text(f"Paper {key}", abstract) for key, abstract in abstracts.items()]
    return store.EmbeddingsFile(
        model=model,
        keys=list(abstracts),
        hashes=[text_hash(t) for t in texts],
        vectors=WordHashEmbedder().embed(texts),
    )


def test_export_write_read_round_trip(engine: Engine, tmp_path: Path) -> None:
    abstracts = {f"2503.0000{n}": f"We study graph number {n}." for n in (3, 1, 2)}
    ids = add_papers(engine, abstracts)
    made = shipped_file("word-hash-test", abstracts)
    with engine.begin() as conn:
        store.save_embeddings(conn, made.model, [
            (ids[key], made.hashes[n], made.vectors[n]) for n, key in enumerate(made.keys)
        ])  # fmt: skip
    with engine.connect() as conn:
        exported = store.export_embeddings(conn, made.model)
        assert store.export_embeddings(conn, "another-model").keys == []
    assert exported.keys == ["2503.00001", "2503.00002", "2503.00003"]
    store.write_embeddings_file(tmp_path / "vectors.npz", exported)
    read = store.read_embeddings_file(tmp_path / "vectors.npz")
    assert (read.model, read.keys, read.hashes) == (made.model, exported.keys, exported.hashes)
    assert read.vectors.dtype == np.float32 and read.vectors.shape == (3, 64)
    assert np.allclose(np.linalg.norm(read.vectors, axis=1), 1.0, atol=1e-6)
    cosines = np.sum(read.vectors * exported.vectors, axis=1)
    assert cosines.min() > 0.999  # float16 in the file


def test_import_attaches_only_vectors_whose_text_is_unchanged(
    engine: Engine, tmp_path: Path
) -> None:
    shipped = shipped_file(
        "word-hash-test",
        {
            "2503.00001": "We study graphs.",
            "2503.00002": "An abstract since revised.",
            "2503.99999": "A paper this database does not have.",
        },
    )
    ids = add_papers(
        engine,
        {
            "2503.00001": "We study graphs.",
            "2503.00002": "The revised abstract.",
            "2503.00003": "A paper the file does not have.",
        },
    )
    with engine.begin() as conn:
        assert store.import_embeddings(conn, shipped, hash_of) == 1
    with engine.connect() as conn:
        stored = store.load_embeddings(conn, shipped.model, list(ids.values()))
    assert list(stored) == [ids["2503.00001"]]
    assert stored[ids["2503.00001"]][0] == shipped.hashes[0]
    assert np.allclose(stored[ids["2503.00001"]][1], shipped.vectors[0])
    # The index embeds only what the file could not give.
    counting = CountingEmbedder()
    index = open_index(tmp_path / "index", counting)
    assert sync_index(engine, index, counting) == 3
    assert sorted(counting.texts) == [
        embedding_text("Paper 2503.00002", "The revised abstract."),
        embedding_text("Paper 2503.00003", "A paper the file does not have."),
    ]
    assert check_index(engine, index).clean


def test_import_twice_changes_nothing(engine: Engine) -> None:
    abstracts = {"2503.00001": "We study graphs.", "2503.00002": "We study trees."}
    ids = add_papers(engine, abstracts)
    shipped = shipped_file("word-hash-test", abstracts)
    for _ in range(2):
        with engine.begin() as conn:
            assert store.import_embeddings(conn, shipped, hash_of) == 2
    with engine.connect() as conn:
        stored = store.load_embeddings(conn, shipped.model, list(ids.values()))
    assert sorted(stored) == sorted(ids.values())
