"""Search recipes measured side by side on every development set.

    python bench/search_lab.py [--sets beir-arxiv,nfcorpus,qbe-dev] [--only lexical,semantic,fusion]

Each set is indexed once per lexical recipe; vectors are computed once per
embedding recipe and kept in bench/cache/lab/ (git-ignored), so a rerun only
ranks. The table shows nDCG@10 of each recipe on each set and whether it
beats the plain baseline of its kind on every set; the JSON of every figure
goes to bench/results/search_lab.json. Tune here on the development sets
only; bench/cache/qbe-heldout is for reporting (`paperroute eval beir`).
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import orjson
import tantivy
from rich.console import Console
from rich.table import Table

from paperroute.index.embed import MiniLMOnnx, embedding_text, text_hash
from paperroute.index.lexical import STOP_WORDS
from paperroute.index.vector_cache import VectorCache, embed_with_cache
from paperroute.search.beir import BeirSet, load_beir
from paperroute.search.evaluate import benchmark_query
from paperroute.search.metrics import evaluate

ROOT = Path(__file__).resolve().parents[1]
SETS = {
    "beir-arxiv": ROOT / "tests" / "fixtures" / "beir-arxiv",
    "nfcorpus": (ROOT / "../shared/benchmarks/nfcorpus").resolve(),
    "qbe-dev": ROOT / "bench" / "cache" / "qbe-dev",
}
CACHE = ROOT / "bench" / "cache" / "lab"
SHARED_CACHE = ROOT / "bench" / "cache" / "beir"
RESULTS = ROOT / "bench" / "results" / "search_lab.json"
DEPTH = 100
Run = dict[str, tuple[list[str], list[float]]]  # query id -> (doc ids, scores)

# A longer English stop list than Lucene's 33 words, for the free words of a query.
STOP_LONG = frozenset(
    str.split(
        "a about above after again against all am an and any are as at be because been before"
        " being below between both but by can could did do does doing down during each few for"
        " from further had has have having he her here hers herself him himself his how i if in"
        " into is it its itself just me more most my myself no nor not now of off on once only or"
        " other our ours ourselves out over own same she should so some such than that the their"
        " theirs them themselves then there these they this those through to too under until up"
        " very was we were what when where which while who whom why will with would you your"
        " yours yourself yourselves also may might must shall us via"
    )
)


# --- lexical ----------------------------------------------------------------------


def analyzer(stop: str | None) -> tantivy.TextAnalyzer:
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )
    if stop == "lucene":
        builder = builder.filter(tantivy.Filter.stopword("english"))
    elif stop == "long":
        builder = builder.filter(tantivy.Filter.custom_stopword(sorted(STOP_LONG)))
    return builder.filter(tantivy.Filter.stemmer("english")).build()


class Lexical:
    """A throwaway tantivy index of one recipe: fields, title repetition, stop list."""

    def __init__(
        self, data: BeirSet, folder: Path, *, fields: str, title_repeat: int, stop: str | None
    ) -> None:
        self.fields, self.analyzer = fields, analyzer(stop)
        builder = tantivy.SchemaBuilder()
        builder.add_unsigned_field("n", stored=True, fast=True)
        names = {"one": ["body"], "two": ["title", "abstract"], "body+title": ["body", "title"]}[
            fields
        ]
        for name in names:
            builder.add_text_field(name, tokenizer_name="x")
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema, path=str(folder))
        self.index.register_tokenizer("x", self.analyzer)
        writer = self.index.writer(heap_size=64_000_000, num_threads=1)
        for n, (title, text) in enumerate(data.corpus.values()):
            doc = tantivy.Document()
            doc.add_unsigned("n", n)
            if "body" in names:
                doc.add_text("body", " ".join([title] * title_repeat + [text]))
            if "title" in names:
                doc.add_text("title", title)
            if "abstract" in names:
                doc.add_text("abstract", text)
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.names = names

    def query(self, terms: Sequence[str], title_boost: float) -> tantivy.Query | None:
        """Each analysed query term once per occurrence, in every field (OR)."""
        clauses = []
        for token in self.analyzer.analyze(" ".join(terms)):
            for name in self.names:
                term: tantivy.Query = tantivy.Query.term_query(self.schema, name, token)
                if name == "title" and title_boost != 1.0:
                    term = tantivy.Query.boost_query(term, title_boost)
                clauses.append((tantivy.Occur.Should, term))
        return tantivy.Query.boolean_query(clauses) if clauses else None

    def run(
        self, data: BeirSet, doc_ids: list[str], *, title_boost: float = 1.0, drop: frozenset[str]
    ) -> Run:
        searcher = self.index.searcher()
        out: Run = {}
        for query_id, text in data.queries.items():
            terms = [t for t in benchmark_query(text).terms if t.lower() not in drop]
            built = self.query(terms, title_boost)
            if built is None:
                out[query_id] = ([], [])
                continue
            hits = searcher.search(built, limit=DEPTH + 1).hits
            ns = searcher.fast_field_values("n", [a for _, a in hits])
            pairs = [(doc_ids[int(n)], float(s)) for (s, _), n in zip(hits, ns, strict=True)]
            pairs = [p for p in pairs if p[0] != query_id][:DEPTH]
            out[query_id] = ([d for d, _ in pairs], [s for _, s in pairs])
        return out


# --- vectors ------------------------------------------------------------------------


def _digest(texts: Sequence[str]) -> str:
    return hashlib.blake2b("\x00".join(texts).encode(), digest_size=8).hexdigest()


def cached(name: str, texts: Sequence[str], compute: Callable[[], tuple[np.ndarray, np.ndarray]]):
    path = CACHE / f"{name}-{_digest(texts)}.npz"
    if path.is_file():
        with np.load(path) as data:
            return data["vectors"], data["owners"]
    vectors, owners = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, vectors=vectors, owners=owners)
    return vectors, owners


def whole(embedder: MiniLMOnnx, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    return embedder.embed(texts), np.arange(len(texts))


def shared(embedder: MiniLMOnnx, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Whole-text vectors through the cache `paperroute eval beir --cache` and tune_search share."""
    keys = [text_hash(t) for t in texts]
    vectors = embed_with_cache(embedder, texts, keys, VectorCache(SHARED_CACHE))
    return vectors, np.arange(len(texts))


