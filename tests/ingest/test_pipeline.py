"""The pipeline: counts, rejects, watermarks, and surviving a kill at any moment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from paperroute.domain import Checkpoint, Paper, Rejected, SourceItem
from paperroute.ingest.normalize import build_paper
from paperroute.ingest.pipeline import resume_point, run_ingest
from paperroute.store import runs as run_store
from paperroute.store.schema import ingest_runs, paper_categories, paper_versions, papers

SAMPLE = Path(__file__).parents[2] / "src/paperroute/sample/papers.jsonl.gz"
SAMPLE_PAPERS = 3614


def paper(n: int) -> Paper:
    return build_paper(source="t", arxiv_id=f"2503.{n:05d}", title=f"Paper {n}", abstract="A")


def test_counts_rejects_and_finishes(engine: Engine) -> None:
    items: list[SourceItem] = [paper(1), Rejected("f.jsonl:2", "empty title"), paper(2), paper(1)]
    run = run_ingest(engine, "t", "scope", items, batch_size=2)
    assert run.status == "completed"
    assert (run.counts.new, run.counts.unchanged, run.counts.rejected) == (2, 1, 1)
    again = run_ingest(engine, "t", "scope", items)
    assert (again.counts.new, again.counts.unchanged, again.counts.rejected) == (0, 2, 1)
    with engine.connect() as conn:
        assert run_store.list_rejects(conn, run.id) == [Rejected("f.jsonl:2", "empty title")]
        assert [r.id for r in run_store.list_runs(conn)] == [again.id, run.id]


def failing_source() -> Iterator[SourceItem]:
    yield paper(1)
    yield Checkpoint("page-2")
    yield paper(2)
    raise ConnectionError("the server went away")


def test_failure_keeps_work_before_the_checkpoint_and_resumes(engine: Engine) -> None:
    with pytest.raises(ConnectionError):
        run_ingest(engine, "net", "cs", failing_source())
    with engine.connect() as conn:
        stored = conn.execute(select(papers.c.key)).scalars().all()
        run = run_store.list_runs(conn)[0]
    assert stored == ["2503.00001"]  # paper 2 was in the batch that failed
    assert run.status == "failed" and run.error == "ConnectionError: the server went away"
    last = resume_point(engine, "net", "cs")
    assert last is not None and (last.watermark, last.status) == ("page-2", "failed")
    assert resume_point(engine, "net", "other-scope") is None


def _count(engine: Engine, table: object = papers) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()  # type: ignore[arg-type]


def _ingest_process(db_url: str) -> subprocess.Popen[bytes]:
    env = os.environ | {"PAPERROUTE_DATABASE_URL": db_url}
    return subprocess.Popen(
        [sys.executable, "-m", "paperroute", "ingest", "file", str(SAMPLE)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow  # separate processes, killed or served: seconds each
@pytest.mark.parametrize("kill_after_papers", [0, 1])
def test_kill_mid_ingest_then_rerun_loses_and_duplicates_nothing(
    engine: Engine, db_url: str, kill_after_papers: int
) -> None:
    process = _ingest_process(db_url)
    deadline = time.monotonic() + 60
    while _count(engine) < kill_after_papers and process.poll() is None:
        assert time.monotonic() < deadline, "the ingest never stored a paper"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _count(engine) < SAMPLE_PAPERS, "the kill came too late to test anything"
    versions_before = _count(engine, paper_versions)
    rerun = subprocess.run(
        [sys.executable, "-m", "paperroute", "ingest", "file", str(SAMPLE)],
        env=os.environ | {"PAPERROUTE_DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert _count(engine) == SAMPLE_PAPERS
    with engine.connect() as conn:
        distinct = conn.execute(select(func.count(func.distinct(papers.c.arxiv_id)))).scalar_one()
        orphans = conn.execute(
            select(func.count())
            .select_from(paper_categories)
            .where(paper_categories.c.paper_id.not_in(select(papers.c.id)))
        ).scalar_one()
        statuses = (
            conn.execute(select(ingest_runs.c.status).order_by(ingest_runs.c.id)).scalars().all()
        )
    assert distinct == SAMPLE_PAPERS and orphans == 0
    assert versions_before == 0
    assert statuses[-1] == "completed"
    assert set(statuses[:-1]) <= {"interrupted"}  # a killed run is not left "running"
