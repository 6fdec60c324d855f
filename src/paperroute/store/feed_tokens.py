"""Private feed addresses: a secret token per reader and list, kept only as its hash."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Row, delete, insert, select, update

from paperroute.store.schema import as_utc, feed_tokens
from paperroute.store.users import hash_token

__all__ = [
    "FeedKind",
    "PrivateFeed",
    "create_feed_token",
    "feed_for_token",
    "list_feed_tokens",
    "revoke_feed_token",
]

FeedKind = Literal["for-you", "following", "collection"]
_TOUCH_EVERY = dt.timedelta(hours=1)  # feed readers poll often: one write an hour at most


@dataclass(frozen=True, slots=True)
class PrivateFeed:
    id: int
    user_id: int
    kind: FeedKind
    collection_id: int | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None


def _feed(row: Row[Any]) -> PrivateFeed:
    last = as_utc(row.last_used_at) if row.last_used_at else None
    return PrivateFeed(
        row.id, row.user_id, row.kind, row.collection_id, as_utc(row.created_at), last
    )


def create_feed_token(
    conn: Connection,
    user_id: int,
    kind: FeedKind,
    now: dt.datetime,
    collection_id: int | None = None,
) -> str:
    """A new address for the list (the list's older address stops working)."""
    conn.execute(
        delete(feed_tokens).where(
            feed_tokens.c.user_id == user_id, feed_tokens.c.kind == kind,
            feed_tokens.c.collection_id.is_(None) if collection_id is None
            else feed_tokens.c.collection_id == collection_id,
        )
    )  # fmt: skip
    token = secrets.token_urlsafe(24)
    conn.execute(
        insert(feed_tokens).values(
            token_hash=hash_token(token), user_id=user_id, kind=kind,
            collection_id=collection_id, created_at=now,
        )
    )  # fmt: skip
    return token


def feed_for_token(conn: Connection, token: str, now: dt.datetime) -> PrivateFeed | None:
    """The feed a token opens, noting its use; None for an unknown or revoked token."""
    if not token or len(token) > 64:
        return None
    row = conn.execute(
        select(feed_tokens).where(feed_tokens.c.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    feed = _feed(row)
    if feed.last_used_at is None or now - feed.last_used_at >= _TOUCH_EVERY:
        conn.execute(
            update(feed_tokens).where(feed_tokens.c.id == feed.id).values(last_used_at=now)
        )
    return feed


def list_feed_tokens(conn: Connection, user_id: int) -> list[PrivateFeed]:
    rows = conn.execute(
        select(feed_tokens).where(feed_tokens.c.user_id == user_id).order_by(feed_tokens.c.id)
    )
    return [_feed(row) for row in rows]


def revoke_feed_token(conn: Connection, user_id: int, feed_id: int) -> bool:
    """Delete one of the reader's feed addresses; False if it is not theirs."""
    gone = conn.execute(
        delete(feed_tokens).where(feed_tokens.c.id == feed_id, feed_tokens.c.user_id == user_id)
    )
    return gone.rowcount == 1
