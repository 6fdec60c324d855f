"""Precompute the bundled sample's embeddings, so `paperroute demo` need not run the model.

    python bench/embed_sample.py [--from-scratch]

Loads the sample into a temporary SQLite database the way `paperroute demo`
does, reuses the vectors of the current file whose text is unchanged (all of
them with --from-scratch ignored), embeds the rest with all-MiniLM-L6-v2
int8, and writes src/paperroute/sample/embeddings.npz. From scratch it takes
about 3 minutes on 2 cores. Rerun it whenever the sample files change: the
demo test fails until the file covers every sample paper.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from paperroute.index.embed import embedding_text, load_embedder, text_hash
from paperroute.index.sync import open_index, sync_index
from paperroute.ingest.pipeline import run_ingest
from paperroute.ingest.sources.jsonl import read_json_file
from paperroute.ingest.sources.listing import read_listing_file
from paperroute.store import embeddings as embedding_store
from paperroute.store.db import make_engine, upgrade_schema

SAMPLE = Path(__file__).parents[1] / "src/paperroute/sample"
OUT = SAMPLE / "embeddings.npz"


def _hash_of(title: str, abstract: str) -> str:
    return text_hash(embedding_text(title, abstract))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--from-scratch", action="store_true", help="Embed every paper, ignoring the current file."
    )
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    embedder = load_embedder("minilm")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/sample.db")
        upgrade_schema(engine)
        run_ingest(engine, "file", "sample:papers", read_json_file(SAMPLE / "papers.jsonl.gz"))
        run_ingest(
            engine, "listing", "sample:listing", read_listing_file(SAMPLE / "trending-listing.txt")
        )
        reused = 0
        if OUT.exists() and not args.from_scratch:
            with engine.begin() as conn:
                found = embedding_store.read_embeddings_file(OUT)
                reused = embedding_store.import_embeddings(conn, found, _hash_of)
        started = time.perf_counter()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn())  # fmt: skip
        with Progress(*columns) as progress:
            task = progress.add_task("embedding", total=None)
            sync_index(
                engine, open_index(Path(tmp) / "index", embedder), embedder, batch_size=200,
                progress=lambda done, left: progress.update(task, completed=done, total=done + left),
            )  # fmt: skip
        elapsed = time.perf_counter() - started
        with engine.connect() as conn:
            result = embedding_store.export_embeddings(conn, embedder.name)
        engine.dispose()
    embedding_store.write_embeddings_file(OUT, result)
    print(f"{len(result.keys):,} papers: {reused:,} vectors reused, "
          f"{len(result.keys) - reused:,} embedded in {elapsed:,.0f} s")  # fmt: skip
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
