"""`paperroute trending`: the list with its score's parts, as a table or JSON."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
from sqlalchemy import Engine

from paperroute.index.vector_cache import VectorCache
from paperroute.store.papers import ids_for_refs
from paperroute.store.users import add_user
from paperroute.store.votes import vote
from tests.cli.conftest import Invoke
from tests.cli.test_main import SLICE
from tests.rank.synthetic import CUTOFF, synthetic_corpus


def test_trending_prints_the_parts_of_each_score(invoke: Invoke, engine: Engine) -> None:
    invoke("init")
    invoke("ingest", "file", str(SLICE))
    lines = invoke("trending", "--window", "week", "--category", "cs.CL", "--json").output
    papers = [orjson.loads(line) for line in lines.splitlines()]
    assert len(papers) == 20 and all(p["points"] == 0 for p in papers)
    favourite = papers[-1]["id"]
    with engine.begin() as conn:
        paper_id = ids_for_refs(conn, [favourite])[favourite]
        now = dt.datetime.now(dt.UTC)
        for n in range(2):
            vote(conn, add_user(conn, f"r{n}@example.org", now).id, paper_id, now)
    top = orjson.loads(
        invoke("trending", "--window", "week", "--category", "cs.CL", "--json").output.split("\n")[
            0
        ]
    )
    assert top["id"] == favourite and top["parts"]["votes"] == 2 and top["signals"] == "2 votes"
    table = invoke("trending", "--date", "2025-07-18", "--limit", "3").output
    assert "Trending on 2025-07-18" in table and "2.0" in table and "points" in table
    bad = invoke("trending", "--date", "yesterday", expect=1).output
    assert "--date 'yesterday' is not a day" in bad


def test_eval_recommend_prints_and_writes_every_method(invoke: Invoke, tmp_path: Path) -> None:
    corpus = tmp_path / "papers.jsonl"
    rows = [{"id": p.arxiv_id, "title": p.title, "summary": p.abstract, "authors": list(p.authors),
             "categories": list(p.categories), "announced": str(p.announced)}
            for p in synthetic_corpus()]  # fmt: skip
    corpus.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    args = ["eval", "recommend", str(corpus), "--cutoff", CUTOFF.isoformat()]
    cache = tmp_path / "vectors"
    figures = orjson.loads(invoke(*args, "--json", "--cache", str(cache)).output)
    for method in ("newest", "trending", "arxiv-sanity", "ours"):
        assert set(figures[method]) >= {"recall@20", "ndcg@20", "mrr", "train_ms_per_user"}
    assert figures["run"]["readers"] == figures["run"]["readers_total"] == 36
    assert figures["run"]["embeddings"] is True and len(VectorCache(cache)) == 180
    assert figures["ours"]["recall@20"] >= figures["arxiv-sanity"]["recall@20"]
    table = invoke(*args, "--readers", "5", "--no-embeddings").output
    assert "5 of 36 readers" in table and "arxiv-sanity" in table
    early = invoke("eval", "recommend", str(corpus), "--cutoff", "2020-01-01", expect=1).output
    assert "no reader in" in early and "choose a cutoff" in early
