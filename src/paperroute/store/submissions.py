"""Who asked the site to fetch a paper."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, select

from paperroute.store.inserts import insert_or_ignore
from paperroute.store.schema import submissions, users

__all__ = ["record_submission", "submitters"]


def record_submission(conn: Connection, paper_id: int, user_id: int, now: dt.datetime) -> None:
    """Remember the first submitter of a paper; later submissions change nothing."""
    row = {"paper_id": paper_id, "user_id": user_id, "submitted_at": now}
    insert_or_ignore(conn, submissions, row)


def submitters(conn: Connection, paper_ids: Sequence[int]) -> dict[int, str]:
    """The submitter's email for each submitted paper among these."""
    if not paper_ids:
        return {}
    rows = conn.execute(
        select(submissions.c.paper_id, users.c.email)
        .join(users, users.c.id == submissions.c.user_id)
        .where(submissions.c.paper_id.in_(paper_ids))
    )
    return {paper_id: email for paper_id, email in rows}
