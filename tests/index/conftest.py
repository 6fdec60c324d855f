"""A small, fast, deterministic embedder for index and search tests.

Bag of hashed words: texts that share words get close vectors, which is all the
index needs to be tested; the real model has its own tests.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
import pytest

from paperroute.index.embed import Vectors


class WordHashEmbedder:
    name = "word-hash-test"
    dim = 64

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


@pytest.fixture
def embedder() -> WordHashEmbedder:
    return WordHashEmbedder()
