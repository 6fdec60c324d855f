"""Papers as list pages show them: with votes, the visitor's marks and "new"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Query
from sqlalchemy import Connection

from paperroute.domain import Paper
from paperroute.store import votes as vote_store
from paperroute.store.users import User

__all__ = ["MAX_PAGE", "Entry", "PageNumber", "make_entries"]

MAX_PAGE = 10_000  # pages of a listing: past any real one, and its offset fits every database
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page, from 1")]


@dataclass(frozen=True, slots=True)
class Entry:
    paper: Paper
    paper_id: int
    votes: int
    voted: bool = False
    new: bool = False
    title_html: str = ""  # search highlights, already escaped
    snippet_html: str = ""


def make_entries(
    conn: Connection,
    papers: Sequence[Paper],
    ids: Sequence[int],
    user: User | None,
    *,
    added: Sequence[dt.datetime] = (),
    highlights: Sequence[tuple[str, str]] = (),
) -> list[Entry]:
    """Entries for one page: a fixed number of queries, whatever the page size.

    Papers the user marked "not interested" are left out.
    """
    counts = vote_store.count_votes(conn, ids)
    voted: set[int] = set()
    dismissed: set[int] = set()
    if user is not None:
        voted = vote_store.voted_ids(conn, user.id, ids)
        dismissed = vote_store.dismissed_ids(conn, user.id, ids)
    entries: list[Entry] = []
    for n, (paper, paper_id) in enumerate(zip(papers, ids, strict=True)):
        if paper_id in dismissed:
            continue
        outside = paper.upvotes or 0
        is_new = bool(
            user is not None
            and user.seen_before is not None
            and n < len(added)
            and added[n] > user.seen_before
        )
        title_html, snippet_html = highlights[n] if n < len(highlights) else ("", "")
        entries.append(
            Entry(paper, paper_id, counts.get(paper_id, 0) + outside, paper_id in voted,
                  is_new, title_html, snippet_html)
        )  # fmt: skip
    return entries
