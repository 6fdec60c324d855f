"""The lexical index: BM25 over title and abstract as one text, plus a title bonus, with tantivy.

Free words are scored in `body` (title and abstract as one field, so a word's
frequency and the text's length are counted once, as in plain BM25) plus
TITLE_WEIGHT times their BM25 in `title`. English stop words are dropped
from the free words only: phrases, exclusions and `author:` keep every word,
and the fields index every word, so a phrase with "of the" still matches
exactly. bench/search_lab.py measured the choices (docs/search.md).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

__all__ = [
    "SCHEMA_VERSION",
    "STOP_WORDS",
    "LexicalDoc",
    "LexicalFilter",
    "LexicalIndex",
    "LexicalQuery",
    "free_terms",
    "max_edits",
]

_EPOCH = dt.date(1970, 1, 1)
# Bumped when the fields change: an index of another version is rebuilt, not opened.
SCHEMA_VERSION = 2
_SEARCH_FIELDS = ["body", "title", "authors"]
# The title's BM25 is added at this weight to the body's. On the development sets
# (nDCG@10, docs/search.md): 0 is plain BM25; 0.3 gains 0.07 where queries recall
# titles (beir-arxiv) and changes nothing measurable elsewhere; 0.5 gains 0.02 more
# there, but whole-field title boosts lost to plain BM25 on claims -> abstracts,
# so we stop at 0.3.
FIELD_BOOSTS = {"body": 1.0, "title": 0.3, "authors": 1.0}
# Lucene's English stop words, which plain BM25 baselines use.
STOP_WORDS = frozenset(
    ("a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
     "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
     "these", "they", "this", "to", "was", "will", "with")
)  # fmt: skip
# Characters that mean something in tantivy's query language.
_SYNTAX = re.compile(r'[+\-&|!(){}\[\]^"~*?:\\/<>\'`=]')


def _days(day: dt.date) -> int:
    return (day - _EPOCH).days


@dataclass(frozen=True, slots=True)
class LexicalDoc:
    """What the lexical index knows of a paper."""

    paper_id: int
    title: str
    abstract: str
    authors: Sequence[str]
    categories: Sequence[str]
    announced: dt.date | None
    has_code: bool


@dataclass(frozen=True, slots=True)
class LexicalFilter:
    categories: Sequence[str] = ()  # any of them; an archive ("cs") matches its classes
    since: dt.date | None = None
    until: dt.date | None = None
    has_code: bool = False


@dataclass(frozen=True, slots=True)
class LexicalQuery:
    terms: Sequence[str] = ()
    phrases: Sequence[str] = ()
    excluded: Sequence[str] = ()
    authors: Sequence[str] = ()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    builder.add_text_field("title", stored=True, tokenizer_name="en")
    builder.add_text_field("abstract", stored=True, tokenizer_name="en")
    builder.add_text_field("body", stored=False, tokenizer_name="en")
    builder.add_text_field("authors", stored=False, tokenizer_name="names")
    builder.add_text_field("categories", stored=False, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("announced", stored=False, indexed=True, fast=True)
    builder.add_boolean_field("has_code", stored=False, indexed=True, fast=True)
    return builder.build()


def _english() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _register_analyzers(index: tantivy.Index) -> None:
    english = _english()
    # Names are not stemmed, but folded: "Incà" is found by "inca".
    names = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )
    index.register_tokenizer("en", english)
    index.register_tokenizer("names", names)


def _paper_ids(searcher: tantivy.Searcher, hits: list[tuple[Any, tantivy.DocAddress]]) -> list[int]:
    values = searcher.fast_field_values("id", [address for _, address in hits])
    ids = [v for v in values if isinstance(v, int)]
    if len(ids) != len(hits):
        raise RuntimeError(
            "the lexical index has a document without an id; run `paperroute index rebuild`"
        )
    return ids


def max_edits(stem: str) -> int:
    """Typos forgiven in a word: none in short ones (too many neighbours), then 1, then 2."""
    return 0 if len(stem) <= 3 else 1 if len(stem) <= 6 else 2


def _clean_words(text: str) -> str:
    """Text with tantivy's syntax removed: user words are never query syntax."""
    return " ".join(_SYNTAX.sub(" ", text).split())


def free_terms(terms: Sequence[str]) -> list[str]:
    """The free words worth scoring: stop words dropped, unless nothing else is left."""
    kept = [t for t in terms if t.lower() not in STOP_WORDS]
    return kept or list(terms)


