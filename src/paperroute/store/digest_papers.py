"""The reads a digest run needs, each once for every subscriber: new papers, dismissals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update

from paperroute.domain import Paper
from paperroute.store.papers import get_papers_by_ids
from paperroute.store.schema import as_utc, dismissals, papers, subscribers, votes

__all__ = ["StoredPaper", "dismissed_since", "hold_subscribers", "papers_stored_between"]

_CHUNK = 2000  # ids per IN list: well under SQLite's limit on bound parameters


@dataclass(frozen=True, slots=True)
class StoredPaper:
    paper_id: int
    stored_at: dt.datetime
    popularity: int  # votes here plus outside upvotes
    paper: Paper


def papers_stored_between(
    conn: Connection, after: dt.datetime, until: dt.datetime
) -> list[StoredPaper]:
    """Papers the site stored in (after, until], hidden ones left out, oldest first."""
    local_votes = (
        select(func.count())
        .select_from(votes)
        .where(votes.c.paper_id == papers.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            papers.c.id,
            papers.c.created_at,
            (local_votes + func.coalesce(papers.c.upvotes, 0)).label("popularity"),
        )
        .where(
            papers.c.created_at > after,
            papers.c.created_at <= until,
            papers.c.hidden_at.is_(None),
        )
        .order_by(papers.c.created_at, papers.c.id)
    ).all()
    found: dict[int, Paper] = {}
    ids = [r.id for r in rows]
    for start in range(0, len(ids), _CHUNK):
        found.update(get_papers_by_ids(conn, ids[start : start + _CHUNK]))
    return [
        StoredPaper(r.id, as_utc(r.created_at), int(r.popularity), found[r.id])
        for r in rows
        if r.id in found
    ]


def dismissed_since(conn: Connection, after: dt.datetime) -> dict[int, set[int]]:
    """Per user, the papers stored after `after` that they marked "not interested"."""
    rows = conn.execute(
        select(dismissals.c.user_id, dismissals.c.paper_id)
        .join(papers, papers.c.id == dismissals.c.paper_id)
        .where(papers.c.created_at > after)
    )
    found: dict[int, set[int]] = {}
    for user_id, paper_id in rows:
        found.setdefault(user_id, set()).add(paper_id)
    return found


def hold_subscribers(conn: Connection, subscriber_ids: Sequence[int]) -> None:
    """Write-lock these subscribers' rows until the transaction ends.

    A second builder of the same digests waits here, then finds their periods
    done. On SQLite this write also opens the transaction for real: the
    driver begins one only before a write, so a savepoint taken first (as the
    outbox's insert takes one) would be committed by its own release.
    """
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id.in_(list(subscriber_ids)))
        .values(papers_after=subscribers.c.papers_after)
    )
