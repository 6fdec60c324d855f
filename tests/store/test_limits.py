"""Rate-limit counters: fixed windows shared through the database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select

from paperroute.store.limits import hit
from paperroute.store.schema import rate_limits

T0 = dt.datetime(2026, 3, 20, 9, tzinfo=dt.UTC)
WINDOW = dt.timedelta(minutes=15)


def test_hits_count_within_a_window_and_restart_after_it(engine: Engine) -> None:
    with engine.begin() as conn:
        assert [hit(conn, "k", T0, window=WINDOW) for _ in range(3)] == [1, 2, 3]
        assert hit(conn, "other", T0, window=WINDOW) == 1
        assert hit(conn, "k", T0 + dt.timedelta(minutes=14), window=WINDOW) == 4
        assert hit(conn, "k", T0 + dt.timedelta(minutes=15), window=WINDOW) == 1


def test_windows_long_closed_are_forgotten(engine: Engine) -> None:
    with engine.begin() as conn:
        for n in range(5):
            hit(conn, f"old-{n}", T0, window=WINDOW)
        hit(conn, "new", T0 + dt.timedelta(days=2), window=WINDOW)
        keys = conn.execute(select(rate_limits.c.key)).scalars().all()
        assert keys == ["new"]
        assert conn.execute(select(func.count()).select_from(rate_limits)).scalar_one() == 1
