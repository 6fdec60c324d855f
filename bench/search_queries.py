"""Search-box queries for the search benchmark, made from the corpus with a fixed seed.

Four kinds, in equal shares, as people type them:

- keywords: two or three content words of a title ("gaussian splatting editing");
- questions: title phrases in natural language ("how do vision-language models work?");
- phrases: a quoted pair of title words and one more word ('"sensor simulation" lidar');
- authors: `author:` with a surname and a word of one of that author's titles.

A few queries exclude a word (-survey), as the query language allows.
`with_filter` adds one filter to each query (category, date, has:code) for
"hybrid with a filter".
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FILTERS", "BenchQuery", "make_queries", "with_filter"]

KINDS = ("keywords", "question", "phrase", "author")
FILTERS = (
    "cat:cs.CV",
    "since:2025-10",
    "has:code",
    "cat:cs.CL since:2026-01",
    "cat:cs.LG,cs.AI",
    "until:2025-06",
)
_QUESTIONS = (
    "how do {a} work?",
    "methods for {a}",
    "what are the best approaches to {a}?",
    "{a} for {b}",
    "survey of {a}",
    "improving {a} with {b}",
    "can {a} help {b}?",
    "recent advances in {a}",
)
_EXCLUDED = ("-survey", "-benchmark", "-medical", "-3d")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]")
_STOP_WORDS = """
a an and are as at be by can do does for from how in into is it its of on or our the their this
to toward towards via vs we what when where which while who why with without using based new
beyond through under over across between study approach method methods model models learning
"""
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True, slots=True)
class BenchQuery:
    kind: str
    text: str


def _content_words(title: str) -> list[str]:
    words = [w.lower() for w in _WORD.findall(title)]
    return [w for w in words if len(w) > 3 and w not in _STOP]


def _run(words: list[str], rng: random.Random, size: int) -> str:
    """`size` consecutive content words of a title."""
    start = rng.randrange(max(1, len(words) - size + 1))
    return " ".join(words[start : start + size])


def _keywords(words: list[str], rng: random.Random) -> str:
    chosen = sorted(rng.sample(range(len(words)), min(len(words), rng.choice((2, 3)))))
    return " ".join(words[i] for i in chosen)


def _question(words: list[str], other: list[str], rng: random.Random) -> str:
    text = rng.choice(_QUESTIONS).format(
        a=_run(words, rng, rng.choice((2, 3))), b=_run(other, rng, 2)
    )
    return f"{text} {rng.choice(_EXCLUDED)}" if rng.random() < 0.1 else text


def _phrase(title: str, words: list[str], rng: random.Random) -> str:
    """Two neighbouring content words of the title, quoted, and one more word."""
    raw = [w.lower() for w in _WORD.findall(title)]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(raw) if a in words and b in words]
    pair = rng.choice(pairs) if pairs else _run(words, rng, 2)
    extra = [w for w in words if w not in pair.split()]
    return f'"{pair}" {rng.choice(extra)}' if extra else f'"{pair}"'


def _author(authors: Sequence[str], words: list[str], rng: random.Random) -> str | None:
    names = [a for a in authors if len(a.split()) >= 2]
    if not names:
        return None
    surname = rng.choice(names).split()[-1]
    return f"author:{surname} {rng.choice(words)}"


def make_queries(
    papers: Sequence[tuple[str, Sequence[str]]], count: int = 240, seed: int = 7
) -> list[BenchQuery]:
    """`count` queries from (title, authors) pairs; the same corpus and seed give the same."""
    rng = random.Random(seed)
    usable = [(t, a, w) for t, a in papers if len(w := _content_words(t)) >= 3]
    if not usable:
        raise ValueError("no title has three content words to make queries from")
    queries: list[BenchQuery] = []
    while len(queries) < count:
        kind = KINDS[len(queries) % len(KINDS)]
        title, authors, words = rng.choice(usable)
        if kind == "keywords":
            text = _keywords(words, rng)
        elif kind == "question":
            text = _question(words, rng.choice(usable)[2], rng)
        elif kind == "phrase":
            text = _phrase(title, words, rng)
        else:
            text = _author(authors, words, rng)
        if text:
            queries.append(BenchQuery(kind, text))
    return queries


def with_filter(queries: Sequence[BenchQuery]) -> list[BenchQuery]:
    """The same queries, each with one of FILTERS added: in turn, shifted by one after each
    round of kinds so that every kind meets every filter."""
    return [
        BenchQuery(q.kind, f"{q.text} {FILTERS[(i + i // len(KINDS)) % len(FILTERS)]}")
        for i, q in enumerate(queries)
    ]
