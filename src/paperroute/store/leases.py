"""Leases on scheduled jobs: one holder per job at a time, each firing taken once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, and_, or_, update

from paperroute.store.inserts import insert_or_ignore
from paperroute.store.schema import job_leases

__all__ = ["release_lease", "renew_lease", "take_lease"]


def take_lease(
    conn: Connection, name: str, holder: str, firing: dt.datetime, now: dt.datetime,
    ttl: dt.timedelta,
) -> bool:  # fmt: skip
    """Take the job for this firing; False if another holder runs it or this firing was taken.

    A lease whose holder stopped renewing it (a dead worker) counts as free
    once it has expired: the next firing takes the job over.
    """
    row = {"name": name, "holder": holder, "expires_at": now + ttl, "firing": firing}
    if insert_or_ignore(conn, job_leases, row):
        return True
    free = or_(job_leases.c.holder.is_(None), job_leases.c.expires_at < now)
    taken = conn.execute(
        update(job_leases)
        .where(job_leases.c.name == name, job_leases.c.firing < firing, free)
        .values(holder=holder, expires_at=now + ttl, firing=firing)
    )
    return taken.rowcount == 1


def renew_lease(
    conn: Connection, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta
) -> bool:
    """Extend a lease this holder still has; False if it lost it (it expired and was taken)."""
    done = conn.execute(
        update(job_leases)
        .where(and_(job_leases.c.name == name, job_leases.c.holder == holder))
        .values(expires_at=now + ttl)
    )
    return done.rowcount == 1


def release_lease(conn: Connection, name: str, holder: str) -> None:
    """The job is done: free for its next firing (this one stays taken)."""
    conn.execute(
        update(job_leases)
        .where(job_leases.c.name == name, job_leases.c.holder == holder)
        .values(holder=None)
    )
