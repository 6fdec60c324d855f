"""Counts for `paperroute stats` and the health of the corpus."""

from __future__ import annotations

from sqlalchemy import Connection, distinct, func, select

from paperroute.store.schema import ingest_runs, paper_categories, papers

__all__ = ["summarize"]


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
