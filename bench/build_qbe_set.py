"""Build query-by-example retrieval sets in BEIR layout from the shared arXiv corpus.

    python bench/build_qbe_set.py [--corpus PATH] [--out DIR] [--seed N] [--docs N] [--queries N]

"More like this" as a benchmark: a paper's abstract is the query, and the
papers that share at least two authors with it are relevant (a research
group's other work is what a reader of one of its papers looks for next).
The query paper stays in the corpus under its own id, so evaluation drops it
from its own results as BEIR does; its text in the corpus has the title,
the query has not, so the two never embed alike.

Two sets are written, from disjoint halves of the corpus by announcement
date, so one can be tuned on and the other reported:

    OUT/qbe-dev/       papers announced before 2025-09-01
    OUT/qbe-heldout/   papers announced from 2025-09-01

Each corpus holds the queries, their relevant papers and random papers of
the same period up to --docs. Standard library only; one seeded generator
per step, so the same seed writes the same bytes. The output is derived from
the shared corpus and stays out of git (bench/cache/ by default).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = (ROOT / "../shared/data/arxiv-cs-2025-03_2026-03.jsonl.gz").resolve()
DEFAULT_OUT = ROOT / "bench" / "cache"
SEED = 20261204
DOCS = 2000
QUERIES = 200
SPLIT_DAY = "2025-09-01"
SHARED_AUTHORS = 2  # a paper sharing this many authors with the query is relevant
RELEVANT = (2, 25)  # relevant papers per query, fewest and most
PROLIFIC = 40  # authors on more papers than this in a half are not evidence of a group


@dataclass(frozen=True)
class Paper:
    id: str
    title: str
    abstract: str
    authors: frozenset[str]
    announced: str


def squash(text: str) -> str:
    return " ".join(text.split())


def author_key(name: str) -> str:
    """A name folded for matching: case, accents and spacing do not tell authors apart."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(folded.lower().replace(".", " ").split())


def read_papers(path: Path) -> list[Paper]:
    """Every usable paper once, in id order: title, abstract of 200+ characters, authors."""
    by_id: dict[str, Paper] = {}
    titles: set[str] = set()
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            title, abstract = squash(record["title"]), squash(record["summary"])
            authors = frozenset(a for a in map(author_key, record["authors"] or []) if a)
            if title and len(abstract) >= 200 and authors and record["id"] not in by_id:
                by_id[record["id"]] = Paper(
                    record["id"], title, abstract, authors, record["announced"]
                )
    papers = []
    for paper in sorted(by_id.values(), key=lambda p: p.id):
        if paper.title.lower() not in titles:
            titles.add(paper.title.lower())
            papers.append(paper)
    return papers


def related(papers: list[Paper]) -> dict[str, set[str]]:
    """Paper id -> ids of the papers sharing enough (not prolific) authors with it."""
    by_author: dict[str, list[str]] = defaultdict(list)
    for paper in papers:
        for author in paper.authors:
            by_author[author].append(paper.id)
    shared: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for ids in by_author.values():
        if len(ids) > PROLIFIC:
            continue
        for a in ids:
            for b in ids:
                if a != b:
                    shared[a][b] += 1
    return {
        a: {b for b, n in others.items() if n >= SHARED_AUTHORS} for a, others in shared.items()
    }


def build_set(
    papers: list[Paper], seed: str, docs: int, queries: int
) -> tuple[dict[str, Paper], dict[str, set[str]]]:
    """(corpus by id, query id -> relevant ids) for one half of the corpus."""
    links = related(papers)
    rng = random.Random(f"{seed}-queries")
    candidates = sorted(p for p, r in links.items() if RELEVANT[0] <= len(r) <= RELEVANT[1])
    rng.shuffle(candidates)
    chosen: dict[str, set[str]] = {}
    members: set[str] = set()
    for query in candidates:
        if len(chosen) == queries:
            break
        group = links[query] | {query}
        if query in members or len(members | group) > docs * 0.6:
            continue  # a query is never another query's answer; leave room for others
        chosen[query] = links[query]
        members |= group
    by_id = {p.id: p for p in papers}
    others = sorted(set(by_id) - members)
    filler = random.Random(f"{seed}-filler").sample(others, docs - len(members))
    corpus = {i: by_id[i] for i in sorted(members | set(filler))}
    return corpus, chosen


def write_jsonl(path: Path, rows: Iterable[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_set(out: Path, corpus: dict[str, Paper], chosen: dict[str, set[str]]) -> None:
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    write_jsonl(
        out / "corpus.jsonl",
        ({"_id": p.id, "title": p.title, "text": p.abstract} for p in corpus.values()),
    )
    write_jsonl(out / "queries.jsonl", ({"_id": q, "text": corpus[q].abstract} for q in chosen))
    with (out / "qrels" / "test.tsv").open("w", encoding="utf-8", newline="\n") as handle:
        handle.write("query-id\tcorpus-id\tscore\n")
        for query, relevant in chosen.items():
            for doc in sorted(relevant):
                handle.write(f"{query}\t{doc}\t1\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--docs", type=int, default=DOCS)
    parser.add_argument("--queries", type=int, default=QUERIES)
    args = parser.parse_args()
    papers = read_papers(args.corpus)
    halves = {
        "qbe-dev": [p for p in papers if p.announced < SPLIT_DAY],
        "qbe-heldout": [p for p in papers if p.announced >= SPLIT_DAY],
    }
    for name, half in halves.items():
        corpus, chosen = build_set(half, f"{args.seed}-{name}", args.docs, args.queries)
        write_set(args.out / name, corpus, chosen)
        judged = sorted(len(r) for r in chosen.values())
        print(
            f"{name}: {len(corpus):,} documents, {len(chosen)} queries, "
            f"{sum(judged):,} judgments (median {judged[len(judged) // 2]} per query)"
        )


if __name__ == "__main__":
    main()
