"""The tantivy index: fields, stemming, filters, replacement, snippets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from paperroute.index.lexical import LexicalDoc, LexicalFilter, LexicalIndex, LexicalQuery

DOCS = [
    LexicalDoc(1, "Diffusion Models for Image Editing", "We edit images with diffusion.",
               ["Ada Lovelace"], ["cs.CV"], dt.date(2026, 3, 2), True),
    LexicalDoc(2, "Language Models Reason", "Large language models reason about mathematics.",
               ["Alan Turing", "Moreno D'Incà"], ["cs.CL", "cs.LG"], dt.date(2026, 3, 9), False),
    LexicalDoc(3, "Graph Networks", "Message passing on graphs; no images here.",
               ["Grace Hopper"], ["cs.LG"], dt.date(2025, 12, 1), False),
    LexicalDoc(4, "Imaging the Sky", "Radio images of galaxies.", ["Vera Rubin"], ["astro-ph.GA"], None, False),
]  # fmt: skip


def index(tmp_path: Path) -> LexicalIndex:
    lexical = LexicalIndex(tmp_path / "lexical")
    lexical.upsert(DOCS, fresh=True)
    lexical.commit()
    return lexical


def test_stemmed_words_rank_title_matches_first(tmp_path: Path) -> None:
    ids, scores = index(tmp_path).search(LexicalQuery(terms=["image", "editing"]))
    assert ids[0] == 1 and 3 in ids and scores == sorted(scores, reverse=True)


def test_phrases_authors_exclusions(tmp_path: Path) -> None:
    lexical = index(tmp_path)
    assert lexical.search(LexicalQuery(phrases=["language models reason"]))[0] == [2]
    assert (
        lexical.search(LexicalQuery(authors=["moreno dinca"]))[0] == []
    )  # apostrophe splits the name
    assert lexical.search(LexicalQuery(authors=["Inca"]))[0] == [2]  # accents folded
    assert lexical.search(LexicalQuery(authors=["Turing"]))[0] == [2]
    assert set(lexical.search(LexicalQuery(terms=["images"], excluded=["diffusion"]))[0]) == {3, 4}


def test_filters_categories_archives_dates_code(tmp_path: Path) -> None:
    lexical = index(tmp_path)
    anything = LexicalQuery(terms=["images", "models", "graphs", "galaxies"])
    assert set(lexical.search(anything, LexicalFilter(categories=["cs.LG"]))[0]) == {2, 3}
    assert set(lexical.search(anything, LexicalFilter(categories=["cs"]))[0]) == {1, 2, 3}
    assert set(lexical.search(anything, LexicalFilter(since=dt.date(2026, 3, 1)))[0]) == {1, 2}
    assert lexical.search(anything, LexicalFilter(until=dt.date(2026, 1, 1)))[0] == [3]
    assert lexical.search(anything, LexicalFilter(has_code=True))[0] == [1]
    assert set(lexical.search(LexicalQuery(), LexicalFilter(categories=["astro-ph"]))[0]) == {4}


def test_query_syntax_in_user_words_is_harmless(tmp_path: Path) -> None:
    lexical = index(tmp_path)
    for word in ["title:x", '"', "c++", "a(b", "*", "AND", "-", "\\", "^2", "[1 TO 2]"]:
        lexical.search(LexicalQuery(terms=[word], phrases=[word], excluded=[word], authors=[word]))


def test_upsert_replaces_and_delete_removes(tmp_path: Path) -> None:
    lexical = index(tmp_path)
    lexical.upsert([LexicalDoc(1, "Renamed Paper", "Nothing about that.", [], [], None, False)])
    lexical.delete([3])
    lexical.commit()
    assert lexical.count() == 3 and sorted(lexical.all_ids()) == [1, 2, 4]
    assert lexical.search(LexicalQuery(terms=["diffusion"]))[0] == []
    assert LexicalIndex(tmp_path / "lexical").search(LexicalQuery(terms=["renamed"]))[0] == [1]


def test_snippets_highlight_and_escape(tmp_path: Path) -> None:
    lexical = LexicalIndex(tmp_path / "x")
    lexical.upsert(
        [
            LexicalDoc(
                9, "<script>alert(1)</script> diffusion", "a <b> diffusion c", [], [], None, False
            )
        ]
    )
    lexical.commit()
    title = lexical.highlight(LexicalQuery(terms=["diffusion"]), [9], "title")[9]
    assert "<b>diffusion</b>" in title and "<script>" not in title and "&lt;script&gt;" in title