class LexicalIndex:
    """One tantivy index in a folder; writes go through `upsert` and `commit`."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._schema = _schema()
        self._index = tantivy.Index(self._schema, path=str(folder), reuse=True)
        _register_analyzers(self._index)
        self._stemmer = _english()
        self._writer: Any = None

    # -- writing ------------------------------------------------------------

    def _writer_open(self) -> Any:
        if self._writer is None:
            self._writer = self._index.writer(heap_size=128_000_000, num_threads=1)
        return self._writer

    def upsert(self, docs: Iterable[LexicalDoc], *, fresh: bool = False) -> None:
        """Replace each paper's document (uncommitted until `commit`).

        `fresh` skips the deletes when the index is known to be new.
        """
        writer = self._writer_open()
        for doc in docs:
            if not fresh:
                writer.delete_documents_by_query(self._id_query(doc.paper_id))
            writer.add_document(self._document(doc))

    def delete(self, paper_ids: Iterable[int]) -> None:
        writer = self._writer_open()
        for paper_id in paper_ids:
            writer.delete_documents_by_query(self._id_query(paper_id))

    def _id_query(self, paper_id: int) -> tantivy.Query:
        # A query, not delete_documents_by_term: that one misses unsigned fields.
        return tantivy.Query.term_query(self._schema, "id", paper_id)

    def commit(self) -> None:
        """Make the writes durable and visible, all at once (tantivy commits atomically)."""
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None
        self._index.reload()

    def _document(self, doc: LexicalDoc) -> tantivy.Document:
        document = tantivy.Document()
        document.add_unsigned("id", doc.paper_id)
        document.add_text("title", doc.title)
        document.add_text("abstract", doc.abstract)
        document.add_text("body", f"{doc.title}\n{doc.abstract}")
        for author in doc.authors:
            document.add_text("authors", author)
        # An archive ("cs") is indexed with each class, so cat:cs finds cs.LG.
        archives = sorted({c.split(".")[0] for c in doc.categories} - set(doc.categories))
        for category in [*doc.categories, *archives]:
            document.add_text("categories", category)
        if doc.announced is not None:
            document.add_integer("announced", _days(doc.announced))
        document.add_boolean("has_code", doc.has_code)
        return document

    # -- reading ------------------------------------------------------------

    def count(self) -> int:
        return self._index.searcher().num_docs

    def all_ids(self) -> list[int]:
        searcher = self._index.searcher()
        hits = searcher.search(tantivy.Query.all_query(), limit=max(1, searcher.num_docs)).hits
        return _paper_ids(searcher, hits)

    def search(
        self,
        query: LexicalQuery,
        where: LexicalFilter | None = None,
        *,
        limit: int = 10,
        newest_first: bool = False,
    ) -> tuple[list[int], list[float]]:
        """Paper ids and BM25 scores, best first (or newest announced first)."""
        built = self._build(query, where or LexicalFilter())
        if built is None:
            return [], []
        searcher = self._index.searcher()
        if newest_first:
            hits = searcher.search(built, limit=limit, count=False, order_by_field="announced").hits
            return _paper_ids(searcher, hits), [float(day) for day, _ in hits]
        hits = searcher.search(built, limit=limit, count=False).hits
        return _paper_ids(searcher, hits), [float(score) for score, _ in hits]

    def count_matches(self, query: LexicalQuery, where: LexicalFilter | None = None) -> int:
        """How many papers match (all the words, phrases and filters)."""
        built = self._build(query, where or LexicalFilter())
        if built is None:
            return 0
        found = self._index.searcher().search(built, limit=1, count=True)
        return int(found.count)  # pyright: ignore[reportAttributeAccessIssue]  # not in the stubs

    def stem(self, word: str) -> str:
        """A word as the index stores it: lower case, folded, stemmed."""
        return " ".join(self._stemmer.analyze(word))

    def fuzzy_search(
        self, query: LexicalQuery, where: LexicalFilter | None = None, *, limit: int = 10
    ) -> tuple[list[int], list[float]]:
        """Papers with free words within a few edits of the query's (typos), the most first.

        A stem may be one edit further than the word: "editng" stems to itself, but
        the papers' "editing" is stored as "edit".
        """
        words: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for word in free_terms(query.terms):
            for stem in self._stemmer.analyze(_clean_words(word)):
                edits = min(2, max_edits(stem) + 1) if max_edits(stem) else 0
                fuzzy = tantivy.Query.fuzzy_term_query(
                    self._schema, "body", stem, distance=edits, transposition_cost_one=True
                )
                words.append((tantivy.Occur.Should, fuzzy))
        if not words:
            return [], []
        must = [(tantivy.Occur.Must, tantivy.Query.boolean_query(words))]
        must += [(tantivy.Occur.Must, q) for q in self._filter_queries(where or LexicalFilter())]
        searcher = self._index.searcher()
        hits = searcher.search(tantivy.Query.boolean_query(must), limit=limit, count=False).hits
        return _paper_ids(searcher, hits), [float(score) for score, _ in hits]

    def texts(self, paper_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """Paper id -> (title, abstract) as indexed, for the ids the index holds."""
        if not paper_ids:
            return {}
        searcher = self._index.searcher()
        found = searcher.search(
            tantivy.Query.term_set_query(self._schema, "id", list(paper_ids)), limit=len(paper_ids)
        ).hits
        docs = [searcher.doc(address) for _, address in found]
        return {
            paper_id: (str(doc["title"][0]), str(doc["abstract"][0]))
            for paper_id, doc in zip(_paper_ids(searcher, found), docs, strict=True)
        }

    def highlight(
        self, query: LexicalQuery, paper_ids: Sequence[int], field: str, max_chars: int = 300
    ) -> dict[int, str]:
        """HTML snippets of a field with the query's words in <b>, escaped otherwise.

        One snippet generator serves the whole page of results.
        """
        # The snippet generator looks for the query's terms in `field` itself.
        built = self._text_query(query, [field])
        if built is None or not paper_ids:
            return {}
        searcher = self._index.searcher()
        generator = tantivy.SnippetGenerator.create(searcher, built, self._schema, field)
        generator.set_max_num_chars(max_chars)
        found = searcher.search(
            tantivy.Query.term_set_query(self._schema, "id", list(paper_ids)), limit=len(paper_ids)
        ).hits
        addresses = [address for _, address in found]
        return {
            paper_id: generator.snippet_from_doc(searcher.doc(address)).to_html()
            for paper_id, address in zip(_paper_ids(searcher, found), addresses, strict=True)
        }

    def _text_query(
        self, query: LexicalQuery, fields: Sequence[str] = _SEARCH_FIELDS
    ) -> tantivy.Query | None:
        # Lower case, so a typed AND, OR or NOT is a word and not an operator.
        words = _clean_words(" ".join(free_terms(query.terms))).lower()
        phrases = [f'"{p}"' for p in (_clean_words(p) for p in query.phrases) if p]
        text = " ".join([words, *phrases]).strip()
        if not text:
            return None
        parsed, _errors = self._index.parse_query_lenient(
            text, list(fields), field_boosts=FIELD_BOOSTS
        )
        return parsed

    def _build(self, query: LexicalQuery, where: LexicalFilter) -> tantivy.Query | None:
        must: list[tuple[tantivy.Occur, tantivy.Query]] = []
        text = self._text_query(query)
        if text is not None:
            must.append((tantivy.Occur.Must, text))
        for author in query.authors:
            name = _clean_words(author)
            if name:
                parsed, _ = self._index.parse_query_lenient(f'"{name}"', ["authors"])
                must.append((tantivy.Occur.Must, parsed))
        must += [(tantivy.Occur.Must, q) for q in self._filter_queries(where)]
        if not must:
            return None
        for word in query.excluded:
            cleaned = _clean_words(word)
            if cleaned:
                parsed, _ = self._index.parse_query_lenient(f'"{cleaned}"', ["body", "authors"])
                must.append((tantivy.Occur.MustNot, parsed))
        return tantivy.Query.boolean_query(must)

    def _filter_queries(self, where: LexicalFilter) -> list[tantivy.Query]:
        found: list[tantivy.Query] = []
        if where.categories:
            found.append(
                tantivy.Query.term_set_query(self._schema, "categories", list(where.categories))
            )
        if where.since or where.until:
            found.append(
                tantivy.Query.range_query(
                    self._schema,
                    "announced",
                    tantivy.FieldType.Integer,
                    _days(where.since) if where.since else None,
                    _days(where.until) if where.until else None,
                )
            )
        if where.has_code:
            found.append(tantivy.Query.term_query(self._schema, "has_code", True))
        return found
