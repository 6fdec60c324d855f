"""Embed the shared corpus once and cache the vectors (bench/cache/, git-ignored).

    python bench/embed_corpus.py [--corpus PATH]

Takes about 50 minutes on 2 cores; resumable: each chunk of vectors is saved as
it is done, and a rerun skips the texts already cached. The search benchmark
loads this cache so it never recomputes vectors.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from rich.progress import Progress

from paperroute.domain import Paper
from paperroute.index.embed import MAX_TOKENS, MiniLMOnnx, embedding_text, text_hash
from paperroute.ingest.sources.jsonl import read_json_file

CORPUS = (Path(__file__).parents[1] / "../shared/data/arxiv-cs-2025-03_2026-03.jsonl.gz").resolve()
CACHE = Path(__file__).parent / "cache" / f"minilm-int8-{MAX_TOKENS}"
CHUNK = 512


def load_cache(folder: Path = CACHE) -> dict[str, np.ndarray]:
    """text hash -> vector, from every chunk saved so far."""
    cached: dict[str, np.ndarray] = {}
    for chunk in sorted(folder.glob("chunk-*.npz")):
        with np.load(chunk) as data:
            cached.update(zip(data["hashes"].tolist(), data["vectors"], strict=True))
    return cached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = load_cache()
    texts = {}
    for item in read_json_file(args.corpus):
        if isinstance(item, Paper):
            text = embedding_text(item.title, item.abstract)
            texts.setdefault(text_hash(text), text)
    todo = [(h, t) for h, t in texts.items() if h not in cached]
    print(f"{len(texts):,} texts, {len(cached):,} cached, {len(todo):,} to embed")
    embedder = MiniLMOnnx()
    started, done = time.perf_counter(), 0
    with Progress() as progress:
        task = progress.add_task("embedding", total=len(todo))
        for start in range(0, len(todo), CHUNK):
            part = todo[start : start + CHUNK]
            vectors = embedder.embed([t for _, t in part])
            name = CACHE / f"chunk-{len(cached) + start:07d}.npz"
            tmp = name.with_suffix(".tmp.npz")
            np.savez(tmp, hashes=np.array([h for h, _ in part]), vectors=vectors)
            tmp.rename(name)
            done += len(part)
            progress.update(task, advance=len(part))
    elapsed = time.perf_counter() - started
    if done:
        print(f"embedded {done:,} texts in {elapsed:,.0f} s ({done / elapsed:,.1f} texts/s)")


if __name__ == "__main__":
    main()
