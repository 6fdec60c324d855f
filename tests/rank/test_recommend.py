"""The reader model: what it ranks first, and why it says so."""

from __future__ import annotations

import numpy as np
import pytest

from paperroute.domain import Paper
from paperroute.ingest.normalize import build_paper
from paperroute.rank.recommend import WEIGHTS, Corpus, Reader, explain, score_reader
from tests.rank.synthetic import CATEGORY, synthetic_corpus


def _rows_of(papers: list[Paper], topic: str) -> list[int]:
    return [n for n, p in enumerate(papers) if p.categories == (CATEGORY[topic],)]


def test_a_reader_gets_their_topic_first_with_the_reason() -> None:
    papers = synthetic_corpus()
    corpus = Corpus(papers)
    graphs = _rows_of(papers, "graphs")
    reader = Reader(corpus.rows.take(graphs[:3]))
    scores = score_reader(corpus, reader, corpus.rows)
    top = set(np.argsort(-scores)[:15].tolist())
    assert top == set(graphs)
    [best] = explain(corpus, reader, corpus.rows.take(graphs[3:]), limit=1)
    assert best.closest in (0, 1, 2) and best.closeness > 0.2
    assert set(best.terms) & {"graph", "neural", "node", "message", "passing", "embedding"}
    assert best.authors  # the papers' first author is one the reader liked


def test_not_interested_pushes_similar_papers_down() -> None:
    papers = synthetic_corpus()
    corpus = Corpus(papers)
    graphs, speech = _rows_of(papers, "graphs"), _rows_of(papers, "speech")
    liked = corpus.rows.take(graphs[:2] + speech[:2])
    both = score_reader(corpus, Reader(liked), corpus.rows)
    no_speech = score_reader(corpus, Reader(liked, corpus.rows.take(speech[2:4])), corpus.rows)
    assert no_speech[speech[5]] < both[speech[5]] and no_speech[graphs[5]] == both[graphs[5]]


def test_papers_from_outside_the_corpus_such_as_a_pasted_bibtex_make_a_reader() -> None:
    papers = synthetic_corpus()
    corpus = Corpus(papers)
    mine = build_paper(source="bibtex", title="Quantum error correction with fewer qubits",
                       abstract="", authors=["Nobody Known"], categories=[])  # fmt: skip
    scores = score_reader(corpus, Reader(corpus.describe([mine])), corpus.rows)
    quantum = set(_rows_of(papers, "quantum"))
    assert set(np.argsort(-scores)[:10].tolist()) <= quantum


def test_a_reader_who_liked_nothing_gets_zeros_and_a_tiny_corpus_still_works() -> None:
    papers = synthetic_corpus()[:2]
    corpus = Corpus(papers)
    empty = Reader(corpus.rows.take([]))
    assert score_reader(corpus, empty, corpus.rows).tolist() == [0.0, 0.0]


def _unit_vectors(count: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_embeddings_lift_papers_close_in_meaning_even_without_shared_words() -> None:
    papers = synthetic_corpus()
    graphs, speech = _rows_of(papers, "graphs"), _rows_of(papers, "speech")
    vectors = _unit_vectors(len(papers))
    twin = speech[0]  # in other words, it says what the liked graph paper says
    vectors[twin] = vectors[graphs[0]]
    plain, meaning = Corpus(papers), Corpus(papers, vectors)
    reader = Reader(meaning.rows.take(graphs[:1]))
    words_only = score_reader(plain, Reader(plain.rows.take(graphs[:1])), plain.rows)
    both = score_reader(meaning, reader, meaning.rows)
    assert words_only[twin] == 0.0 and both[twin] > both[speech[1:]].max()
    lift = both - words_only  # the meaning part: its weight times the cosine to the liked paper
    assert lift[twin] == pytest.approx(WEIGHTS["meaning"], abs=1e-5)
    assert np.abs(np.delete(lift, [twin, graphs[0]])).max() < 0.5 * WEIGHTS["meaning"]
    [found] = explain(meaning, reader, meaning.rows.take([twin]))
    assert found.closest == 0 and found.closeness > 0.9  # its reason names the liked paper


def test_liked_papers_without_a_vector_count_through_their_words_only() -> None:
    papers = synthetic_corpus()
    graphs = _rows_of(papers, "graphs")
    vectors = _unit_vectors(len(papers))
    corpus = Corpus(papers, vectors)
    liked = corpus.rows.take(graphs[:2])
    assert liked.vectors is not None
    liked.vectors[1] = 0.0  # e.g. a pasted BibTeX entry: no stored embedding
    alone = score_reader(corpus, Reader(corpus.rows.take(graphs[:1])), corpus.rows)
    with_unknown = score_reader(corpus, Reader(liked), corpus.rows)
    plain = Corpus(papers)
    words = score_reader(plain, Reader(plain.rows.take(graphs[:2])), plain.rows)
    plain_alone = score_reader(plain, Reader(plain.rows.take(graphs[:1])), plain.rows)
    # The meaning part is the first paper's alone; the words part is both papers'.
    np.testing.assert_allclose(with_unknown - words, alone - plain_alone, atol=1e-5)
    with pytest.raises(ValueError, match="3 vectors for 180 papers"):
        Corpus(papers, vectors[:3])
