"""A folder of computed vectors keyed by text hash, for work that indexes the same texts again.

Benchmarks and evaluations embed thousands of texts that do not change
between runs; each chunk is written as soon as it is computed, so an
interrupted run keeps what it did.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from paperroute.index.embed import Embedder, Vectors

__all__ = ["VectorCache", "embed_with_cache"]


class VectorCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._vectors: dict[str, np.ndarray] = {}
        for chunk in sorted(folder.glob("chunk-*.npz")):
            with np.load(chunk) as data:
                self._vectors.update(zip(data["hashes"].tolist(), data["vectors"], strict=True))

    def __contains__(self, key: str) -> bool:
        return key in self._vectors

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, key: str) -> np.ndarray:
        return self._vectors[key]

    def put(self, keys: Sequence[str], vectors: Vectors) -> None:
        name = self.folder / f"chunk-{uuid.uuid4().hex}.npz"
        tmp = name.with_name(name.name + ".tmp")
        with tmp.open("wb") as handle:
            np.savez(handle, hashes=np.array(list(keys)), vectors=vectors)
        os.replace(tmp, name)
        self._vectors.update(zip(keys, vectors, strict=True))


def embed_with_cache(
    embedder: Embedder,
    texts: Sequence[str],
    keys: Sequence[str],
    cache: VectorCache | None,
    *,
    chunk: int = 512,
    progress: Callable[[int], None] | None = None,
) -> Vectors:
    """Vectors for the texts: cached ones reused, the rest computed chunk by chunk."""
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    todo = [i for i, key in enumerate(keys) if cache is None or key not in cache]
    for i, key in enumerate(keys):
        if cache is not None and key in cache:
            out[i] = cache.get(key)
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        vectors = embedder.embed([texts[i] for i in part])
        out[part] = vectors
        if cache is not None:
            cache.put([keys[i] for i in part], vectors)
        if progress is not None:
            progress(len(part))
    return out
