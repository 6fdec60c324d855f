"""Plain BM25, the baseline search is measured against: one field, stop words, stemming.

Title and text are one field; English stop words (Lucene's list) are removed
and words stemmed (Porter) on both sides; BM25 with tantivy's (Lucene's)
defaults k1 = 1.2, b = 0.75; every query word is a term of one OR query.
This is the untuned BM25 of BEIR's tables, kept apart from the real index so
tuning the real one never moves the baseline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import tantivy

__all__ = ["PlainBM25"]


def _analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


class PlainBM25:
    """A throwaway index of (title, text) pairs, searched by position (0..n-1)."""

    def __init__(self, folder: Path, docs: Iterable[tuple[str, str]]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        builder = tantivy.SchemaBuilder()
        builder.add_unsigned_field("n", stored=True, fast=True)
        builder.add_text_field("body", tokenizer_name="plain")
        self._schema = builder.build()
        self._analyzer = _analyzer()
        self._index = tantivy.Index(self._schema, path=str(folder))
        self._index.register_tokenizer("plain", self._analyzer)
        writer = self._index.writer(heap_size=64_000_000, num_threads=1)
        for n, (title, text) in enumerate(docs):
            doc = tantivy.Document()
            doc.add_unsigned("n", n)
            doc.add_text("body", f"{title}\n{text}")
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        self._index.reload()

    def search(self, text: str, *, limit: int = 100) -> tuple[list[int], list[float]]:
        """Positions and BM25 scores, best first; each occurrence of a word is one term."""
        tokens: Sequence[str] = self._analyzer.analyze(text)
        if not tokens:
            return [], []
        query = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "body", t))
                for t in tokens
            ]
        )
        searcher = self._index.searcher()
        hits = searcher.search(query, limit=limit).hits
        positions = searcher.fast_field_values("n", [address for _, address in hits])
        return [int(n) for n in positions], [float(score) for score, _ in hits]  # pyright: ignore[reportArgumentType]
