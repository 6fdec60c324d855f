"""Rate limits as fixed-window counters in the database, shared by every web process."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, select, update

from paperroute.store.inserts import insert_or_ignore
from paperroute.store.schema import as_utc, rate_limits

__all__ = ["hit"]

STALE_AFTER = dt.timedelta(days=1)


def hit(conn: Connection, key: str, now: dt.datetime, *, window: dt.timedelta) -> int:
    """Count one hit on `key` and return the hits in its current window (this one included)."""
    row = conn.execute(select(rate_limits.c.window_start).where(rate_limits.c.key == key)).first()
    if row is not None and now - as_utc(row.window_start) < window:
        conn.execute(
            update(rate_limits).where(rate_limits.c.key == key)
            .values(hits=rate_limits.c.hits + 1)
        )  # fmt: skip
        return conn.execute(select(rate_limits.c.hits).where(rate_limits.c.key == key)).scalar_one()
    # Opening a window is rare: the moment to forget windows long closed.
    stale = rate_limits.c.window_start < now - max(window, STALE_AFTER)
    conn.execute(delete(rate_limits).where((rate_limits.c.key == key) | stale))
    if not insert_or_ignore(conn, rate_limits, {"key": key, "window_start": now, "hits": 1}):
        return hit(conn, key, now, window=window)  # another request opened the window first
    return 1
