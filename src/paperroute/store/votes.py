"""Votes and "not interested" marks: one per user per paper, each undoable."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, Table, delete, func, select

from paperroute.store.inserts import insert_or_ignore
from paperroute.store.schema import dismissals, votes

__all__ = [
    "count_votes",
    "dismiss",
    "dismissed_ids",
    "undismiss",
    "unvote",
    "vote",
    "voted_ids",
]


def _mark(conn: Connection, table: Table, user_id: int, paper_id: int, now: dt.datetime) -> bool:
    """Add the user's mark on a paper; False if it was already there (never a second row)."""
    return insert_or_ignore(
        conn, table, {"user_id": user_id, "paper_id": paper_id, "created_at": now}
    )


def _unmark(conn: Connection, table: Table, user_id: int, paper_id: int) -> bool:
    gone = conn.execute(
        delete(table).where(table.c.user_id == user_id, table.c.paper_id == paper_id)
    )
    return gone.rowcount > 0


def vote(conn: Connection, user_id: int, paper_id: int, now: dt.datetime) -> bool:
    return _mark(conn, votes, user_id, paper_id, now)


def unvote(conn: Connection, user_id: int, paper_id: int) -> bool:
    return _unmark(conn, votes, user_id, paper_id)


def dismiss(conn: Connection, user_id: int, paper_id: int, now: dt.datetime) -> bool:
    return _mark(conn, dismissals, user_id, paper_id, now)


def undismiss(conn: Connection, user_id: int, paper_id: int) -> bool:
    return _unmark(conn, dismissals, user_id, paper_id)


def count_votes(conn: Connection, paper_ids: Sequence[int]) -> dict[int, int]:
    """Votes per paper for a page of papers, in one query (papers without votes are absent)."""
    if not paper_ids:
        return {}
    rows = conn.execute(
        select(votes.c.paper_id, func.count())
        .where(votes.c.paper_id.in_(paper_ids))
        .group_by(votes.c.paper_id)
    )
    return {paper_id: count for paper_id, count in rows}


def _marked(
    conn: Connection, table: Table, user_id: int, paper_ids: Sequence[int] | None
) -> set[int]:
    query = select(table.c.paper_id).where(table.c.user_id == user_id)
    if paper_ids is not None:
        query = query.where(table.c.paper_id.in_(paper_ids))
    return set(conn.execute(query).scalars())


def voted_ids(conn: Connection, user_id: int, paper_ids: Sequence[int] | None = None) -> set[int]:
    """Which of these papers (all, when None) the user voted for."""
    return _marked(conn, votes, user_id, paper_ids)


def dismissed_ids(
    conn: Connection, user_id: int, paper_ids: Sequence[int] | None = None
) -> set[int]:
    return _marked(conn, dismissals, user_id, paper_ids)