def tails(embedder: MiniLMOnnx, texts: Sequence[str], window: int, stride: int):
    """Windows after the first (which `whole` already has), with their owners."""
    return embedder.embed_passages(texts, window=window, stride=stride, first=False)


class Vectors:
    """Every embedding recipe of one set, computed on first use."""

    def __init__(self, set_name: str, data: BeirSet, embedder: MiniLMOnnx) -> None:
        self.name, self.data, self.embedder = set_name, data, embedder
        self.docs = [embedding_text(t, x) for t, x in data.corpus.values()]
        self.titles = [t or x[:200] for t, x in data.corpus.values()]
        self.queries = list(data.queries.values())
        self._memo: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def get(self, recipe: str) -> tuple[np.ndarray, np.ndarray]:
        if recipe not in self._memo:
            e = self.embedder
            texts, compute = {
                "doc": (self.docs, lambda: shared(e, self.docs)),
                "doc-tail256": (self.docs, lambda: tails(e, self.docs, 256, 128)),
                "doc-p128": (self.docs, lambda: e.embed_passages(self.docs, window=128, stride=64)),
                "title": (self.titles, lambda: whole(e, self.titles)),
                "query": (self.queries, lambda: whole(e, self.queries)),
                "query-p256": (
                    self.queries,
                    lambda: e.embed_passages(self.queries, window=256, stride=128),
                ),
            }[recipe]
            self._memo[recipe] = cached(f"{self.name}-{recipe}", texts, compute)
        return self._memo[recipe]


def max_by_owner(scores: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    """(queries, passages) scores -> (queries, n docs) best passage score, -inf where none."""
    out = np.full((scores.shape[0], n), -np.inf, dtype=np.float32)
    np.maximum.at(out.T, owners, scores.T)
    return out


def mean_rows(vectors: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, vectors.shape[1]), dtype=np.float32)
    np.add.at(out, owners, vectors)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def dense_run(scores: np.ndarray, data: BeirSet, doc_ids: list[str]) -> Run:
    out: Run = {}
    position = {d: i for i, d in enumerate(doc_ids)}
    scores = scores.copy()
    for row, query_id in enumerate(data.queries):
        if query_id in position:
            scores[row, position[query_id]] = -np.inf
        top = np.argpartition(-scores[row], DEPTH)[:DEPTH]
        top = top[np.argsort(-scores[row, top], kind="stable")]
        out[query_id] = ([doc_ids[i] for i in top], scores[row, top].tolist())
    return out


# --- fusion ---------------------------------------------------------------------------


