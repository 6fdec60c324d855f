"""The vector index: nearest papers by embedding, with faiss.

Exhaustive inner-product search while the corpus is small, over vectors
stored as float16: a search reads every vector, so it is bound by memory
bandwidth, and half the bytes make it twice as fast (54k papers: 1.8 ms
against 3.8 ms for float32 on one core; the scores differ by ~1e-3, too
little to reorder neighbours that matter). Above `APPROXIMATE_ABOVE`, an IVF
index with 8-bit scalar quantisation, where reading everything would cost
tens of milliseconds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np
import numpy.typing as npt

from paperroute.index.embed import Vectors

__all__ = ["APPROXIMATE_ABOVE", "VectorIndex"]

APPROXIMATE_ABOVE = 200_000
# Past this share of the corpus a filter is cheaper to apply after the search.
_SELECTOR_SHARE = 0.25

Ids = npt.NDArray[np.int64]
# faiss's bundled stubs lack its SWIG attributes (IndexIDMap2.index, nprobe,
# SearchParameters(sel=...)): typed as Any rather than ignored line by line.
faiss: Any = _faiss


def _ids(values: object) -> Ids:
    return np.ascontiguousarray(np.asarray(values, dtype=np.int64))


class VectorIndex:
    """Paper id -> vector, searchable by inner product (cosine on unit vectors)."""

    def __init__(self, dim: int, index: Any = None) -> None:
        self.dim = dim
        if index is None:
            flat = faiss.IndexScalarQuantizer(
                dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
            )
            index = faiss.IndexIDMap2(flat)
        self._index: Any = index

    @classmethod
    def build(cls, ids: Ids, vectors: Vectors, dim: int) -> VectorIndex:
        """A new index over these vectors: exact when small, IVF-SQ8 when large."""
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # training and adding do use threads
        if len(ids) <= APPROXIMATE_ABOVE:
            built = cls(dim)
        else:
            lists = int(4 * np.sqrt(len(ids)))
            quantizer = faiss.IndexFlatIP(dim)
            ivf = faiss.IndexIVFScalarQuantizer(
                quantizer, dim, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
            sample = np.random.default_rng(0).choice(
                len(ids), min(len(ids), lists * 64), replace=False
            )
            ivf.train(vectors[sample])
            ivf.nprobe = 24
            # "More like this" needs stored vectors back, and updates remove by id:
            # the IVF index keeps paper ids itself, in a hash table.
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
            built = cls(dim, ivf)
        built.upsert(ids, vectors)
        return built

    @classmethod
    def load(cls, path: Path, dim: int) -> VectorIndex:
        index = faiss.read_index(str(path))
        if hasattr(index, "nprobe"):
            index.nprobe = 24
        return cls(dim, index)

    @property
    def approximate(self) -> bool:
        return not hasattr(self._index, "id_map")

    def save(self, path: Path) -> None:
        """Write atomically: a reader sees the old file or the new one, never half of one."""
        tmp = path.with_suffix(".tmp")
        faiss.write_index(self._index, str(tmp))
        os.replace(tmp, path)

    def compacted(self, dim: int) -> VectorIndex:
        """This index in the form its size calls for: IVF-SQ8 above APPROXIMATE_ABOVE."""
        if len(self) <= APPROXIMATE_ABOVE or self.approximate:
            return self
        inner = faiss.downcast_index(self._index.index)
        vectors = inner.reconstruct_n(0, inner.ntotal)  # flat storage is in id_map order
        return VectorIndex.build(self.ids(), vectors, dim)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> Ids:
        if not self.approximate:
            return _ids(faiss.vector_to_array(self._index.id_map))
        lists = self._index.invlists
        parts = [faiss.rev_swig_ptr(lists.get_ids(n), lists.list_size(n)).copy()
                 for n in range(self._index.nlist)]  # fmt: skip
        return _ids(np.concatenate(parts)) if parts else _ids([])

    def upsert(self, ids: Ids, vectors: Vectors) -> None:
        if len(ids) == 0:
            return
        self.delete(ids)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), _ids(ids))

    def delete(self, ids: Ids) -> None:
        if len(ids):
            self._index.remove_ids(_ids(ids))

    def vectors_of(self, ids: Ids) -> Vectors:
        """The stored vectors of these papers (KeyError for an unknown id)."""
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for row, paper_id in enumerate(ids):
            try:
                out[row] = self._index.reconstruct(int(paper_id))
            except RuntimeError:
                raise KeyError(int(paper_id)) from None
        return out

    def search(
        self, query: Vectors, k: int, allowed: Ids | None = None
    ) -> tuple[list[int], list[float]]:
        """The k nearest papers to one query vector, among `allowed` ids if given."""
        # One query gains nothing from OpenMP's threads, and their spin-waiting
        # beside onnxruntime's makes it ten times slower (32 ms against 3 ms
        # over 54k vectors on two cores).
        faiss.omp_set_num_threads(1)
        total = len(self)
        if total == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return [], []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if allowed is None:
            scores, found = self._index.search(q, min(k, total))
            return _pairs(found[0], scores[0])
        if len(allowed) <= _SELECTOR_SHARE * total:
            scores, found = self._index.search(q, min(k, len(allowed)), params=self._only(allowed))
            return _pairs(found[0], scores[0])
        return self._search_then_filter(q, k, allowed)

    def _only(self, allowed: Ids) -> Any:
        selector = faiss.IDSelectorBatch(_ids(allowed))
        if self.approximate:
            return faiss.SearchParametersIVF(sel=selector, nprobe=self._index.nprobe)
        return faiss.SearchParameters(sel=selector)

    def _search_then_filter(
        self, q: Vectors, k: int, allowed: Ids
    ) -> tuple[list[int], list[float]]:
        """A broad filter: search a little deeper without it, then drop what it excludes."""
        want = min(len(self), int(k / (len(allowed) / len(self))) * 2 + 10)
        scores, found = self._index.search(q, want)
        passing = (found[0] >= 0) & np.isin(found[0], allowed)
        if int(passing.sum()) < k and want < len(self):  # unlucky: the exact filter
            scores, found = self._index.search(q, k, params=self._only(allowed))
            return _pairs(found[0], scores[0])
        return _pairs(found[0][passing][:k], scores[0][passing][:k])


def _pairs(
    found: npt.NDArray[np.int64], scores: npt.NDArray[np.float32]
) -> tuple[list[int], list[float]]:
    mask = found >= 0
    return found[mask].tolist(), scores[mask].astype(float).tolist()
