"""Private feeds: a secret address per reader and list, read by a feed reader without a
session (parsed with feedparser), replaced or revoked by its owner."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import feedparser
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.index.sync import rebuild_index
from paperroute.store import collections as collection_store
from paperroute.store.interests import add_interests
from paperroute.store.papers import ids_for_refs, upsert_papers
from paperroute.store.subscribers import Preferences, add_subscriber, confirm_subscriber
from paperroute.store.users import add_user, get_user_by_email
from paperroute.store.votes import vote
from tests.support import WordHashEmbedder
from tests.web.conftest import NOW, Clock, Mailbox, Site, make_paper, seed_papers


def _elsewhere(site: Site) -> TestClient:
    """Another browser on the same site: no cookies. (Not entered: the site's lifespan
    already runs for the first client.)"""
    return TestClient(site.client.app, base_url="http://testserver")


def _make(site: Site, kind: str, collection: int | None = None) -> str:
    data = {"kind": kind, "csrf": site.csrf("/account/feeds")}
    if collection is not None:
        data["collection"] = str(collection)
    page = site.client.post("/account/feeds", data=data)
    assert page.status_code == 200, page.text
    found = re.search(r"(/feeds/private/[A-Za-z0-9_-]+)\.atom", page.text)
    assert found, page.text
    return found.group(1)


def _read(site: Site, path: str) -> feedparser.FeedParserDict:
    """The feed as a feed reader gets it: no cookies, no session."""
    response = _elsewhere(site).get(path)
    assert response.status_code == 200, response.text
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    return parsed


def _status(site: Site, path: str) -> int:
    return _elsewhere(site).get(path).status_code


def _reader_id(site: Site) -> int:
    with site.engine.connect() as conn:
        user = get_user_by_email(conn, "reader@example.org")
    assert user is not None
    return user.id


def test_a_private_collection_feed_reads_without_signing_in(site: Site) -> None:
    site.sign_in("reader@example.org")
    with site.engine.begin() as conn:
        shelf = collection_store.create_collection(conn, _reader_id(site), "Shelf", NOW)
        for paper_id in ids_for_refs(conn, ["2503.00001", "2503.00003"]).values():
            collection_store.add_paper(conn, shelf.id, paper_id, NOW)
    path = _make(site, "collection", shelf.id)
    for suffix in ("atom", "rss"):
        parsed = _read(site, f"{path}.{suffix}")
        assert parsed.feed.title == "paperroute: Shelf"
        assert {e.title for e in parsed.entries} == {"Paper number 1", "Paper number 3"}
    assert _status(site, f"/feeds/collections/{shelf.id}.rss") == 404  # still private


def test_for_you_and_following_feeds(site: Site) -> None:
    site.sign_in("reader@example.org")
    with site.engine.begin() as conn:
        add_interests(conn, _reader_id(site), NOW, categories=["cs.CL"])
    following = _read(site, _make(site, "following") + ".atom")
    assert [e.title for e in following.entries] == ["Paper number 3"]  # the cs.CL paper
    with site.engine.begin() as conn:  # a vote, so the reader model has a liked paper
        vote(conn, _reader_id(site), ids_for_refs(conn, ["2503.00001"])["2503.00001"], NOW)
    for_you = _read(site, _make(site, "for-you") + ".rss")
    assert for_you.feed.title == "paperroute: for you"
    assert for_you.entries and "Paper number 1" not in [e.title for e in for_you.entries]


def test_a_new_address_replaces_the_old_and_revoked_ones_are_404(site: Site) -> None:
    site.sign_in("reader@example.org")
    old = _make(site, "for-you")
    new = _make(site, "for-you")
    assert _status(site, f"{old}.atom") == 404 and _status(site, f"{new}.atom") == 200
    page = site.client.get("/account/feeds").text
    assert "last read" in page and "For you" in page
    feed_id = re.search(r"/account/feeds/(\d+)/revoke", page)
    assert feed_id
    revoked = site.client.post(
        f"/account/feeds/{feed_id.group(1)}/revoke", data={"csrf": site.csrf("/account/feeds")}
    )
    assert revoked.status_code == 200
    assert _status(site, f"{new}.atom") == 404
    assert _status(site, "/feeds/private/guessed-token.atom") == 404


def test_one_cannot_make_a_feed_of_someone_elses_collection(site: Site) -> None:
    with site.engine.begin() as conn:
        someone = add_user(conn, "someone@example.org", NOW)
        theirs = collection_store.create_collection(conn, someone.id, "Theirs", NOW)
    site.sign_in("reader@example.org")
    for collection in (str(theirs.id), "12345"):
        data = {"kind": "collection", "collection": collection, "csrf": site.csrf("/account/feeds")}
        assert site.client.post("/account/feeds", data=data).status_code == 404


def test_following_takes_in_the_digests_saved_searches(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        upsert_papers(conn, [*seed_papers(), make_paper(9, "2026-03-01", ["q-bio.NC"],
                                                          title="Sparse coding in the retina")],
                      NOW - dt.timedelta(days=1))  # fmt: skip
        reader = add_user(conn, "reader@example.org", NOW)
        subscriber = add_subscriber(conn, "reader@example.org", NOW, user_id=reader.id,
                                    preferences=Preferences(searches=("sparse coding retina",)))  # fmt: skip
        confirm_subscriber(conn, subscriber.id, NOW)
    settings = Settings(home=tmp_path, database_url=db_url, base_url="http://testserver")
    rebuild_index(engine, settings.index_root, WordHashEmbedder())
    app = create_app(settings, clock=Clock(), mailer=Mailbox(), embedder=WordHashEmbedder())
    with TestClient(app, base_url="http://testserver") as client:
        site = Site(client, Mailbox(), Clock(), engine)
        app.state.mailer = site.mailbox
        site.sign_in("reader@example.org")
        parsed = _read(site, _make(site, "following") + ".atom")
    assert "Sparse coding in the retina" in [e.title for e in parsed.entries]
