"""The embedder bench/recommend.py measures with: MiniLM on each abstract's first 128 word pieces.

The site embeds 256 word pieces; on a shared 2-core machine that is too slow for
the three cutoffs' windows and readers (about 14,000 texts), so the benchmark
gives ours and the embedding centroid the same shorter vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from paperroute.index.embed import MiniLMOnnx, Vectors

SHORT_TOKENS = 128
SHORT_CACHE = Path(__file__).parent / "cache" / f"minilm-int8-{SHORT_TOKENS}"


class ShortMiniLM(MiniLMOnnx):
    name = f"all-MiniLM-L6-v2-int8-{SHORT_TOKENS}"

    def embed(self, texts: Sequence[str]) -> Vectors:
        return self._embed_pieces([p[: SHORT_TOKENS - 2] for p in self._pieces(texts)])  # pyright: ignore[reportPrivateUsage]
