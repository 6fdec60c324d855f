"""Zotero from the site: a collection sent with the reader's key, a Zotero collection brought in."""

from __future__ import annotations

import html
import re

from fastapi import FastAPI

from paperroute.store import collections as collection_store
from paperroute.store.papers import ids_for_refs
from paperroute.store.users import get_user_by_email
from tests.test_zotero import KEY, FakeZotero, zotero
from tests.web.conftest import NOW, Site

__all__ = ["zotero"]  # the fixture


def _point_at(site: Site, url: str) -> None:
    app = site.client.app
    assert isinstance(app, FastAPI)
    app.state.settings = app.state.settings.model_copy(update={"zotero_url": url})


def _shelf(site: Site) -> int:
    site.sign_in("reader@example.org")
    with site.engine.begin() as conn:
        user = get_user_by_email(conn, "reader@example.org")
        assert user is not None
        shelf = collection_store.create_collection(conn, user.id, "Shelf", NOW)
        for paper_id in ids_for_refs(conn, ["2503.00001", "2503.00002"]).values():
            collection_store.add_paper(conn, shelf.id, paper_id, NOW)
    return shelf.id


def test_a_collection_goes_to_zotero_and_comes_back(
    site: Site, zotero: tuple[FakeZotero, str]
) -> None:
    fake, url = zotero
    _point_at(site, url)
    shelf = _shelf(site)
    page = site.client.get(f"/collections/{shelf}")
    assert f'action="/collections/{shelf}/zotero"' in page.text
    sent = site.client.post(f"/collections/{shelf}/zotero",
                            data={"key": KEY, "csrf": site.csrf(f"/collections/{shelf}")})  # fmt: skip
    assert sent.status_code == 200, sent.text
    assert '2 papers sent to your Zotero collection "Shelf"' in html.unescape(sent.text)
    assert len(fake.items) == 2
    back = site.client.post("/for-you/zotero", data={"key": KEY, "zotero_collection": "Shelf",
                                                     "csrf": site.csrf("/for-you")})  # fmt: skip
    assert back.status_code == 200 and "2 found here" in back.text
    assert KEY not in site.client.get("/for-you").text  # the key is not kept or shown


def test_a_wrong_key_or_someone_elses_collection_is_refused(
    site: Site, zotero: tuple[FakeZotero, str]
) -> None:
    _, url = zotero
    _point_at(site, url)
    shelf = _shelf(site)
    csrf = site.csrf(f"/collections/{shelf}")
    wrong = site.client.post(
        f"/collections/{shelf}/zotero", data={"key": "Wrong0123456789", "csrf": csrf}
    )
    assert wrong.status_code == 502 and "refused the key" in wrong.text
    junk = site.client.post(f"/collections/{shelf}/zotero", data={"key": "no key", "csrf": csrf})
    assert junk.status_code == 400 and "not a Zotero API key" in junk.text
    other = site.client.post("/collections/99999/zotero", data={"key": KEY, "csrf": csrf})
    assert other.status_code == 404
    assert re.search(r"Zotero", site.client.get("/for-you").text)
