"""Subscribers and the digest outbox on both databases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from paperroute.store import outbox
from paperroute.store.subscribers import (
    Preferences,
    active_subscribers,
    add_subscriber,
    confirm_subscriber,
    count_subscribers,
    get_subscriber,
    unsubscribe,
    update_preferences,
)

T0 = dt.datetime(2026, 3, 20, 7, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=5)


def test_double_opt_in_and_unsubscribe(engine: Engine) -> None:
    with engine.begin() as conn:
        sub = add_subscriber(conn, "Ada@Example.org", T0)
        assert sub.email == "ada@example.org" and not sub.active
        assert active_subscribers(conn) == []
        assert confirm_subscriber(conn, sub.id, T0) and not confirm_subscriber(conn, sub.id, T0)
        assert [s.id for s in active_subscribers(conn)] == [sub.id]
        update_preferences(conn, sub.id, Preferences(frequency="weekly", searches=("rag",)))
        assert get_subscriber(conn, sub.id).preferences.searches == ("rag",)  # type: ignore[union-attr]
        assert unsubscribe(conn, sub.id, T0) and active_subscribers(conn) == []
        again = add_subscriber(conn, "ada@example.org", T0)  # must confirm again
        assert again.id == sub.id and not again.active
        assert count_subscribers(conn) == {"pending": 1, "active": 0, "unsubscribed": 0}


def test_one_row_per_subscriber_and_period_then_claimed_once(engine: Engine) -> None:
    with engine.begin() as conn:
        sub = add_subscriber(conn, "a@b.org", T0)
        confirm_subscriber(conn, sub.id, T0)
        kwargs = {"papers_until": T0, "paper_ids": [3, 1], "message_id": "<m@x>", "message": b"m"}
        assert outbox.enqueue_digest(conn, sub.id, "2026-03-20", T0, **kwargs)  # type: ignore[arg-type]
        assert not outbox.enqueue_digest(conn, sub.id, "2026-03-20", T0, **kwargs)  # type: ignore[arg-type]
        assert get_subscriber(conn, sub.id).papers_after == T0  # type: ignore[union-attr]
        claimed = outbox.claim_next(conn, T0, lease=LEASE)
        assert claimed is not None and claimed.paper_ids == (3, 1) and claimed.attempts == 1
        assert outbox.claim_next(conn, T0, lease=LEASE) is None  # held by its sender
        # The sender died: after the lease the row is due again.
        retaken = outbox.claim_next(conn, T0 + LEASE + dt.timedelta(seconds=1), lease=LEASE)
        assert retaken is not None and retaken.id == claimed.id and retaken.attempts == 2
        outbox.mark_sent(conn, retaken.id, T0)
        assert outbox.claim_next(conn, T0 + dt.timedelta(days=1), lease=LEASE) is None
        assert outbox.outbox_stats(conn) == {"2026-03-20": {"sent": 1}}


def test_retries_wait_and_failures_stay_failed(engine: Engine) -> None:
    with engine.begin() as conn:
        ids = []
        for n in range(2):
            sub = add_subscriber(conn, f"s{n}@b.org", T0)
            outbox.enqueue_digest(conn, sub.id, "2026-W12", T0, papers_until=T0, paper_ids=[],
                                  message_id=f"<{n}@x>", message=b"m")  # fmt: skip
            ids.append(sub.id)
        first = outbox.claim_next(conn, T0, lease=LEASE)
        assert first is not None
        outbox.mark_retry(conn, first.id, T0 + dt.timedelta(minutes=10), "451 try later")
        second = outbox.claim_next(conn, T0, lease=LEASE)
        assert second is not None and second.id != first.id
        outbox.mark_failed(conn, second.id, "550 no such user")
        assert outbox.claim_next(conn, T0 + dt.timedelta(minutes=5), lease=LEASE) is None
        again = outbox.claim_next(conn, T0 + dt.timedelta(minutes=10), lease=LEASE)
        assert again is not None and again.id == first.id
        assert outbox.outbox_stats(conn)["2026-W12"] == {"sending": 1, "failed": 1}
        assert outbox.periods_done(conn, "2026-W12", ids) == set(ids)


def test_an_empty_digest_is_recorded_as_skipped(engine: Engine) -> None:
    with engine.begin() as conn:
        sub = add_subscriber(conn, "a@b.org", T0)
        outbox.enqueue_digest(conn, sub.id, "2026-03-20", T0, papers_until=T0, paper_ids=[],
                              message_id=None, message=None)  # fmt: skip
        assert outbox.claim_next(conn, T0, lease=LEASE) is None
        assert outbox.outbox_stats(conn) == {"2026-03-20": {"skipped": 1}}
