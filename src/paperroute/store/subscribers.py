"""Digest subscribers: double opt-in, preferences, unsubscribe, and where each one's papers start."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Row, func, select, update

from paperroute.store.inserts import insert_or_ignore
from paperroute.store.schema import as_utc, subscribers

__all__ = [
    "Preferences",
    "Subscriber",
    "active_subscribers",
    "add_subscriber",
    "confirm_subscriber",
    "count_subscribers",
    "get_subscriber",
    "get_subscriber_by_email",
    "set_papers_after",
    "unsubscribe",
    "update_preferences",
]

FIRST_DIGEST_LOOKBACK = dt.timedelta(days=1)  # a first digest shows the last day's papers


@dataclass(frozen=True, slots=True)
class Preferences:
    frequency: str = "daily"  # daily (on announcement days) or weekly
    weekday: int = 0  # for weekly digests; 0 is Monday
    send_hour: int = 7  # local hour
    timezone: str = "UTC"  # IANA name
    categories: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    include_trending: bool = True
    include_recommendations: bool = True
    max_papers: int = 20


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    email: str
    created_at: dt.datetime
    preferences: Preferences = field(default_factory=Preferences)
    user_id: int | None = None
    confirmed_at: dt.datetime | None = None
    unsubscribed_at: dt.datetime | None = None
    papers_after: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


def _when(value: dt.datetime | None) -> dt.datetime | None:
    return as_utc(value) if value is not None else None


def _subscriber(row: Row[Any]) -> Subscriber:
    preferences = Preferences(
        frequency=row.frequency, weekday=row.weekday, send_hour=row.send_hour,
        timezone=row.timezone, categories=tuple(orjson.loads(row.categories)),
        searches=tuple(orjson.loads(row.searches)), include_trending=bool(row.include_trending),
        include_recommendations=bool(row.include_recommendations), max_papers=row.max_papers,
    )  # fmt: skip
    return Subscriber(
        row.id, row.email, as_utc(row.created_at), preferences, row.user_id,
        _when(row.confirmed_at), _when(row.unsubscribed_at), _when(row.papers_after),
    )  # fmt: skip


def _preference_values(preferences: Preferences) -> dict[str, Any]:
    return {
        "frequency": preferences.frequency, "weekday": preferences.weekday,
        "send_hour": preferences.send_hour, "timezone": preferences.timezone,
        "categories": orjson.dumps(list(preferences.categories)).decode(),
        "searches": orjson.dumps(list(preferences.searches)).decode(),
        "include_trending": preferences.include_trending,
        "include_recommendations": preferences.include_recommendations,
        "max_papers": preferences.max_papers,
    }  # fmt: skip


def get_subscriber(conn: Connection, subscriber_id: int) -> Subscriber | None:
    row = conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).first()
    return _subscriber(row) if row else None


def get_subscriber_by_email(conn: Connection, email: str) -> Subscriber | None:
    row = conn.execute(select(subscribers).where(subscribers.c.email == email.lower())).first()
    return _subscriber(row) if row else None


def add_subscriber(
    conn: Connection,
    email: str,
    now: dt.datetime,
    *,
    preferences: Preferences | None = None,
    user_id: int | None = None,
) -> Subscriber:
    """The subscriber for this address, created unconfirmed if new.

    Someone who unsubscribed and subscribes again must confirm again: a
    stranger typing their address must not restart their mail.
    """
    email = email.lower()
    values = _preference_values(preferences or Preferences())
    row = {"email": email, "created_at": now, "user_id": user_id, **values}
    if not insert_or_ignore(conn, subscribers, row):
        existing = get_subscriber_by_email(conn, email)
        assert existing is not None
        if existing.unsubscribed_at is not None:
            conn.execute(
                update(subscribers)
                .where(subscribers.c.id == existing.id)
                .values(confirmed_at=None, unsubscribed_at=None, **values)
            )
    found = get_subscriber_by_email(conn, email)
    assert found is not None
    return found


def confirm_subscriber(conn: Connection, subscriber_id: int, now: dt.datetime) -> bool:
    """Confirm the address (the opt-in link was clicked); False if it already was."""
    done = conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id, subscribers.c.confirmed_at.is_(None))
        .values(confirmed_at=now, papers_after=now - FIRST_DIGEST_LOOKBACK)
    )
    return done.rowcount == 1


def unsubscribe(conn: Connection, subscriber_id: int, now: dt.datetime) -> bool:
    """Stop every digest at once; False if the subscriber had already left."""
    done = conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id, subscribers.c.unsubscribed_at.is_(None))
        .values(unsubscribed_at=now)
    )
    return done.rowcount == 1


def update_preferences(conn: Connection, subscriber_id: int, preferences: Preferences) -> None:
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id)
        .values(**_preference_values(preferences))
    )


def set_papers_after(conn: Connection, subscriber_id: int, moment: dt.datetime) -> None:
    """Papers stored after `moment` are new to this subscriber's next digest."""
    conn.execute(
        update(subscribers).where(subscribers.c.id == subscriber_id).values(papers_after=moment)
    )


def active_subscribers(conn: Connection, ids: Sequence[int] | None = None) -> list[Subscriber]:
    """Confirmed subscribers who have not left (all of them, or those among `ids`)."""
    query = select(subscribers).where(
        subscribers.c.confirmed_at.is_not(None), subscribers.c.unsubscribed_at.is_(None)
    )
    if ids is not None:
        query = query.where(subscribers.c.id.in_(ids))
    return [_subscriber(r) for r in conn.execute(query.order_by(subscribers.c.id))]


def count_subscribers(conn: Connection) -> dict[str, int]:
    """How many are pending confirmation, active and unsubscribed."""
    total = conn.execute(select(func.count()).select_from(subscribers)).scalar_one()
    left = conn.execute(
        select(func.count()).where(subscribers.c.unsubscribed_at.is_not(None))
    ).scalar_one()
    active = conn.execute(
        select(func.count()).where(
            subscribers.c.confirmed_at.is_not(None), subscribers.c.unsubscribed_at.is_(None)
        )
    ).scalar_one()
    return {"pending": total - left - active, "active": active, "unsubscribed": left}
