"""Private feeds: a secret address per reader for their for-you list, what they follow,
and each of their collections, for any feed reader (Zotero's feeds included).

Whoever has the address reads the feed, so it is made on request, shown once,
and can be replaced or revoked; a revoked address answers 404 like an unknown one.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response

from paperroute.domain import Paper
from paperroute.index.sync import IndexMissing
from paperroute.search.live import LiveSearch
from paperroute.store import collections as collection_store
from paperroute.store import feed_tokens as feed_store
from paperroute.store import papers as paper_store
from paperroute.store.interests import list_interests
from paperroute.store.subscribers import get_subscriber_by_email
from paperroute.store.users import get_user
from paperroute.web.account import own_collection
from paperroute.web.deps import Conn, CsrfChecked, Now, Search, SignedIn, render, settings_of
from paperroute.web.feeds import (
    CATEGORY_LIMIT,
    COLLECTION_LIMIT,
    FeedItem,
    FeedSpec,
    feed_response,
    split_feed_name,
)
from paperroute.web.for_you import recommendations_for

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
FOR_YOU_LIMIT = 50
FOLLOWED_CATEGORIES = 10  # a feed of what one follows, not of the whole site
FOLLOWED_SEARCHES = 5
SEARCH_LIMIT = 20


def _following(conn: Conn, search: LiveSearch, user_id: int, email: str) -> list[FeedItem]:
    """The newest papers of the reader's followed categories (for-you and digest) and the
    best matches of their digest's saved searches, newest first."""
    categories = list(list_interests(conn, user_id).categories.values())
    searches: list[str] = []
    subscriber = get_subscriber_by_email(conn, email)
    if subscriber is not None and subscriber.active:
        categories += subscriber.preferences.categories
        searches = list(subscriber.preferences.searches)
    items: dict[str, FeedItem] = {}
    for text in searches[:FOLLOWED_SEARCHES]:
        for paper in _searched(search, text):
            items.setdefault(paper.key or "", FeedItem(paper))
    for category in list(dict.fromkeys(categories))[:FOLLOWED_CATEGORIES]:
        page = paper_store.list_papers(conn, category=category, limit=CATEGORY_LIMIT)
        for paper, added in zip(page.papers, page.added, strict=True):
            items.setdefault(paper.key or "", FeedItem(paper, added))
    newest = sorted(items.values(), key=lambda i: i.paper.announced or dt.date.min, reverse=True)
    return newest[:CATEGORY_LIMIT]


def _searched(search: LiveSearch, text: str) -> list[Paper]:
    try:
        result = search.service().search(text, limit=SEARCH_LIMIT)
    except IndexMissing:
        return []  # until the index is built, the categories still give a feed
    return [hit.paper for hit in result.hits]


@router.get("/feeds/private/{name}", response_class=Response)
def private_feed(request: Request, conn: Conn, now: Now, search: Search, name: str) -> Response:
    token, fmt = split_feed_name(name)
    feed = feed_store.feed_for_token(conn, token, now)
    conn.commit()
    owner = get_user(conn, feed.user_id) if feed else None
    if feed is None or owner is None:
        raise HTTPException(404, "No such feed: its address was replaced or revoked.")
    if feed.kind == "for-you":
        found = recommendations_for(request, conn, owner.id, FOR_YOU_LIMIT)
        items = [FeedItem(f.paper) for f in found]
        spec = FeedSpec("paperroute: for you", "Papers picked for you.", "/for-you")
    elif feed.kind == "following":
        items = _following(conn, search, owner.id, owner.email)
        spec = FeedSpec("paperroute: what you follow", "New papers in what you follow.", "/for-you")
    else:
        collection = collection_store.get_collection(conn, feed.collection_id or 0)
        if collection is None or collection.user_id != owner.id:
            raise HTTPException(404, "No such feed: its address was replaced or revoked.")
        shown = collection_store.shown_papers_in(conn, collection.id, COLLECTION_LIMIT)
        items = [FeedItem(paper) for paper in shown]
        spec = FeedSpec(f"paperroute: {collection.name}", f"The collection {collection.name}.",
                        f"/collections/{collection.id}")  # fmt: skip
    return feed_response(request, fmt, spec, items, now)


def _page(
    request: Request, conn: Conn, user: SignedIn, new: dict[str, str] | None = None
) -> Response:
    collections = collection_store.list_collections(conn, user.id)
    context = {
        "feeds": feed_store.list_feed_tokens(conn, user.id),
        "collections": {c.id: c for c in collections},
        "new": new,
        "site": settings_of(request).mail_base_url or str(request.base_url).rstrip("/"),
    }
    return render(request, conn, "private_feeds.html", context)


@router.get("/account/feeds")
def feeds_page(request: Request, conn: Conn, user: SignedIn) -> Response:
    return _page(request, conn, user)


@router.post("/account/feeds", dependencies=[CsrfChecked])
def create_feed(
    request: Request,
    conn: Conn,
    user: SignedIn,
    now: Now,
    kind: Annotated[feed_store.FeedKind, Form()],
    collection: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """A new address for one list, shown on the page once (its older address stops)."""
    if kind == "collection":
        own_collection(conn, user, collection or 0)
    token = feed_store.create_feed_token(
        conn, user.id, kind, now, collection if kind == "collection" else None
    )
    conn.commit()
    return _page(request, conn, user, new={"kind": kind, "token": token})


@router.post("/account/feeds/{feed_id}/revoke", dependencies=[CsrfChecked])
def revoke_feed(
    conn: Conn, user: SignedIn, feed_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    if not feed_store.revoke_feed_token(conn, user.id, feed_id):
        raise HTTPException(404, "There is no such feed address of yours.")
    conn.commit()
    return RedirectResponse("/account/feeds", status_code=303)
