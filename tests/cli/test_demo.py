"""`paperroute demo`: the bundled sample, indexed from its shipped vectors in seconds."""

from __future__ import annotations

import re
from itertools import islice
from pathlib import Path

import numpy as np
import orjson

from paperroute.domain import Paper
from paperroute.index.embed import embedding_text, load_embedder, text_hash
from paperroute.ingest.sources.jsonl import read_json_file
from paperroute.ingest.sources.listing import read_listing_file
from paperroute.store.embeddings import read_embeddings_file
from paperroute.store.papers import paper_key
from tests.cli.conftest import Invoke

SAMPLE = Path(__file__).parents[2] / "src/paperroute/sample"
REGENERATE = "the sample's vectors are stale: run `python bench/embed_sample.py`"


def test_demo_loads_and_indexes_the_sample_without_embedding_it(invoke: Invoke) -> None:
    output = invoke("demo", "--no-serve").output
    loaded = re.search(r"Sample loaded: ([\d,]+) papers, ([\d,]+) indexed \(([\d,]+) with", output)
    assert loaded is not None, output
    papers, indexed, shipped = (int(n.replace(",", "")) for n in loaded.groups())
    assert papers == indexed > 3000
    assert shipped == papers, REGENERATE
    assert "The index matches the database." in invoke("index", "check").output
    hybrid, semantic = (search_texts(invoke, "diffusion models for image editing", mode)
                        for mode in ("hybrid", "semantic"))  # fmt: skip
    assert len(hybrid) == 5 and sum("edit" in text for text in hybrid) >= 4
    # Vectors attached to the wrong papers would rank unrelated ones first.
    assert len(semantic) == 5 and all("diffusion" in text for text in semantic)
    again = invoke("demo", "--no-serve").output  # a second run adds nothing
    assert f"Sample loaded: {papers:,} papers, {papers:,} indexed" in again


def search_texts(invoke: Invoke, query: str, mode: str) -> list[str]:
    """The top five hits' titles and abstracts, lowercased."""
    output = invoke("search", query, "--mode", mode, "--limit", "5", "--json").output
    return [(h["title"] + " " + h["abstract"]).lower() for h in orjson.loads(output)["hits"]]


def sample_papers() -> list[Paper]:
    """A few papers from each sample file, spread over the file."""
    listed = [p for p in read_listing_file(SAMPLE / "trending-listing.txt") if isinstance(p, Paper)]
    papers = [p for p in read_json_file(SAMPLE / "papers.jsonl.gz") if isinstance(p, Paper)]
    return [*islice(papers, 0, None, 900), *listed[::30]]


def test_shipped_vectors_are_what_the_model_computes() -> None:
    shipped = read_embeddings_file(SAMPLE / "embeddings.npz")
    embedder = load_embedder("minilm")
    assert shipped.model == embedder.name
    assert shipped.vectors.shape == (len(shipped.keys), embedder.dim)
    rows = {key: row for row, key in enumerate(shipped.keys)}
    papers = sample_papers()
    texts = [embedding_text(p.title, p.abstract) for p in papers]
    chosen = [rows[paper_key(p)] for p in papers]
    assert [shipped.hashes[row] for row in chosen] == [text_hash(t) for t in texts], REGENERATE
    cosines = np.sum(embedder.embed(texts) * shipped.vectors[chosen], axis=1)
    assert cosines.min() > 0.99, cosines
