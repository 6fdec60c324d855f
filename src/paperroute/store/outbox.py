"""The digest outbox: a row per (subscriber, period) before anything is sent, claimed to send.

States: pending -> sending (claimed until a moment) -> sent | failed |
unsubscribed (the reader left after it was queued); skipped for an empty
digest, never sent; pending
again, later, after a temporary failure. A claim that outlives its sender
(the process died) expires and the row is taken again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Row, and_, func, or_, select, update

from paperroute.store.inserts import insert_or_ignore
from paperroute.store.schema import as_utc, digest_outbox, subscribers

__all__ = [
    "OutboxRow",
    "claim_next",
    "enqueue_digest",
    "get_outbox_row",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "mark_unsubscribed",
    "outbox_stats",
    "periods_done",
]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    subscriber_id: int
    period: str
    status: str
    attempts: int
    message_id: str | None
    message: bytes | None
    paper_ids: tuple[int, ...]
    sent_at: dt.datetime | None
    error: str | None


def _row(row: Row[Any]) -> OutboxRow:
    return OutboxRow(
        row.id, row.subscriber_id, row.period, row.status, row.attempts, row.message_id,
        row.message, tuple(orjson.loads(row.paper_ids)),
        as_utc(row.sent_at) if row.sent_at else None, row.error,
    )  # fmt: skip


def enqueue_digest(
    conn: Connection,
    subscriber_id: int,
    period: str,
    now: dt.datetime,
    *,
    papers_until: dt.datetime,
    paper_ids: Sequence[int],
    message_id: str | None,
    message: bytes | None,
) -> bool:
    """Record the subscriber's digest for a period; False if the period already has one.

    The subscriber's papers then start after `papers_until`, in the same
    transaction: a paper is in one digest, never two. A period with nothing
    to send is recorded as "skipped" so it is not composed again.
    """
    status = "pending" if message is not None else "skipped"
    row = {
        "subscriber_id": subscriber_id, "period": period, "status": status, "created_at": now,
        "papers_until": papers_until, "paper_ids": orjson.dumps(list(paper_ids)).decode(),
        "message_id": message_id, "message": message, "attempts": 0, "next_attempt_at": now,
    }  # fmt: skip
    if not insert_or_ignore(conn, digest_outbox, row):
        return False
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id)
        .values(papers_after=papers_until)
    )
    return True


def periods_done(conn: Connection, period: str, subscriber_ids: Sequence[int]) -> set[int]:
    """Which of these subscribers already have a row for the period."""
    if not subscriber_ids:
        return set()
    rows = conn.execute(
        select(digest_outbox.c.subscriber_id).where(
            digest_outbox.c.period == period,
            digest_outbox.c.subscriber_id.in_(subscriber_ids),
        )
    )
    return set(rows.scalars())


def claim_next(
    conn: Connection,
    now: dt.datetime,
    *,
    lease: dt.timedelta,
    subscriber_id: int | None = None,
) -> OutboxRow | None:
    """Take the next digest due to be sent, for `lease`; None when nothing is due.

    A row is due when pending and its retry time has come, or when a sender's
    claim on it has expired. The UPDATE re-checks that, so of two senders
    only one gets each row. With `subscriber_id`, only that subscriber's.
    """
    due = or_(
        and_(digest_outbox.c.status == "pending", digest_outbox.c.next_attempt_at <= now),
        and_(digest_outbox.c.status == "sending", digest_outbox.c.claimed_until < now),
    )
    if subscriber_id is not None:
        due = and_(due, digest_outbox.c.subscriber_id == subscriber_id)
    while True:
        candidate = conn.execute(
            select(digest_outbox.c.id).where(due).order_by(digest_outbox.c.id).limit(1)
        ).scalar_one_or_none()
        if candidate is None:
            return None
        taken = conn.execute(
            update(digest_outbox)
            .where(digest_outbox.c.id == candidate, due)
            .values(
                status="sending",
                claimed_until=now + lease,
                attempts=digest_outbox.c.attempts + 1,
            )
        )
        if taken.rowcount == 1:
            return get_outbox_row(conn, candidate)


def get_outbox_row(conn: Connection, row_id: int) -> OutboxRow | None:
    row = conn.execute(select(digest_outbox).where(digest_outbox.c.id == row_id)).first()
    return _row(row) if row else None


def mark_sent(conn: Connection, row_id: int, now: dt.datetime) -> None:
    conn.execute(
        update(digest_outbox)
        .where(digest_outbox.c.id == row_id)
        .values(status="sent", sent_at=now, claimed_until=None, error=None)
    )


def mark_retry(conn: Connection, row_id: int, when: dt.datetime, error: str) -> None:
    """A temporary failure: pending again from `when` (also after a refused handover)."""
    conn.execute(
        update(digest_outbox)
        .where(digest_outbox.c.id == row_id)
        .values(
            status="pending",
            next_attempt_at=when,
            claimed_until=None,
            sent_at=None,
            error=error[:2000],
        )
    )


def mark_failed(conn: Connection, row_id: int, error: str) -> None:
    """A permanent failure (the server refused the address): never retried."""
    conn.execute(
        update(digest_outbox)
        .where(digest_outbox.c.id == row_id)
        .values(status="failed", claimed_until=None, sent_at=None, error=error[:2000])
    )


def mark_unsubscribed(conn: Connection, row_id: int) -> None:
    """The subscriber left after the digest was queued: closed, never sent."""
    conn.execute(
        update(digest_outbox)
        .where(digest_outbox.c.id == row_id)
        .values(status="unsubscribed", claimed_until=None, error=None)
    )


def outbox_stats(conn: Connection, *, limit: int = 30) -> dict[str, dict[str, int]]:
    """Digests per period (newest first) and status."""
    rows = conn.execute(
        select(digest_outbox.c.period, digest_outbox.c.status, func.count())
        .group_by(digest_outbox.c.period, digest_outbox.c.status)
        .order_by(digest_outbox.c.period.desc())
    )
    stats: dict[str, dict[str, int]] = {}
    for period, status, count in rows:
        if period not in stats and len(stats) >= limit:
            continue
        stats.setdefault(period, {})[status] = count
    return stats
