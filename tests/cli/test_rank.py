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
from tests.rank.synthetic import CUTOFF, team_corpus


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
    rows = [{"id": p.arxiv_id, "title": p.title, "summary": p.abstract, "authors": list(p.authors),
             "categories": list(p.categories), "announced": str(p.announced)}
            for p in team_corpus()]  # fmt: skip
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"  # one corpus in two files
    first.write_bytes(b"\n".join(orjson.dumps(r) for r in rows[::2]))
    second.write_bytes(b"\n".join(orjson.dumps(r) for r in rows[1::2]))
    args = ["eval", "recommend", str(first), str(second), "--cutoff", CUTOFF.isoformat()]
    cache = tmp_path / "vectors"
    figures = orjson.loads(invoke(*args, "--json", "--cache", str(cache)).output)
    assert list(figures) == ["protocol", "cutoff", "readers", "dropped", "candidates", "methods",
                             "ours_minus"]  # fmt: skip
    assert figures["protocol"] == "collaborators" and figures["readers"] == 36
    assert figures["dropped"] == 0 and figures["candidates"] == 24
    assert list(figures["methods"]) == ["newest", "popularity", "category-prior", "tfidf-centroid",
                                        "embedding-centroid", "arxiv-sanity", "ours"]  # fmt: skip
    for found in figures["methods"].values():
        assert list(found) == ["recall@20", "ndcg@20", "mrr", "ms_per_reader"]
    assert set(figures["ours_minus"]) == set(figures["methods"]) - {"ours"}
    low, mean, high = figures["ours_minus"]["newest"]["recall@20"]
    assert low <= mean <= high and len(VectorCache(cache)) == 72
    table = invoke(*args, "--readers", "5", "--protocol", "own", "--cache", str(cache)).output
    assert "5 of 36 readers" in table and "arxiv-sanity" in table and "own protocol" in table
    early = invoke("eval", "recommend", str(first), "--cutoff", "2020-01-01", expect=1).output
    assert "no reader with a target" in early and "choose a cutoff" in early
