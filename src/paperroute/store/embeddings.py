"""Stored paper embeddings, keyed by paper and model, with the hash of their text.

Embeddings also travel as a file (`.npz`: the model, paper keys, text hashes
and float16 vectors), so a known set of papers, such as the bundled sample,
can be indexed without running the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, delete, insert, select

from paperroute.store.schema import paper_embeddings, papers

__all__ = [
    "EmbeddingsFile",
    "export_embeddings",
    "import_embeddings",
    "load_embeddings",
    "load_vector_rows",
    "read_embeddings_file",
    "save_embeddings",
    "write_embeddings_file",
]

_CHUNK = 5000


def load_embeddings(
    conn: Connection, model: str, paper_ids: Sequence[int]
) -> dict[int, tuple[str, np.ndarray]]:
    """paper id -> (text hash, float32 vector) for the papers that have one."""
    found: dict[int, tuple[str, np.ndarray]] = {}
    for start in range(0, len(paper_ids), _CHUNK):
        chunk = paper_ids[start : start + _CHUNK]
        rows = conn.execute(
            select(
                paper_embeddings.c.paper_id, paper_embeddings.c.text_hash, paper_embeddings.c.vector
            ).where(paper_embeddings.c.model == model, paper_embeddings.c.paper_id.in_(chunk))
        )
        for r in rows:
            found[r.paper_id] = (r.text_hash, np.frombuffer(r.vector, dtype="<f4"))
    return found


def load_vector_rows(conn: Connection, model: str, paper_ids: Sequence[int]) -> np.ndarray | None:
    """One float32 row per paper id, zeros for a paper without a vector; None if none has one."""
    found = load_embeddings(conn, model, paper_ids)
    if not found:
        return None
    dim = len(next(iter(found.values()))[1])
    rows = np.zeros((len(paper_ids), dim), dtype=np.float32)
    for row, paper_id in enumerate(paper_ids):
        if paper_id in found:
            rows[row] = found[paper_id][1]
    return rows


def save_embeddings(
    conn: Connection, model: str, rows: Iterable[tuple[int, str, np.ndarray]]
) -> None:
    """Store (paper id, text hash, vector) rows, replacing older ones of the same model."""
    batch = [
        {"paper_id": pid, "model": model, "text_hash": h, "vector": v.astype("<f4").tobytes()}
        for pid, h, v in rows
    ]
    if not batch:
        return
    ids = [row["paper_id"] for row in batch]
    conn.execute(
        delete(paper_embeddings).where(
            paper_embeddings.c.model == model, paper_embeddings.c.paper_id.in_(ids)
        )
    )
    conn.execute(insert(paper_embeddings), batch)


@dataclass(frozen=True, slots=True)
class EmbeddingsFile:
    """Vectors of one model for papers known by key, each with the hash of its text."""

    model: str
    keys: list[str]
    hashes: list[str]
    vectors: np.ndarray  # float32, one row per key


def export_embeddings(conn: Connection, model: str) -> EmbeddingsFile:
    """Every stored vector of a model, keyed by paper key (in key order)."""
    rows = conn.execute(
        select(papers.c.key, paper_embeddings.c.text_hash, paper_embeddings.c.vector)
        .join(papers, papers.c.id == paper_embeddings.c.paper_id)
        .where(paper_embeddings.c.model == model)
        .order_by(papers.c.key)
    ).all()
    vectors = [np.frombuffer(r.vector, dtype="<f4") for r in rows]
    return EmbeddingsFile(
        model=model,
        keys=[r.key for r in rows],
        hashes=[r.text_hash for r in rows],
        vectors=np.vstack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32),
    )


def import_embeddings(
    conn: Connection, found: EmbeddingsFile, text_hash_of: Callable[[str, str], str]
) -> int:
    """Store the file's vectors for the papers whose current text has the file's hash.

    `text_hash_of(title, abstract)` is the hash the index computes, so a vector
    for a paper whose text has changed since, or a key no paper has, is left
    out: the index then embeds that paper itself. Returns how many were stored.
    """
    wanted = dict(zip(found.keys, range(len(found.keys)), strict=True))
    matched: list[tuple[int, str, np.ndarray]] = []
    for start in range(0, len(found.keys), _CHUNK):
        rows = conn.execute(
            select(papers.c.id, papers.c.key, papers.c.title, papers.c.abstract).where(
                papers.c.key.in_(found.keys[start : start + _CHUNK])
            )
        )
        for r in rows:
            row = wanted[r.key]
            if text_hash_of(r.title, r.abstract) == found.hashes[row]:
                matched.append((r.id, found.hashes[row], found.vectors[row]))
    save_embeddings(conn, found.model, matched)
    return len(matched)


def write_embeddings_file(path: Path, found: EmbeddingsFile) -> None:
    """Save as `.npz` with float16 vectors: half the size, cosine to the original > 0.999."""
    np.savez_compressed(
        path,
        model=np.array(found.model),
        keys=np.array(found.keys),
        hashes=np.array(found.hashes),
        vectors=found.vectors.astype("<f2"),
    )


def read_embeddings_file(path: Path) -> EmbeddingsFile:
    """Read a file `write_embeddings_file` wrote; vectors back to float32 and unit length."""
    with np.load(path, allow_pickle=False) as data:
        vectors = data["vectors"].astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return EmbeddingsFile(
            model=str(data["model"]),
            keys=[str(k) for k in data["keys"]],
            hashes=[str(h) for h in data["hashes"]],
            vectors=vectors / np.maximum(norms, 1e-12),
        )
