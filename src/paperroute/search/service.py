"""The search service: one query box to ranked papers, for the CLI, the web and the API."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine

from paperroute.domain import Paper
from paperroute.index.embed import Embedder
from paperroute.index.lexical import LexicalFilter, LexicalQuery, free_terms
from paperroute.index.sync import IndexFiles
from paperroute.search.hybrid import fuse, fuse_rrf
from paperroute.search.query import ParsedQuery, is_example, parse_query, words_query
from paperroute.search.spelling import corrected_text, suggest_words
from paperroute.store import papers as paper_store
from paperroute.store import votes as vote_store

__all__ = ["SORTS", "Mode", "Ranker", "SearchHit", "SearchPage", "SearchService"]

Mode = Literal["hybrid", "lexical", "semantic"]
Sort = Literal["relevance", "date", "votes"]
SORTS: tuple[Sort, ...] = ("relevance", "date", "votes")
# How deep each side looks before fusion: recall@100 needs at least 100.
CANDIDATES = 100
# Cosine a paper needs when no paper shares a word with the query. MiniLM gives
# nonsense ("zzyzx qwrtp") about 0.25 against arXiv abstracts, and a question
# phrased in other words than its answers about 0.45.
SEMANTIC_ONLY_FLOOR = 0.35
MAX_EXAMPLE_CHARS = 5_000  # a pasted abstract is searched up to this many characters
VOTES_SORT_DEPTH = 1000  # most-voted-first orders the thousand most relevant matches
# Newest first orders the papers that match well, not every paper sharing one word: the
# lexical matches scoring at least this share of the best (the page says so).
DATE_SORT_FLOOR = 0.5
FEW_MATCHES = 3  # fewer lexical matches than this: look for a spelling the papers use
SPELLING_SAMPLE = 20  # papers read for the words a misspelt query meant
# Pseudo-relevance feedback in vector space (Rocchio), in hybrid search: the query
# vector moves toward the mean vector of the PRF_DEPTH best papers of the first
# lexical + semantic fusion, by PRF_WEIGHT, and the papers of both lists are scored
# again with it. Chosen on every development set with bench/search_lab.py
# (docs/search.md); 0 turns it off. Semantic search alone does without: feedback
# from its own list lost on two sets of three.
PRF_DEPTH = 5
PRF_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class SearchHit:
    paper: Paper
    score: float
    paper_id: int
    title_html: str = ""  # escaped, with matched words in <b>
    snippet_html: str = ""


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: ParsedQuery
    hits: list[SearchHit] = field(default_factory=list)
    has_more: bool = False
    paper: Paper | None = None  # set when the box held an arXiv id we know: go straight there
    matches: int | None = None  # papers with any of the words (None: not counted)
    suggestion: str | None = None  # the query spelt as the papers spell it ("did you mean")
    corrected: bool = False  # the hits are for `suggestion`: the typed words matched nothing
    date_floor: float | None = None  # newest first among matches scoring this share of the best


def _lexical_query(parsed: ParsedQuery) -> LexicalQuery:
    return LexicalQuery(parsed.terms, parsed.phrases, parsed.excluded, parsed.authors)


def _lexical_filter(parsed: ParsedQuery) -> LexicalFilter:
    return LexicalFilter(parsed.categories, parsed.since, parsed.until, parsed.has_code)


class Ranker:
    """Ranks papers in an opened index: ids and scores only, no database."""

    def __init__(self, index: IndexFiles, embedder: Embedder) -> None:
        self.index, self.embedder = index, embedder

    def rank(
        self, parsed: ParsedQuery, *, mode: Mode = "hybrid", depth: int = CANDIDATES
    ) -> tuple[list[int], list[float]]:
        """Paper ids and scores, best first, `depth` deep."""
        lexical: tuple[list[int], list[float]] = ([], [])
        semantic: tuple[list[int], list[float]] = ([], [])
        if mode != "semantic":
            lexical = self.index.lexical.search(
                _lexical_query(parsed), _lexical_filter(parsed), limit=depth
            )
        if mode != "lexical":
            semantic = self._semantic(parsed, depth, lexical if mode == "hybrid" else None)
        if mode == "lexical":
            return lexical
        if mode == "semantic":
            return semantic
        if not lexical[0]:
            # No paper has any of the words: only close meanings are worth showing,
            # or gibberish would list the papers that happen to be nearest.
            kept = [(i, s) for i, s in zip(*semantic, strict=True) if s >= SEMANTIC_ONLY_FLOOR]
            return [i for i, _ in kept], [s for _, s in kept]
        if not semantic[0]:
            return lexical
        ids, scores = fuse(lexical, semantic)
        return ids[:depth], scores[:depth]

    def newest(self, parsed: ParsedQuery, *, depth: int) -> tuple[list[int], list[float]]:
        """Lexical matches (or everything a filter lets through), newest announced first."""
        return self.index.lexical.search(
            _lexical_query(parsed), _lexical_filter(parsed), limit=depth, newest_first=True
        )

    def _semantic(
        self, parsed: ParsedQuery, depth: int, lexical: tuple[list[int], list[float]] | None = None
    ) -> tuple[list[int], list[float]]:
        """Nearest papers to the query's vector; given the lexical list, moved toward the
        best papers of both (Rocchio)."""
        text = parsed.text
        if not text:
            return [], []
        where = _lexical_filter(parsed)
        allowed = self.index.catalog.allowed(
            where.categories, where.since, where.until, where.has_code
        )
        if parsed.authors:  # authors are lexical facts: search among their papers only
            allowed = np.array(self._lexical_ids(LexicalQuery(authors=parsed.authors), where))
        if parsed.excluded:
            # Each exclusion is a word or a phrase, as on the lexical side.
            banned = np.array(self._lexical_ids(LexicalQuery(phrases=parsed.excluded)))
            catalog_ids = self.index.catalog.ids
            everyone = allowed if allowed is not None else (
                catalog_ids if len(catalog_ids) else self.index.vectors.ids()
            )  # fmt: skip
            allowed = everyone[~np.isin(everyone, banned)]
        vector = self.embedder.embed([text])[0]
        found = self.index.vectors.search(vector, depth, allowed)
        if not PRF_DEPTH or not found[0] or not lexical or not lexical[0]:
            return found
        # The feedback papers come from the plain rank fusion of both lists: agreement
        # of words and meaning is the surest sign of relevance before any weighting.
        first = fuse_rrf([lexical, found])
        _, feedback = self._vectors(first[0][:PRF_DEPTH], found[0][:PRF_DEPTH])
        moved = vector + PRF_WEIGHT * feedback.mean(axis=0)
        moved /= max(float(np.linalg.norm(moved)), 1e-12)
        # Only the papers either list found are scored again: no second exact search,
        # and on every development set no worse than searching all vectors again.
        candidates, vectors = self._vectors([*found[0], *lexical[0]], found[0])
        scores = vectors @ moved
        order = np.argsort(-scores, kind="stable")[:depth]
        return candidates[order].tolist(), scores[order].astype(float).tolist()

    def _vectors(
        self, wanted: Sequence[int], fallback: Sequence[int]
    ) -> tuple[npt.NDArray[np.int64], np.ndarray]:
        """The wanted papers (once each) and their vectors; the fallback's, whose vectors
        exist, if a wanted paper has none yet (found by its words before its embedding)."""
        ids = np.array(list(dict.fromkeys(wanted)), dtype=np.int64)
        try:
            return ids, self.index.vectors.vectors_of(ids)
        except KeyError:
            ids = np.array(list(dict.fromkeys(fallback)), dtype=np.int64)
            return ids, self.index.vectors.vectors_of(ids)

    def _lexical_ids(self, query: LexicalQuery, where: LexicalFilter | None = None) -> list[int]:
        """Every paper a lexical query matches (the order does not matter here)."""
        everything = max(1, len(self.index.catalog), self.index.lexical.count())
        return self.index.lexical.search(query, where, limit=everything)[0]

    def similar(
        self, paper_ids: Sequence[int], *, limit: int = 10
    ) -> tuple[list[int], list[float]]:
        """Papers most like one paper, or like a set of papers, excluding the set itself.

        Each paper's title and abstract is searched as a query, in hybrid search:
        the path the query-by-example sets measure (docs/search.md). For a set, the
        lists are fused by rank.
        """
        known = self.index.lexical.texts(list(dict.fromkeys(paper_ids)))
        if not known:
            return [], []
        depth = max(CANDIDATES, limit + len(known))
        lists = [
            self.rank(words_query(f"{title} {abstract}"), mode="hybrid", depth=depth)
            for title, abstract in known.values()
        ]
        ids, scores = lists[0] if len(lists) == 1 else fuse_rrf(lists)
        pairs = [(i, s) for i, s in zip(ids, scores, strict=True) if i not in known][:limit]
        return [i for i, _ in pairs], [s for _, s in pairs]


class SearchService:
    """Searches for what a user typed; papers for display come from the database."""

    def __init__(
        self, engine: Engine, ranker: Ranker, *, observe: Callable[[float], None] | None = None
    ) -> None:
        self.engine, self.ranker = engine, ranker
        self.observe = observe  # hears each search's seconds (the site's metrics)

    def search(
        self,
        text: str,
        *,
        mode: Mode = "hybrid",
        sort: Sort = "relevance",
        limit: int = 20,
        offset: int = 0,
        today: dt.date | None = None,
        respell: bool = True,
        count: bool = False,
    ) -> SearchPage:
        """One page of results for what a user typed. With `respell`, typos are corrected
        when the words as typed match nothing; with `count`, the lexical matches are counted
        (a walk over every match: only the search page shows the number)."""
        started = time.perf_counter()
        try:
            return self._search(text, mode, sort, limit, offset, today, respell, count)
        finally:
            if self.observe is not None:
                self.observe(time.perf_counter() - started)

    def _search(
        self,
        text: str,
        mode: Mode,
        sort: Sort,
        limit: int,
        offset: int,
        today: dt.date | None,
        respell: bool,
        count: bool,
    ) -> SearchPage:
        parsed = parse_query(text, today=today or dt.date.today())
        if is_example(text):
            parsed = words_query(text[:MAX_EXAMPLE_CHARS])
        if parsed.arxiv_id is not None:
            with self.engine.connect() as conn:
                paper = paper_store.get_paper(conn, parsed.arxiv_id)
            if paper is not None:
                return SearchPage(parsed, paper=paper)
        depth = max(CANDIDATES, offset + limit + 1)
        lexical = self.ranker.index.lexical
        suggestion, corrected = None, False
        if mode != "semantic" and parsed.terms and not is_example(text):
            # The best few only (top-k pruning makes this cheap): enough to know "few".
            few = lexical.search(_lexical_query(parsed), _lexical_filter(parsed), limit=FEW_MATCHES)
            if len(few[0]) < FEW_MATCHES:
                suggestion, better = self._spelling(text, parsed)
                if better is not None and not few[0] and respell:  # the papers' spelling
                    parsed, corrected = better, True
        matches = None
        if count and mode != "semantic" and parsed.terms:
            matches = lexical.count_matches(_lexical_query(parsed), _lexical_filter(parsed))
        date_floor = None
        if sort == "date" and mode != "semantic" and parsed.terms:
            # Newest first among the papers that match well: semantic neighbours, or
            # papers sharing one word of several, would fill the page with the loosely related.
            ids, scores = lexical.search(
                _lexical_query(parsed), _lexical_filter(parsed), limit=max(depth, VOTES_SORT_DEPTH)
            )
            best = max(scores, default=0.0)
            kept = [
                (i, sc) for i, sc in zip(ids, scores, strict=True) if sc >= DATE_SORT_FLOOR * best
            ]
            ids, scores, date_floor = [i for i, _ in kept], [sc for _, sc in kept], DATE_SORT_FLOOR
            if not ids and mode == "hybrid":
                ids, scores = self.ranker.rank(parsed, mode="hybrid", depth=depth)
        elif sort == "date" and mode != "semantic":  # filters only: every paper they let through
            ids, scores = self.ranker.newest(parsed, depth=depth)
        elif sort == "votes" and mode == "hybrid":
            ids, scores = self.ranker.rank(
                parsed, mode="lexical", depth=max(depth, VOTES_SORT_DEPTH)
            )
            if not ids:
                ids, scores = self.ranker.rank(parsed, mode="hybrid", depth=depth)
        else:
            ids, scores = self.ranker.rank(parsed, mode=mode, depth=depth)
        with self.engine.connect() as conn:
            found = paper_store.get_papers_by_ids(conn, ids)
            for hidden in paper_store.hidden_ids(conn, list(found)):
                del found[hidden]
            local_votes = vote_store.count_votes(conn, list(found)) if sort == "votes" else {}
        pairs = [(found[i], s, i) for i, s in zip(ids, scores, strict=True) if i in found]
        if sort == "date":
            pairs.sort(key=lambda p: (p[0].announced or dt.date.min, p[0].key or ""), reverse=True)
        elif sort == "votes":  # stable: equal votes keep their relevance order
            pairs.sort(key=lambda p: (p[0].upvotes or 0) + local_votes.get(p[2], 0), reverse=True)
        chosen = pairs[offset : offset + limit]
        lexical, query = self.ranker.index.lexical, _lexical_query(parsed)
        ids = [pid for _, _, pid in chosen]
        titles = lexical.highlight(query, ids, "title", max_chars=1000)
        snippets = lexical.highlight(query, ids, "abstract", max_chars=320)
        hits = [SearchHit(paper, score, pid, titles.get(pid, ""), snippets.get(pid, ""))
                for paper, score, pid in chosen]  # fmt: skip
        return SearchPage(parsed, hits, has_more=len(pairs) > offset + limit, matches=matches,
                          suggestion=suggestion, corrected=corrected, date_floor=date_floor)  # fmt: skip

    def _spelling(self, text: str, parsed: ParsedQuery) -> tuple[str | None, ParsedQuery | None]:
        """The typed text respelt as the papers spell it, and the query with those words."""
        lexical = self.ranker.index.lexical
        ids, _ = lexical.fuzzy_search(
            _lexical_query(parsed), _lexical_filter(parsed), limit=SPELLING_SAMPLE
        )
        texts = [f"{title} {abstract}" for title, abstract in lexical.texts(ids).values()]
        replacements = suggest_words(free_terms(parsed.terms), texts, lexical.stem)
        if not replacements:
            return None, None
        terms = tuple(replacements.get(t, t) for t in parsed.terms)
        return corrected_text(text, replacements), replace(parsed, terms=terms)