def rrf(runs: Sequence[Run], k: float = 60.0, weights: Sequence[float] | None = None) -> Run:
    weights = weights or [1.0] * len(runs)
    out: Run = {}
    for query_id in runs[0]:
        scores: dict[str, float] = {}
        for run, w in zip(runs, weights, strict=True):
            for rank, doc in enumerate(run[query_id][0], start=1):
                scores[doc] = scores.get(doc, 0.0) + w / (k + rank)
        ranked = sorted(scores.items(), key=lambda x: -x[1])[:DEPTH]
        out[query_id] = ([d for d, _ in ranked], [s for _, s in ranked])
    return out


def _norm(values: list[float], how: str) -> list[float]:
    if not values:
        return []
    a = np.array(values, dtype=np.float64)
    if how == "minmax":
        span = a.max() - a.min()
        return ((a - a.min()) / span if span > 1e-12 else np.ones_like(a)).tolist()
    if how == "max":
        return (a / max(a.max(), 1e-12)).tolist()
    sd = a.std()
    return ((a - a.mean()) / (sd if sd > 1e-12 else 1.0)).tolist()  # z-score


def convex(lexical: Run, semantic: Run, alpha: float, how: str = "minmax") -> Run:
    out: Run = {}
    for query_id in lexical:
        scores: dict[str, float] = {}
        parts = ((lexical[query_id], 1 - alpha), (semantic[query_id], alpha))
        floor = {}
        for (ids, values), w in parts:
            normed = _norm(values, how)
            floor[w] = min(normed) if normed else 0.0
            for doc, v in zip(ids, normed, strict=True):
                scores[doc] = scores.get(doc, 0.0) + w * v
        if how == "zscore":  # absent from a list: take that list's lowest score
            for (ids, _), w in parts:
                for doc in scores.keys() - set(ids):
                    scores[doc] += w * floor[w]
        ranked = sorted(scores.items(), key=lambda x: -x[1])[:DEPTH]
        out[query_id] = ([d for d, _ in ranked], [s for _, s in ranked])
    return out


def score(run: Run, data: BeirSet) -> dict[str, float]:
    return evaluate({q: ids for q, (ids, _) in run.items()}, data.qrels)


# --- the experiments -------------------------------------------------------------------


class Lab:
    def __init__(self, set_name: str, data: BeirSet, embedder: MiniLMOnnx, work: Path) -> None:
        self.name, self.data, self.work = set_name, data, work
        self.doc_ids = list(data.corpus)
        self.vectors = Vectors(set_name, data, embedder)
        self._lex: dict[str, Lexical] = {}

    def lexical(
        self, fields: str, repeat: int = 1, stop: str | None = None, boost: float = 1.0,
        drop: frozenset[str] = frozenset(),
    ) -> Run:  # fmt: skip
        key = f"{fields}-{repeat}-{stop}"
        if key not in self._lex:
            folder = self.work / f"{self.name}-{key}"
            folder.mkdir()
            self._lex[key] = Lexical(
                self.data, folder, fields=fields, title_repeat=repeat, stop=stop
            )
        return self._lex[key].run(self.data, self.doc_ids, title_boost=boost, drop=drop)

    def cosine(self, query: np.ndarray, *, tails: bool = False, title: float = 0.0) -> np.ndarray:
        docs, _ = self.vectors.get("doc")
        scores = query @ docs.T
        if tails:
            extra, owners = self.vectors.get("doc-tail256")
            scores = np.maximum(scores, max_by_owner(query @ extra.T, owners, len(docs)))
        if title:
            titles, _ = self.vectors.get("title")
            scores = scores + title * (query @ titles.T)
        return scores

    def query_vectors(self, long: bool) -> np.ndarray:
        if not long:
            return self.vectors.get("query")[0]
        vectors, owners = self.vectors.get("query-p256")
        return mean_rows(vectors, owners, len(self.data.queries))

    def rocchio(self, query: np.ndarray, first: Run, k: int, beta: float) -> np.ndarray:
        docs, _ = self.vectors.get("doc")
        position = {d: i for i, d in enumerate(self.doc_ids)}
        out = query.copy()
        for row, query_id in enumerate(self.data.queries):
            top = [position[d] for d in first[query_id][0][:k]]
            if top:
                out[row] = query[row] + beta * docs[top].mean(axis=0)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def dense(self, scores: np.ndarray) -> Run:
        return dense_run(scores, self.data, self.doc_ids)


