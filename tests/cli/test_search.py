"""Index and search commands end to end, with the real embedding model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.cli.conftest import Invoke, run_cli

# 40 papers: enough to rank, few enough to embed in seconds.
SLICE = Path(__file__).parents[1] / "fixtures" / "papers-tiny.jsonl"


@pytest.fixture
def db_url(sqlite_db_url: str) -> str:
    """SQLite only here: these tests are about the commands; the store is tested on both."""
    return sqlite_db_url


def test_sync_check_search(invoke: Invoke) -> None:
    invoke("init")
    invoke("ingest", "file", str(SLICE))
    assert "run `paperroute index sync` to build it" in invoke("search", "graphs", expect=1).output
    assert "40 papers taken in" in invoke("index", "sync").output
    assert "matches the database" in invoke("index", "check").output
    found = orjson.loads(
        invoke(
            "search", "how can neural networks solve geometry problems?", "--json", "--limit", "5"
        ).output
    )
    assert len(found["hits"]) == 5 and all(h["title"] for h in found["hits"])
    assert (
        found["hits"][0]["arxiv_id"] == "2507.11936"
    )  # A Survey of Deep Learning for Geometry Problem Solving
    semantic = orjson.loads(
        invoke("search", "computers playing board games", "--mode", "semantic", "--json").output
    )
    assert semantic["hits"][0]["arxiv_id"] == "2507.12215"  # Xiangqi-R1 ... Chinese Chess
    in_cl = orjson.loads(invoke("search", "retrieval", "--category", "cs.CL", "--json").output)
    assert in_cl["hits"] and all("cs.CL" in h["categories"] for h in in_cl["hits"])
    direct = orjson.loads(invoke("search", "arXiv:2507.11936", "--json").output)
    assert [h["arxiv_id"] for h in direct["hits"]] == ["2507.11936"]
    assert "2507.11936" in invoke("search", "2507.11936").output
    near = orjson.loads(invoke("similar", "2507.12215", "--json", "--limit", "3").output)
    assert len(near) == 3 and "2507.12215" not in [p["arxiv_id"] for p in near]
    assert "not stored: 2601.99999" in invoke("similar", "2601.99999", expect=1).output
    bad = invoke("search", "graphs year:20x5").output
    assert "is not a year" in bad


def test_check_fails_until_sync_catches_up(invoke: Invoke, tmp_path: Path) -> None:
    invoke("init")
    invoke("ingest", "file", str(SLICE))
    invoke("index", "sync")
    extra = tmp_path / "one.jsonl"
    extra.write_text(
        '{"id": "2601.00001", "title": "A brand new paper on topology", "summary": "Knots."}\n'
    )
    invoke("ingest", "file", str(extra))
    behind = " ".join(invoke("index", "check", expect=1).output.split())
    assert "1 missing from the index" in behind
    assert "1 papers changed in the database since (its lag)" in behind
    assert "1 papers taken in" in invoke("index", "sync").output
    assert "0 papers changed" in " ".join(invoke("index", "check").output.split())
    assert "Rebuilt: 41 papers" in invoke("index", "rebuild").output
    invoke("index", "check")


@pytest.mark.slow  # separate processes, killed or served: seconds each
def test_kill_during_sync_then_sync_completes(cli_env: dict[str, str]) -> None:
    run_cli("init", env=cli_env)
    run_cli("ingest", "file", str(SLICE), env=cli_env)
    process = subprocess.Popen([sys.executable, "-m", "paperroute", "index", "sync", "--batch", "8"],
                               env=os.environ | cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    manifest = Path(cli_env["PAPERROUTE_HOME"]) / "index" / "manifest.json"
    deadline = time.monotonic() + 120
    while not manifest.exists() and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert run_cli("index", "check", env=cli_env).returncode == 1  # killed part way
    assert run_cli("index", "sync", env=cli_env).returncode == 0
    check = run_cli("index", "check", env=cli_env)
    assert check.returncode == 0, check.stdout


def test_eval_beir_prints_all_metrics(invoke: Invoke, tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    docs = {"d1": "Diffusion models edit images from text instructions.",
            "d2": "Graph neural networks predict molecular properties.",
            "d3": "Large language models solve math word problems step by step.",
            "d4": "Reinforcement learning trains robots to walk."}  # fmt: skip
    (folder / "corpus.jsonl").write_text(
        "".join(
            orjson.dumps({"_id": k, "title": "", "text": v}).decode() + "\n"
            for k, v in docs.items()
        )
    )
    queries = {
        "q1": "image editing with diffusion",
        "q2": "molecules and graphs",
        "q3": "language models doing math",
    }
    (folder / "queries.jsonl").write_text(
        "".join(orjson.dumps({"_id": k, "text": v}).decode() + "\n" for k, v in queries.items())
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t2\n"
    )
    result = orjson.loads(invoke("eval", "beir", str(folder), "--json").output)
    assert set(result) == {
        "lexical", "semantic", "hybrid", "plain-bm25", "plain-semantic", "plain-rrf"
    }  # fmt: skip
    for values in result.values():
        assert set(values) == {"ndcg@10", "recall@100", "mrr@10"}
        assert values["recall@100"] == 1.0
    assert result["semantic"]["mrr@10"] == 1.0
    assert "ndcg@10" in invoke("eval", "beir", str(folder)).output
