"""`/for-you` and `/api/v1/recommendations`: from votes, saves and stated interests, with reasons."""

from __future__ import annotations

import re

import numpy as np

from paperroute.store import users as user_store
from paperroute.store.embeddings import save_embeddings
from paperroute.store.papers import get_papers_by_ids, ids_for_refs, upsert_papers
from paperroute.store.votes import dismiss, vote
from tests.rank.synthetic import CATEGORY, synthetic_corpus
from tests.web.conftest import NOW, Site

QUANTUM_BIBTEX = """@article{mine2025, title={Quantum circuit error correction for many qubits},
  author={Known, Nobody and Else, Someone}, year={2025}}"""


def _load(site: Site) -> dict[str, str]:
    """The synthetic corpus, its newest papers the newest of the site; topic by arXiv id."""
    papers = synthetic_corpus(cutoff=NOW.date())
    with site.engine.begin() as conn:
        upsert_papers(conn, papers, NOW)
    topic = {cat: name for name, cat in CATEGORY.items()}
    found = {p.arxiv_id or "": topic[p.categories[0]] for p in papers}
    return found | {f"2503.{n:05d}": "seed papers" for n in range(1, 5)}  # the site's own


def _shown(html: str) -> list[str]:
    return re.findall(r'<article class="paper" data-key="([^"]+)"', html)


def _newest_of(topics: dict[str, str], topic: str) -> list[str]:
    return sorted((k for k, t in topics.items() if t == topic), reverse=True)


def test_votes_make_recommendations_that_say_why(site: Site) -> None:
    topics = _load(site)
    site.sign_in("ada@example.org")
    page = site.client.get("/for-you")
    assert page.status_code == 200 and "Nothing to go on yet" in page.text
    liked = [k for k in _newest_of(topics, "graphs")][-2:]  # two older graph papers
    with site.engine.begin() as conn:
        ada = user_store.get_user_by_email(conn, "ada@example.org")
        assert ada is not None
        ids = ids_for_refs(conn, liked + _newest_of(topics, "speech")[:1])
        for ref in liked:
            vote(conn, ada.id, ids[ref], NOW)
        dismiss(conn, ada.id, ids[_newest_of(topics, "speech")[0]], NOW)
    page = site.client.get("/for-you").text
    shown = _shown(page)
    assert shown and topics[shown[0]] == "graphs" and not set(shown) & set(liked)
    assert "because you voted for “" in page and "words: " in page
    assert _newest_of(topics, "speech")[0] not in shown  # not interested: left out


def test_a_new_reader_starts_from_categories_papers_or_a_bibtex(site: Site) -> None:
    topics = _load(site)
    site.sign_in("bob@example.org")
    form = {"csrf": site.csrf("/for-you"), "categories": "cs.SD not_a_category!",
            "papers": "2501.99999 https://arxiv.org/abs/" + _newest_of(topics, "robots")[-1],
            "bibtex": QUANTUM_BIBTEX}  # fmt: skip
    done = site.client.post("/for-you/interests", data=form)
    assert done.status_code == 200 and "Added 3 interests" in done.text
    assert "Not on this site yet: 2501.99999" in done.text and "not_a_category!" in done.text
    shown = _shown(done.text)
    assert {topics[k] for k in shown[:6]} <= {"speech", "robots", "quantum"}
    assert {"speech", "robots", "quantum"} <= {topics[k] for k in shown}
    assert "close to your paper “Quantum circuit error correction" in done.text
    remove = re.search(r'action="(/for-you/interests/\d+/remove)"', done.text)
    assert remove is not None
    site.client.post(remove.group(1), data={"csrf": site.csrf("/for-you")})
    assert site.client.get("/for-you").text.count("/remove") == 2


def test_a_reader_who_only_follows_a_category_gets_its_papers(site: Site) -> None:
    """No liked paper at all: the model has nothing but the category (this was a 500)."""
    topics = _load(site)
    site.sign_in("carol@example.org")
    form = {"csrf": site.csrf("/for-you"), "categories": "cs.SD"}
    done = site.client.post("/for-you/interests", data=form)
    assert done.status_code == 200 and "Added 1 interest" in done.text
    shown = _shown(done.text)
    assert shown and {topics[k] for k in shown[:5]} == {"speech"}


def test_the_api_gives_the_same_list_to_the_token_user(site: Site) -> None:
    topics = _load(site)
    with site.engine.begin() as conn:
        carol = user_store.add_user(conn, "carol@example.org", NOW)
        token = user_store.create_api_token(conn, carol.id, "t", NOW)
        ids = ids_for_refs(conn, _newest_of(topics, "music")[-2:])
        for paper_id in ids.values():
            vote(conn, carol.id, paper_id, NOW)
    headers = {"authorization": f"Bearer {token}"}
    found = site.client.get("/api/v1/recommendations", params={"limit": 5}, headers=headers)
    assert found.status_code == 200
    papers = found.json()["papers"]
    assert 2 <= len(papers) <= 5 and {topics[p["paper"]["id"]] for p in papers} == {"music"}
    assert papers[0]["reason"].startswith("because you voted for") and papers[0]["score"] > 0
    assert site.client.get("/api/v1/recommendations").status_code == 401
    site.client.cookies.clear()
    assert site.client.get("/for-you", follow_redirects=False).status_code in (302, 303)


def test_the_stored_embeddings_bring_papers_close_in_meaning(site: Site) -> None:
    topics = _load(site)
    liked, twin = _newest_of(topics, "graphs")[-1], _newest_of(topics, "speech")[0]
    rng = np.random.default_rng(0)
    with site.engine.begin() as conn:
        ids = ids_for_refs(conn, list(topics))
        vectors = rng.standard_normal((len(ids), 32)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        by_ref = dict(zip(ids, vectors, strict=True))
        by_ref[twin] = by_ref[liked]  # the speech paper says what the liked graph paper says
        cache = site.client.app.state.candidates  # type: ignore[attr-defined]
        stored = [(ids[r], "hash", by_ref[r]) for r in ids if r != twin]
        save_embeddings(conn, cache.model, stored)  # the twin's comes later: see below
        dana = user_store.add_user(conn, "dana@example.org", NOW)
        vote(conn, dana.id, ids[liked], NOW)
        title = get_papers_by_ids(conn, [ids[liked]])[ids[liked]].title
    site.sign_in("dana@example.org")
    assert twin not in _shown(site.client.get("/for-you").text)  # no vector, no shared word
    with site.engine.begin() as conn:  # the index stores the twin's vector after the visit
        save_embeddings(conn, cache.model, [(ids[twin], "hash", by_ref[twin])])
    cache.recheck_vectors = 0.0
    page = site.client.get("/for-you").text
    entry = page[page.index(f'data-key="{twin}"') :]
    assert twin in _shown(page) and f"because you voted for “{title}”" in entry[:4000]
