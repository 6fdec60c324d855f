"""The ingest pipeline: items from a source, in batches, into the store.

Each batch is one transaction holding its papers, its rejects, the run's
counts and the source's watermark. A kill at any moment loses at most the
batch in flight, which the next run (resuming from the watermark, or simply
reading the same file again) stores, without duplicates, since every write is
an idempotent upsert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import Engine

from paperroute.domain import Checkpoint, IngestRun, Paper, Rejected, RunCounts, SourceItem
from paperroute.store import papers as paper_store
from paperroute.store import runs as run_store

__all__ = ["BATCH_SIZE", "Progress", "resume_point", "run_ingest"]

BATCH_SIZE = 1000
Progress = Callable[[RunCounts], None]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class _Batch:
    papers: list[Paper] = field(default_factory=list)
    rejects: list[Rejected] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.papers) + len(self.rejects)


def resume_point(engine: Engine, source: str, scope: str) -> IngestRun | None:
    """The newest run of this source and scope that reached a watermark, if any."""
    with engine.connect() as conn:
        return run_store.last_run(conn, source, scope)


def _flush(
    engine: Engine, run_id: int, batch: _Batch, watermark: str | None, now: dt.datetime
) -> RunCounts:
    with engine.begin() as conn:
        counts = paper_store.upsert_papers(conn, batch.papers, now)
        counts.rejected = len(batch.rejects)
        run_store.record_progress(conn, run_id, counts, batch.rejects, watermark)
    return counts


def _batches(items: Iterable[SourceItem], size: int) -> Iterator[tuple[_Batch, str | None]]:
    """Items grouped into batches, each ending at a checkpoint or at `size` items.

    The last batch comes out even when empty, so the run records its end.
    """
    batch = _Batch()
    for item in items:
        if isinstance(item, Checkpoint):
            yield batch, item.watermark
            batch = _Batch()
            continue
        if isinstance(item, Paper):
            batch.papers.append(item)
        else:
            batch.rejects.append(item)
        if len(batch) >= size:
            yield batch, None
            batch = _Batch()
    yield batch, None


def run_ingest(
    engine: Engine,
    source: str,
    scope: str,
    items: Iterable[SourceItem],
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    clock: Callable[[], dt.datetime] = _utcnow,
) -> IngestRun:
    """Store everything a source yields and record the run; return the finished run."""
    with engine.begin() as conn:
        run_id = run_store.start_run(conn, source, scope, clock())
    totals = RunCounts()
    status, error = "failed", None
    try:
        for batch, watermark in _batches(items, batch_size):
            totals.add(_flush(engine, run_id, batch, watermark, clock()))
            if progress is not None:
                progress(totals)
        status = "completed"
    except KeyboardInterrupt:
        status, error = "interrupted", "stopped by the user"
        raise
    except Exception as exc:
        error = f"{exc.__class__.__name__}: {exc}"
        raise
    finally:
        with engine.begin() as conn:
            run_store.finish_run(conn, run_id, status, clock(), error)
    if progress is not None:
        progress(totals)
    with engine.connect() as conn:
        run = run_store.get_run(conn, run_id)
    assert run is not None
    return run
