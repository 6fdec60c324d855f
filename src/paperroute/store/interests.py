"""What a reader likes, for recommendations: votes, saves, and the interests they stated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from sqlalchemy import Connection, delete, insert, select

from paperroute.domain import Paper
from paperroute.ingest.normalize import build_paper
from paperroute.store.schema import collection_papers, collections, reader_interests, votes

__all__ = [
    "Interests",
    "add_interests",
    "liked_papers",
    "list_interests",
    "remove_interest",
]


@dataclass(slots=True)
class Interests:
    """The interests a reader stated, each with its row id (to remove it)."""

    categories: dict[int, str] = field(default_factory=dict[int, str])
    paper_keys: dict[int, str] = field(default_factory=dict[int, str])
    texts: dict[int, Paper] = field(default_factory=dict[int, Paper])  # from elsewhere


def _text_value(paper: Paper) -> str:
    return orjson.dumps({"title": paper.title, "abstract": paper.abstract,
                         "authors": list(paper.authors)}).decode()  # fmt: skip


def add_interests(
    conn: Connection,
    user_id: int,
    now: dt.datetime,
    *,
    categories: Sequence[str] = (),
    paper_keys: Sequence[str] = (),
    texts: Sequence[Paper] = (),
) -> int:
    """Add interests the reader does not have yet; how many were new."""
    have = list_interests(conn, user_id)
    known = {("category", c) for c in have.categories.values()}
    known |= {("paper", k) for k in have.paper_keys.values()}
    known |= {("text", _text_value(p)) for p in have.texts.values()}
    wanted = [("category", c) for c in categories] + [("paper", k) for k in paper_keys]
    wanted += [("text", _text_value(p)) for p in texts]
    new = list(dict.fromkeys(w for w in wanted if w not in known))
    if new:
        conn.execute(insert(reader_interests), [
            {"user_id": user_id, "kind": kind, "value": value, "created_at": now}
            for kind, value in new
        ])  # fmt: skip
    return len(new)


def list_interests(conn: Connection, user_id: int) -> Interests:
    found = Interests()
    rows = conn.execute(
        select(reader_interests)
        .where(reader_interests.c.user_id == user_id)
        .order_by(reader_interests.c.id)
    )
    for row in rows:
        if row.kind == "category":
            found.categories[row.id] = row.value
        elif row.kind == "paper":
            found.paper_keys[row.id] = row.value
        elif row.kind == "text":
            fields = orjson.loads(row.value)
            found.texts[row.id] = build_paper(source="interest", title=fields["title"],
                                              abstract=fields["abstract"],
                                              authors=fields["authors"])  # fmt: skip
    return found


def remove_interest(conn: Connection, user_id: int, interest_id: int) -> bool:
    done = conn.execute(
        delete(reader_interests).where(
            reader_interests.c.id == interest_id, reader_interests.c.user_id == user_id
        )
    )
    return done.rowcount > 0


def liked_papers(conn: Connection, user_id: int) -> dict[int, str]:
    """Papers the reader voted for or saved: paper id -> how ("voted for", "saved")."""
    saved = (
        select(collection_papers.c.paper_id)
        .join(collections, collections.c.id == collection_papers.c.collection_id)
        .where(collections.c.user_id == user_id)
    )
    found = {int(i): "saved" for i in conn.execute(saved).scalars()}
    voted = select(votes.c.paper_id).where(votes.c.user_id == user_id)
    for paper_id in conn.execute(voted).scalars():
        found.setdefault(int(paper_id), "voted for")
    return found
