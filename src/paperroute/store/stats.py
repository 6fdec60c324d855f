"""Counts for `paperroute stats` and the health of the corpus."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, distinct, func, select

from paperroute.store.schema import digest_outbox, ingest_runs, paper_categories, papers

__all__ = ["MetricCounts", "metric_counts", "summarize"]


@dataclass(frozen=True, slots=True)
class MetricCounts:
    papers: int
    ingested: dict[tuple[str, str], int]  # (source, outcome: new/updated/unchanged/rejected)
    outbox: dict[str, int]  # digests by status


def metric_counts(conn: Connection) -> MetricCounts:
    """What /metrics reports from the database: three small aggregate queries."""
    total = conn.execute(select(func.count()).select_from(papers)).scalar_one()
    outcomes = ("new", "updated", "unchanged", "rejected")
    sums = conn.execute(
        select(ingest_runs.c.source, *(func.sum(ingest_runs.c[o]) for o in outcomes)).group_by(
            ingest_runs.c.source
        )
    )
    ingested = {(row[0], o): int(row[n + 1] or 0) for row in sums for n, o in enumerate(outcomes)}
    statuses = conn.execute(
        select(digest_outbox.c.status, func.count()).group_by(digest_outbox.c.status)
    )
    return MetricCounts(int(total), ingested, {str(s): int(n) for s, n in statuses})


def summarize(conn: Connection) -> dict[str, int | str]:
    paper_count = conn.execute(select(func.count()).select_from(papers)).scalar_one()
    with_id = conn.execute(
        select(func.count()).select_from(papers).where(papers.c.arxiv_id.is_not(None))
    ).scalar_one()
    first, last = conn.execute(
        select(func.min(papers.c.announced), func.max(papers.c.announced))
    ).one()
    categories = conn.execute(
        select(func.count(distinct(paper_categories.c.category)))
    ).scalar_one()
    run_count = conn.execute(select(func.count()).select_from(ingest_runs)).scalar_one()
    return {
        "papers": paper_count,
        "with arXiv id": with_id,
        "without arXiv id": paper_count - with_id,
        "categories": categories,
        "first announced": str(first or "-"),
        "last announced": str(last or "-"),
        "ingest runs": run_count,
    }
