"""Ingest runs: what each run asked for, how far it got, what it counted and rejected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from paperroute.domain import IngestRun, Rejected, RunCounts
from paperroute.store.schema import as_utc, ingest_rejects, ingest_runs

__all__ = [
    "finish_run",
    "get_run",
    "last_run",
    "list_rejects",
    "list_runs",
    "record_progress",
    "start_run",
]


def start_run(conn: Connection, source: str, scope: str, now: dt.datetime) -> int:
    """Record a new run; earlier runs of the same scope still marked running were killed."""
    conn.execute(
        update(ingest_runs)
        .where(
            ingest_runs.c.source == source,
            ingest_runs.c.scope == scope,
            ingest_runs.c.status == "running",
        )
        .values(status="interrupted", error="the process stopped before the run finished")
    )
    result = conn.execute(
        insert(ingest_runs).values(
            source=source, scope=scope, status="running", started_at=now,
            new=0, updated=0, unchanged=0, rejected=0,
        )
    )  # fmt: skip
    (run_id,) = result.inserted_primary_key or (None,)
    assert isinstance(run_id, int)
    return run_id


def record_progress(
    conn: Connection,
    run_id: int,
    counts: RunCounts,
    rejects: Sequence[Rejected],
    watermark: str | None,
) -> None:
    """Store a batch's counts, rejects and watermark in the batch's own transaction."""
    values: dict[str, object] = {
        "new": ingest_runs.c.new + counts.new,
        "updated": ingest_runs.c.updated + counts.updated,
        "unchanged": ingest_runs.c.unchanged + counts.unchanged,
        "rejected": ingest_runs.c.rejected + counts.rejected,
    }
    if watermark is not None:
        values["watermark"] = watermark
    conn.execute(update(ingest_runs).where(ingest_runs.c.id == run_id).values(values))
    if rejects:
        conn.execute(
            insert(ingest_rejects),
            [{"run_id": run_id, "location": r.location[:2000], "reason": r.reason[:2000]}
             for r in rejects],
        )  # fmt: skip


def finish_run(
    conn: Connection, run_id: int, status: str, now: dt.datetime, error: str | None = None
) -> None:
    conn.execute(
        update(ingest_runs)
        .where(ingest_runs.c.id == run_id)
        .values(status=status, finished_at=now, error=error)
    )


def last_run(conn: Connection, source: str, scope: str) -> IngestRun | None:
    """The newest run of this source and scope that reached a watermark, finished or not."""
    row = conn.execute(
        select(ingest_runs)
        .where(
            ingest_runs.c.source == source,
            ingest_runs.c.scope == scope,
            ingest_runs.c.watermark.is_not(None),
        )
        .order_by(ingest_runs.c.id.desc())
        .limit(1)
    ).first()
    return _to_run(row) if row is not None else None


def _to_run(r: Row[Any]) -> IngestRun:
    return IngestRun(
        id=r.id,
        source=r.source,
        status=r.status,
        started_at=as_utc(r.started_at),
        finished_at=as_utc(r.finished_at) if r.finished_at else None,
        counts=RunCounts(r.new, r.updated, r.unchanged, r.rejected),
        watermark=r.watermark,
        error=r.error,
    )


def get_run(conn: Connection, run_id: int) -> IngestRun | None:
    row = conn.execute(select(ingest_runs).where(ingest_runs.c.id == run_id)).first()
    return _to_run(row) if row is not None else None


def list_runs(conn: Connection, limit: int = 20) -> list[IngestRun]:
    rows = conn.execute(select(ingest_runs).order_by(ingest_runs.c.id.desc()).limit(limit))
    return [_to_run(r) for r in rows]


def list_rejects(conn: Connection, run_id: int) -> list[Rejected]:
    rows = conn.execute(
        select(ingest_rejects)
        .where(ingest_rejects.c.run_id == run_id)
        .order_by(ingest_rejects.c.id)
    )
    return [Rejected(r.location, r.reason) for r in rows]
