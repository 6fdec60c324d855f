"""Collections: named lists of papers a user keeps, private unless made public."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from paperroute.domain import Paper
from paperroute.store.inserts import insert_or_ignore
from paperroute.store.papers import get_papers_by_ids, hidden_ids
from paperroute.store.schema import as_utc, collection_papers, collections

__all__ = [
    "Collection",
    "add_paper",
    "collections_with_paper",
    "create_collection",
    "delete_collection",
    "get_collection",
    "list_collections",
    "paper_ids_in",
    "remove_paper",
    "shown_papers_in",
    "update_collection",
]


@dataclass(frozen=True, slots=True)
class Collection:
    id: int
    user_id: int
    name: str
    is_public: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    size: int = 0


def _collection(row: Row[Any], size: int = 0) -> Collection:
    return Collection(
        row.id, row.user_id, row.name, bool(row.is_public),
        as_utc(row.created_at), as_utc(row.updated_at), size,
    )  # fmt: skip


def create_collection(
    conn: Connection, user_id: int, name: str, now: dt.datetime, *, is_public: bool = False
) -> Collection:
    result = conn.execute(
        insert(collections).values(
            user_id=user_id, name=name, is_public=is_public, created_at=now, updated_at=now
        )
    )
    new_id = int(result.inserted_primary_key[0])  # pyright: ignore[reportOptionalSubscript]
    collection = get_collection(conn, new_id)
    assert collection is not None
    return collection


def _sizes(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = conn.execute(
        select(collection_papers.c.collection_id, func.count())
        .where(collection_papers.c.collection_id.in_(ids))
        .group_by(collection_papers.c.collection_id)
    )
    return {cid: n for cid, n in rows}


def get_collection(conn: Connection, collection_id: int) -> Collection | None:
    row = conn.execute(select(collections).where(collections.c.id == collection_id)).first()
    if row is None:
        return None
    return _collection(row, _sizes(conn, [row.id]).get(row.id, 0))


def list_collections(conn: Connection, user_id: int) -> list[Collection]:
    rows = list(
        conn.execute(
            select(collections)
            .where(collections.c.user_id == user_id)
            .order_by(collections.c.updated_at.desc(), collections.c.id.desc())
        )
    )
    sizes = _sizes(conn, [r.id for r in rows])
    return [_collection(r, sizes.get(r.id, 0)) for r in rows]


def update_collection(
    conn: Connection,
    collection_id: int,
    now: dt.datetime,
    *,
    name: str | None = None,
    is_public: bool | None = None,
) -> None:
    values: dict[str, Any] = {"updated_at": now}
    if name is not None:
        values["name"] = name
    if is_public is not None:
        values["is_public"] = is_public
    conn.execute(update(collections).where(collections.c.id == collection_id).values(**values))


def delete_collection(conn: Connection, collection_id: int) -> None:
    # Explicit: SQLite enforces ON DELETE CASCADE only with foreign keys on.
    conn.execute(
        delete(collection_papers).where(collection_papers.c.collection_id == collection_id)
    )
    conn.execute(delete(collections).where(collections.c.id == collection_id))


def add_paper(conn: Connection, collection_id: int, paper_id: int, now: dt.datetime) -> bool:
    """Put a paper in a collection; False if it was there already."""
    row = {"collection_id": collection_id, "paper_id": paper_id, "added_at": now}
    if not insert_or_ignore(conn, collection_papers, row):
        return False
    conn.execute(
        update(collections).where(collections.c.id == collection_id).values(updated_at=now)
    )
    return True


def remove_paper(conn: Connection, collection_id: int, paper_id: int) -> bool:
    gone = conn.execute(
        delete(collection_papers).where(
            collection_papers.c.collection_id == collection_id,
            collection_papers.c.paper_id == paper_id,
        )
    )
    return gone.rowcount > 0


def paper_ids_in(conn: Connection, collection_id: int) -> list[int]:
    """The collection's papers, most recently added first."""
    rows = conn.execute(
        select(collection_papers.c.paper_id)
        .where(collection_papers.c.collection_id == collection_id)
        .order_by(collection_papers.c.added_at.desc(), collection_papers.c.paper_id.desc())
    )
    return list(rows.scalars())


def shown_papers_in(conn: Connection, collection_id: int, limit: int | None = None) -> list[Paper]:
    """The collection's papers as its page shows them: most recently added first, hidden
    papers left out (exports and feeds show the same)."""
    ids = paper_ids_in(conn, collection_id)[:limit]
    found = get_papers_by_ids(conn, ids)
    hidden = hidden_ids(conn, ids)
    return [found[i] for i in ids if i in found and i not in hidden]


def collections_with_paper(conn: Connection, user_id: int, paper_id: int) -> set[int]:
    """Which of the user's collections hold the paper."""
    rows = conn.execute(
        select(collection_papers.c.collection_id)
        .join(collections, collections.c.id == collection_papers.c.collection_id)
        .where(collections.c.user_id == user_id, collection_papers.c.paper_id == paper_id)
    )
    return set(rows.scalars())
