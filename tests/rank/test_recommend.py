"""The reader model: what it ranks first, and why it says so."""

from __future__ import annotations

import numpy as np
import pytest

from paperroute.domain import Paper
from paperroute.ingest.normalize import build_paper
from paperroute.rank.for_you import Profile, recommend_from
from paperroute.rank.recommend import Corpus, Reader, explain, fit_reader, score_reader
from tests.rank.synthetic import CATEGORY, synthetic_corpus


def _rows_of(papers: list[Paper], topic: str) -> list[int]:
    return [n for n, p in enumerate(papers) if p.categories == (CATEGORY[topic],)]


def test_a_reader_gets_their_topic_first_with_the_reason() -> None:
    papers = synthetic_corpus()
    corpus = Corpus(papers)
    graphs = _rows_of(papers, "graphs")
    reader = Reader(corpus.rows.take(graphs[:3]), liked_rows=np.array(graphs[:3]))
    scores = score_reader(corpus, reader, corpus.rows)
    assert set(np.argsort(-scores)[:15].tolist()) == set(graphs)
    [best] = explain(corpus, reader, corpus.rows.take(graphs[3:]), limit=1)
    assert best.closest in (0, 1, 2) and best.closeness > 0.2
    assert set(best.terms) & {"graph", "neural", "node", "message", "passing", "embedding"}


def test_the_model_is_seeded_and_never_takes_a_liked_paper_as_a_negative() -> None:
    papers = synthetic_corpus()
    corpus = Corpus(papers, background=np.arange(len(papers)))
    graphs = _rows_of(papers, "graphs")
    reader = Reader(corpus.rows.take(graphs[:3]), liked_rows=np.array(graphs[:3]), seed=4)
    first, again = fit_reader(corpus, reader), fit_reader(corpus, reader)
    assert first is not None and again is not None
    np.testing.assert_array_equal(first.text, again.text)
    from paperroute.rank.recommend import _negatives  # pyright: ignore[reportPrivateUsage]

    assert not set(_negatives(corpus, reader).tolist()) & set(graphs[:3])


def test_not_interested_pushes_similar_papers_down() -> None:
    papers = synthetic_corpus()
    corpus = Corpus(papers)
    graphs, speech = _rows_of(papers, "graphs"), _rows_of(papers, "speech")
    liked = corpus.rows.take(graphs[:2] + speech[:2])
    both = score_reader(corpus, Reader(liked), corpus.rows)
    no_speech = score_reader(corpus, Reader(liked, corpus.rows.take(speech[2:4])), corpus.rows)
    assert no_speech[speech[5]] < both[speech[5]]
    assert no_speech[graphs[5]] - no_speech[speech[5]] > both[graphs[5]] - both[speech[5]]


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
    one = score_reader(corpus, Reader(corpus.rows.take([0])), corpus.rows)
    assert one[0] > one[1]


def test_a_followed_category_shapes_the_list_unless_likes_say_otherwise() -> None:
    papers = synthetic_corpus()
    corpus = Corpus(papers)
    robots, graphs = _rows_of(papers, "robots"), _rows_of(papers, "graphs")
    follower = Reader(corpus.rows.take([]), topics=("cs.RO",))
    top = np.argsort(-score_reader(corpus, follower, corpus.rows))[:10]
    assert set(top.tolist()) <= set(robots)
    both = Reader(corpus.rows.take(graphs[:4]), topics=("cs.RO",))
    top = set(np.argsort(-score_reader(corpus, both, corpus.rows))[:20].tolist())
    assert top & set(robots) and top & set(graphs)


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
    words_only = score_reader(plain, Reader(plain.rows.take(graphs[:1])), plain.rows)
    reader = Reader(meaning.rows.take(graphs[:1]))
    both = score_reader(meaning, reader, meaning.rows)
    others = [s for s in speech if s != twin]
    assert words_only[twin] <= words_only[others].max() + 1e-6
    assert both[twin] - both[others].max() > 0.1
    [found] = explain(meaning, reader, meaning.rows.take([twin]))
    assert found.closest == 0 and found.closeness > 0.9  # its reason names the liked paper
    with pytest.raises(ValueError, match="3 vectors for 180 papers"):
        Corpus(papers, vectors[:3])


def test_reasons_never_name_an_author() -> None:
    papers = synthetic_corpus()
    corpus = Corpus(papers)
    graphs = _rows_of(papers, "graphs")
    liked = [(papers[r], "saved") for r in graphs[:3]]
    profile = Profile(liked, [], ("cs.LG",), set())
    found = recommend_from(corpus, list(range(len(papers))), papers, profile, 10)
    names = {a for p in papers for a in p.authors}
    assert found and all(not any(n in f.reason for n in names) for f in found)
    assert any("which you follow" in f.reason for f in found)