def lexical_recipes(lab: Lab) -> dict[str, Run]:
    lucene = STOP_WORDS
    found = {"plain-bm25": lab.lexical("one", stop="lucene")}
    found["one field + title x0.3, stop lucene (chosen)"] = lab.lexical(
        "body+title", boost=0.3, drop=lucene
    )
    found["today (title x2, abstract)"] = lab.lexical("two", boost=2.0)
    for boost in (1.0, 1.5):
        found[f"fields title x{boost:g}, stop lucene"] = lab.lexical(
            "two", boost=boost, drop=lucene
        )
    for boost in (0.1, 0.2, 0.3, 0.5):
        found[f"one field + title x{boost:g}, stop lucene"] = lab.lexical(
            "body+title", boost=boost, drop=lucene
        )
    for repeat in (1, 2, 3):
        for label, drop in (("lucene", lucene), ("long", STOP_LONG)):
            found[f"one field, title x{repeat}, stop {label}"] = lab.lexical(
                "one", repeat=repeat, drop=drop
            )
    return found


def semantic_recipes(lab: Lab, lexical: Run, extra: bool) -> dict[str, Run]:
    plain = lab.query_vectors(long=False)
    long = lab.query_vectors(long=True)
    found = {"plain-semantic": lab.dense(lab.cosine(plain))}
    found["long queries as passages"] = lab.dense(lab.cosine(long))
    if extra:  # more vectors per paper: the costly recipes
        found["passages max-sim"] = lab.dense(lab.cosine(plain, tails=True))
        found["passages + long queries"] = lab.dense(lab.cosine(long, tails=True))
        for weight in (0.1, 0.3):
            found[f"title vector x{weight}"] = lab.dense(lab.cosine(long, title=weight))
    first = found["long queries as passages"]
    for k, beta in ((3, 0.5), (5, 0.5), (10, 0.5), (5, 1.0)):
        moved = lab.rocchio(long, first, k, beta)
        found[f"rocchio k={k} b={beta} (own)"] = lab.dense(lab.cosine(moved))
    fused = rrf([lexical, first])
    for k, beta in ((3, 1.0), (5, 0.5), (10, 0.5), (5, 1.0), (10, 1.0), (5, 2.0)):
        moved = lab.rocchio(long, fused, k, beta)
        found[f"rocchio k={k} b={beta} (from rrf)"] = lab.dense(lab.cosine(moved))
    return found


def fusion_recipes(lexical: Run, semantics: dict[str, Run]) -> dict[str, Run]:
    found = {}
    for name, semantic in semantics.items():
        for k in (10, 30, 60):
            found[f"rrf k={k} | {name}"] = rrf([lexical, semantic], k=k)
        for w in (0.8, 1.25):
            found[f"rrf k=60 lexical x{w} | {name}"] = rrf([lexical, semantic], 60, [w, 1.0])
        for how in ("minmax", "max"):
            for alpha in (0.3, 0.4, 0.5):
                found[f"convex {how} a={alpha} | {name}"] = convex(lexical, semantic, alpha, how)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--lexical", default="one field + title x0.3, stop lucene (chosen)")
    parser.add_argument(
        "--semantic",
        default="long queries as passages,rocchio k=5 b=0.5 (from rrf),rocchio k=5 b=1.0 (from rrf)",
    )
    parser.add_argument("--extra", action=argparse.BooleanOptionalAction, default=True,
                        help="passages and title vectors (costly to embed)")  # fmt: skip
    args = parser.parse_args()
    embedder = MiniLMOnnx()
    table: dict[str, dict[str, float]] = {}
    per_set: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as work:
        for name in args.sets.split(","):
            data = load_beir(SETS.get(name, Path(name)))
            lab = Lab(name, data, embedder, Path(work))
            runs = lexical_recipes(lab)
            lexical = runs[args.lexical]
            runs |= semantic_recipes(lab, lexical, args.extra)
            runs["plain-rrf"] = rrf([runs["plain-bm25"], runs["plain-semantic"]])
            runs |= fusion_recipes(lexical, {s: runs[s] for s in args.semantic.split(",")})
            per_set[name] = {label: score(run, data) for label, run in runs.items()}
            for label, values in per_set[name].items():
                table.setdefault(label, {})[name] = values["ndcg@10"]
            Console().print(f"{name}: done", style="dim")
    show(table, list(per_set))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    earlier = orjson.loads(RESULTS.read_bytes()) if RESULTS.is_file() else {}
    RESULTS.write_bytes(orjson.dumps(earlier | per_set, option=orjson.OPT_INDENT_2))


def show(table: dict[str, dict[str, float]], sets: list[str]) -> None:
    out = Table(title="nDCG@10 per development set (2 cores, no GPU)")
    out.add_column("recipe")
    for name in sets:
        out.add_column(name, justify="right")
    for label, values in table.items():
        out.add_row(label, *(f"{values.get(name, float('nan')):.4f}" for name in sets))
    Console().print(out)


if __name__ == "__main__":
    main()
