"""Stored paper embeddings, keyed by paper and model, with the hash of their text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import Connection, delete, insert, select

from paperroute.store.schema import paper_embeddings

__all__ = ["load_embeddings", "save_embeddings"]


def load_embeddings(
    conn: Connection, model: str, paper_ids: Sequence[int]
) -> dict[int, tuple[str, np.ndarray]]:
    """paper id -> (text hash, float32 vector) for the papers that have one."""
    found: dict[int, tuple[str, np.ndarray]] = {}
    for start in range(0, len(paper_ids), 5000):
        chunk = paper_ids[start : start + 5000]
        rows = conn.execute(
            select(
                paper_embeddings.c.paper_id, paper_embeddings.c.text_hash, paper_embeddings.c.vector
            ).where(paper_embeddings.c.model == model, paper_embeddings.c.paper_id.in_(chunk))
        )
        for r in rows:
            found[r.paper_id] = (r.text_hash, np.frombuffer(r.vector, dtype="<f4"))
    return found


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
