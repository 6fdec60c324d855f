"""What readers did with papers, as the trending score counts it: votes, saves, views."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, and_, cast, func, literal, select

from paperroute.store.inserts import insert_many_or_ignore
from paperroute.store.papers import visible_conditions
from paperroute.store.schema import (
    collection_papers,
    collections,
    paper_views,
    papers,
    users,
    votes,
)

__all__ = ["PaperSignals", "record_views", "signals_for", "window_signals"]


@dataclass(frozen=True, slots=True)
class PaperSignals:
    paper_id: int
    announced: dt.date | None
    votes: int = 0  # readers that voted (one vote per account or signup group)
    saves: int = 0  # readers that put it in a collection (the same)
    views: int = 0  # distinct visitors a day who opened its page
    upvotes: int = 0  # outside: Hugging Face upvotes, as ingested
    stars: int = 0  # outside: GitHub stars of its code, as ingested


def record_views(conn: Connection, views: Sequence[tuple[int, dt.date, str]]) -> None:
    """Store (paper id, day, visitor) views; one a visitor already made that day is ignored."""
    if not views:
        return
    rows = [{"paper_id": p, "day": d, "visitor": v} for p, d, v in sorted(set(views))]
    # Papers deleted since the view was seen would break the foreign key: only known ones.
    known = set(
        conn.execute(
            select(papers.c.id).where(papers.c.id.in_({r["paper_id"] for r in rows}))
        ).scalars()
    )
    insert_many_or_ignore(conn, paper_views, [r for r in rows if r["paper_id"] in known])


def _counts(conn: Connection, column: Any, table: Any, where: Any) -> dict[int, int]:
    rows = conn.execute(
        select(column, func.count()).select_from(table).where(where).group_by(column)
    )
    return {int(paper_id): int(count) for paper_id, count in rows}


# One reader: an account, or all the accounts made in one hour from one network
# (users.signup_group). Accounts without a group (made on the command line, or
# before groups were recorded) are each their own reader.
_READER = func.coalesce(users.c.signup_group, literal("user:") + cast(users.c.id, String))


def _readers(conn: Connection, paper_id: Any, user_id: Any, source: Any) -> dict[int, int]:
    """Distinct readers per paper among the (paper, account) pairs of `source`."""
    pairs = (
        select(paper_id.label("paper_id"), _READER.label("reader"))
        .select_from(source)
        .join(users, users.c.id == user_id)
        .distinct()
        .subquery()
    )
    return _counts(conn, pairs.c.paper_id, pairs, True)


def _signals(conn: Connection, conditions: list[Any]) -> list[PaperSignals]:
    """Three grouped counts over the chosen papers, whatever their number."""
    where = and_(True, *conditions)
    columns = (papers.c.id, papers.c.announced, papers.c.upvotes, papers.c.github_stars)
    rows = conn.execute(select(*columns).where(where)).all()
    chosen = select(papers.c.id).where(where)
    voted = votes.select().where(votes.c.paper_id.in_(chosen)).subquery()
    voters = _readers(conn, voted.c.paper_id, voted.c.user_id, voted)
    collected = (
        select(collection_papers.c.paper_id, collections.c.user_id)
        .join(collections, collections.c.id == collection_papers.c.collection_id)
        .where(collection_papers.c.paper_id.in_(chosen))
        .subquery()
    )
    saves = _readers(conn, collected.c.paper_id, collected.c.user_id, collected)
    viewers = paper_views.c.paper_id
    views = _counts(conn, viewers, paper_views, viewers.in_(chosen))
    found: list[PaperSignals] = []
    for r in rows:
        counts = (voters.get(r.id, 0), saves.get(r.id, 0), views.get(r.id, 0))
        found.append(PaperSignals(r.id, r.announced, *counts, r.upvotes or 0, r.github_stars or 0))
    return found


def window_signals(
    conn: Connection,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    category: str | None = None,
) -> list[PaperSignals]:
    """Signals of the visible papers announced in [since, until], in a category if given."""
    return _signals(conn, visible_conditions(since, until, category, None))


def signals_for(conn: Connection, paper_ids: Sequence[int]) -> dict[int, PaperSignals]:
    """Signals of these papers (hidden ones included: the caller chose them)."""
    found: dict[int, PaperSignals] = {}
    for start in range(0, len(paper_ids), 2000):  # bound parameters per IN list
        chunk = list(paper_ids[start : start + 2000])
        found.update((s.paper_id, s) for s in _signals(conn, [papers.c.id.in_(chunk)]))
    return found
