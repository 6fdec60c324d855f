"""The faiss index and the catalog of filter fields."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from paperroute.index import vectors as vectors_module
from paperroute.index.catalog import Catalog, CatalogEntry
from paperroute.index.vectors import VectorIndex


def unit(rows: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    data = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


def test_exact_search_upsert_delete_and_reload(tmp_path: Path) -> None:
    data = unit(50)
    index = VectorIndex.build(np.arange(100, 150), data, 16)
    ids, scores = index.search(data[7], 3)
    # float16 storage: a score is exact to about 1e-3
    assert ids[0] == 107 and scores[0] == pytest.approx(1.0, abs=2e-3)
    index.upsert(np.array([107]), data[8:9])
    assert len(index) == 50 and index.search(data[8], 2)[0][:2] in ([107, 108], [108, 107])
    index.delete(np.array([108, 999]))
    index.save(tmp_path / "v.faiss")
    again = VectorIndex.load(tmp_path / "v.faiss", 16)
    assert len(again) == 49 and 108 not in again.ids().tolist()
    assert np.allclose(again.vectors_of(np.array([107])), data[8], atol=1e-3)


@pytest.mark.parametrize("allowed", [[101, 140], list(range(100, 140))])
def test_filtered_search_returns_only_allowed_ids(allowed: list[int]) -> None:
    data = unit(50, seed=1)
    index = VectorIndex.build(np.arange(100, 150), data, 16)
    ids, _ = index.search(data[45], 5, np.array(allowed))
    assert ids and set(ids) <= set(allowed)
    exact = sorted(allowed, key=lambda i: -float(data[i - 100] @ data[45]))[:5]
    assert ids == exact


def test_large_corpus_uses_an_approximate_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors_module, "APPROXIMATE_ABOVE", 500)
    data = unit(3000, dim=32, seed=2)
    index = VectorIndex.build(np.arange(3000), data, 32)
    hits = sum(index.search(data[i], 1)[0][:1] == [i] for i in range(0, 3000, 100))
    assert hits >= 28  # IVF with 8-bit codes still finds a vector's own entry
    assert float(index.vectors_of(np.array([5]))[0] @ data[5]) > 0.99
    index.upsert(np.array([5]), data[6:7])
    assert len(index) == 3000 and index.search(data[6], 2)[0][:2] in ([5, 6], [6, 5])


def test_catalog_filters_and_hashes(tmp_path: Path) -> None:
    catalog = Catalog()
    catalog.upsert([
        CatalogEntry(3, "h3", dt.date(2026, 3, 1), True, ["cs.CV"]),
        CatalogEntry(1, "h1", None, False, []),
        CatalogEntry(2, "h2", dt.date(2025, 1, 1), False, ["cs.LG", "stat.ML"]),
    ])  # fmt: skip
    catalog.upsert([CatalogEntry(2, "h2b", dt.date(2025, 1, 1), False, ["stat.ML"])])
    catalog.save(tmp_path / "c.npz")
    loaded = Catalog.load(tmp_path / "c.npz")
    assert loaded.content_hashes() == {1: "h1", 2: "h2b", 3: "h3"}
    assert loaded.allowed() is None
    assert loaded.allowed(categories=["cs"]).tolist() == [3]
    assert loaded.allowed(categories=["stat.ML", "cs.CV"]).tolist() == [2, 3]
    assert loaded.allowed(since=dt.date(2025, 6, 1)).tolist() == [3]
    assert loaded.allowed(until=dt.date(2025, 6, 1)).tolist() == [2]
    assert loaded.allowed(has_code=True).tolist() == [3]
    loaded.delete([3])
    assert loaded.allowed(categories=["cs.CV"]).tolist() == []
