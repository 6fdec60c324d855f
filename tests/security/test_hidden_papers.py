"""A hidden paper cannot be voted for or collected, on the site or the API, and a public
collection's BibTeX leaves it out as its page does."""

from __future__ import annotations

import re

from paperroute.store import api_tokens as token_store
from paperroute.store import collections as collection_store
from paperroute.store import papers as paper_store
from paperroute.store import users as user_store
from paperroute.store import votes as vote_store
from tests.security.conftest import Site

HIDDEN, SHOWN = "2503.00003", "2503.00001"


def _hide(site: Site, ref: str) -> int:
    with site.engine.begin() as conn:
        paper_id = paper_store.ids_for_refs(conn, [ref])[ref]
        paper_store.set_hidden(conn, paper_id, site.clock())
    return paper_id


def _post(site: Site, path: str, **data: str) -> int:
    form = {"csrf": site.csrf("/collections"), **data}
    return site.client.post(path, data=form, follow_redirects=False).status_code


def _public_collection(site: Site) -> int:
    assert _post(site, "/collections", name="Public list", public="true") == 303
    found = re.search(r'href="/collections/(\d+)"', site.client.get("/collections").text)
    assert found
    return int(found.group(1))


def _collected(site: Site, collection_id: int) -> list[int]:
    with site.engine.connect() as conn:
        return collection_store.paper_ids_in(conn, collection_id)


def test_neither_the_site_nor_the_api_puts_a_hidden_paper_in_a_collection(site: Site) -> None:
    hidden_id = _hide(site, HIDDEN)
    site.sign_in("a@example.org")
    collection = _public_collection(site)
    assert _post(site, f"/collections/{collection}/papers", paper=HIDDEN) == 404
    assert _post(site, f"/collections/{collection}/papers", paper=SHOWN) == 303
    # Nor a new collection made from its page.
    assert _post(site, "/collections", name="Another", paper=HIDDEN) == 404
    assert "Another" not in site.client.get("/collections").text
    with site.engine.begin() as conn:
        user = user_store.get_user_by_email(conn, "a@example.org")
        assert user is not None
        token = token_store.create_api_token(conn, user.id, "t", site.clock())
    auth = {"authorization": f"Bearer {token}"}
    added = site.client.put(f"/api/v1/collections/{collection}/papers/{HIDDEN}", headers=auth)
    assert added.status_code == 404
    assert "error" in added.json()
    assert site.client.post(f"/api/v1/papers/{HIDDEN}/vote", headers=auth).status_code == 404
    assert hidden_id not in _collected(site, collection)


def test_a_paper_hidden_later_leaves_the_public_bibtex(site: Site) -> None:
    site.sign_in("a@example.org")
    collection = _public_collection(site)
    for ref in (HIDDEN, SHOWN):
        assert _post(site, f"/collections/{collection}/papers", paper=ref) == 303
    _hide(site, HIDDEN)
    site.client.cookies.clear()  # an anonymous visitor
    for path in (f"/collections/{collection}/bibtex", f"/collections/{collection}"):
        text = site.client.get(path).text
        assert "Paper number 1" in text
        assert "Paper number 3" not in text and HIDDEN not in text, path


def test_the_vote_form_refuses_a_hidden_paper(site: Site) -> None:
    site.sign_in("a@example.org", admin=True)  # not even an admin, who still sees its page
    assert _post(site, f"/papers/{HIDDEN}/vote") == 303
    hidden_id = _hide(site, HIDDEN)
    assert _post(site, f"/papers/{HIDDEN}/vote") == 404
    assert _post(site, f"/papers/{HIDDEN}/dismiss") == 404
    # A vote made before it was hidden can still be taken back.
    assert _post(site, f"/papers/{HIDDEN}/vote", undo="true") == 303
    with site.engine.connect() as conn:
        assert vote_store.count_votes(conn, [hidden_id]).get(hidden_id, 0) == 0
        user = user_store.get_user_by_email(conn, "a@example.org")
        assert user is not None
        assert not vote_store.dismissed_ids(conn, user.id, [hidden_id])
