"""Typos: edit distance as tantivy counts it, and the papers' own words as the correction."""

from __future__ import annotations

from pathlib import Path

from paperroute.index.lexical import LexicalIndex
from paperroute.search.spelling import corrected_text, edit_distance, suggest_words

TEXTS = [
    "Transformer attention for long sequences. Attention heads in transformers.",
    "Sparse attention makes the transformer fast.",
]


def test_edit_distance_counts_a_swap_as_one() -> None:
    assert edit_distance("trasnform", "transform") == 1
    assert edit_distance("atent", "attent") == 1
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("same", "same") == 0


def test_the_words_the_papers_use_replace_the_typos(tmp_path: Path) -> None:
    stem = LexicalIndex(tmp_path / "index").stem
    found = suggest_words(["trasnformer", "atention", "for"], TEXTS, stem)
    assert found == {"trasnformer": "transformer", "atention": "attention"}
    # Short words are not respelt (too many neighbours), nor words the texts have.
    assert suggest_words(["teh", "sparse"], TEXTS, stem) == {}
    assert suggest_words(["fsat"], TEXTS, stem) == {"fsat": "fast"}


def test_the_correction_keeps_everything_else_as_typed() -> None:
    text = 'Trasnformer atention cat:cs.LG "exact phrase" -atentions'
    fixed = corrected_text(text, {"Trasnformer": "transformer", "atention": "attention"})
    assert fixed == 'transformer attention cat:cs.LG "exact phrase" -atentions'
