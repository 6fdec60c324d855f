"""The follower: `follow_index` in a thread, against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Generator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

from paperroute.index.embed import Vectors
from paperroute.index.sync import (
    check_index,
    follow_index,
    index_in_use,
    last_sync,
    open_index,
    rebuild_index,
    sync_index,
)
from paperroute.ingest.normalize import build_paper
from paperroute.store.db import make_engine
from paperroute.store.papers import upsert_papers
from tests.support import WordHashEmbedder

EVERY = 0.05  # seconds between a test follower's syncs


def add_papers(engine: Engine, numbers: range, when: dt.datetime | None = None) -> None:
    """Papers stamped as a writer stamps them: with the time they are stored at."""
    batch = [build_paper(source="t", arxiv_id=f"2503.{n:05d}", title=f"Paper {n} on graphs",
                         abstract=f"We study graph number {n}.", categories=["cs.LG"],
                         announced="2026-03-18") for n in numbers]  # fmt: skip
    with engine.begin() as conn:
        upsert_papers(conn, batch, when or dt.datetime.now(dt.UTC))


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.02)


def in_step(engine: Engine, root: Path, papers: int) -> bool:
    """Whether the index saved under `root` holds exactly the database's `papers` papers."""
    if index_in_use(root) is None:
        return False
    report = check_index(engine, open_index(root, WordHashEmbedder(), create=False))
    return report.clean and report.indexed == papers


@contextmanager
def following(engine: Engine, root: Path, embedder: WordHashEmbedder) -> Generator[threading.Event]:
    """A follower in a thread; stopped, and seen to stop, at the end."""
    stop = threading.Event()
    thread = threading.Thread(
        target=follow_index, args=(engine, root, embedder), kwargs={"stop": stop, "every": EVERY}
    )
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive(), "the follower did not stop when told"


def test_a_follower_keeps_the_index_in_step_and_stops_when_told(
    engine: Engine, tmp_path: Path, embedder: WordHashEmbedder
) -> None:
    root = tmp_path / "index"
    add_papers(engine, range(1, 6))
    with following(engine, root, embedder):
        wait_for(lambda: in_step(engine, root, 5), "the first build")
        built = index_in_use(root)
        add_papers(engine, range(6, 9))
        wait_for(lambda: in_step(engine, root, 8), "three new papers")
        now_in_use = index_in_use(root)
        assert built and now_in_use and now_in_use[0] == built[0]  # the same generation
        # Stamped a minute ago, committed now: a writer that took its time.
        add_papers(engine, range(9, 10), dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        wait_for(lambda: in_step(engine, root, 9), "a late commit")
        synced = last_sync(root)
        assert synced is not None and synced > dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)


def test_a_quiet_follower_reads_and_writes_nothing(
    engine: Engine, tmp_path: Path, embedder: WordHashEmbedder
) -> None:
    root = tmp_path / "index"
    add_papers(engine, range(1, 6), dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    index = open_index(root, embedder)
    sync_index(engine, index, embedder)
    batches: list[int] = []
    sync_index(engine, index, embedder, progress=lambda done, left: batches.append(done))
    assert batches == [5]  # a lone sync looks back from its watermark and reads those again
    saved = (root / "manifest.json").stat().st_mtime_ns
    index.held_before = dt.datetime.now(dt.UTC)  # what a follower knows after a complete sync
    batches.clear()
    assert (
        sync_index(engine, index, embedder, progress=lambda done, left: batches.append(done)) == 0
    )
    assert batches == []  # nothing read
    assert (root / "manifest.json").stat().st_mtime_ns == saved  # nothing written: no reopening
    add_papers(engine, range(10, 11), dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    assert sync_index(engine, index, embedder) == 1  # a late commit still comes in
    assert check_index(engine, index).clean


class FlakyEmbedder(WordHashEmbedder):
    """Fails its first `failures` calls, as a model that ran out of memory might."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def embed(self, texts: Sequence[str]) -> Vectors:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("out of memory")
        return super().embed(texts)


@contextmanager
def logged(name: str) -> Generator[list[logging.LogRecord]]:
    """The records a logger emits, whatever handlers the commands gave it."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger(name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_follower_survives_failing_syncs(engine: Engine, tmp_path: Path) -> None:
    root = tmp_path / "index"
    add_papers(engine, range(1, 4))
    with logged("paperroute.index") as records, following(engine, root, FlakyEmbedder(2)):
        wait_for(lambda: in_step(engine, root, 3), "a sync after two failed ones")
    errors = [r.getMessage() for r in records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and "out of memory" in errors[0], errors
    assert any("works again after 2 failed tries" in r.getMessage() for r in records)


def test_a_follower_waits_out_the_database_going_away(
    engine: Engine, db_url: str, tmp_path: Path, embedder: WordHashEmbedder
) -> None:
    root = tmp_path / "index"
    away = threading.Event()
    own = make_engine(db_url)  # the follower's, whose connections fail while `away` is set

    @event.listens_for(own, "do_connect")
    def refuse(*_: Any) -> None:
        if away.is_set():
            raise OperationalError("connect", {}, ConnectionRefusedError("the database is away"))

    add_papers(engine, range(1, 3))
    away.set()
    try:
        with logged("paperroute.index") as records, following(own, root, embedder):
            wait_for(lambda: any(r.levelno == logging.ERROR for r in records), "a failed try")
            away.clear()
            wait_for(lambda: in_step(engine, root, 2), "the database back at the start")
            away.set()
            own.dispose()  # its pooled connections go with the database
            add_papers(engine, range(3, 5))
            wait_for(lambda: sum(r.levelno == logging.ERROR for r in records) >= 2, "a failure")
            away.clear()
            wait_for(lambda: in_step(engine, root, 4), "the database back again")
    finally:
        own.dispose()
    assert any("the database is away" in r.getMessage() for r in records)


def test_a_sync_after_a_rebuild_goes_on_in_the_new_generation(
    engine: Engine, tmp_path: Path, embedder: WordHashEmbedder
) -> None:
    root = tmp_path / "index"
    add_papers(engine, range(1, 4))
    opened = open_index(root, embedder)  # as a follower holds it
    sync_index(engine, opened, embedder)
    rebuilt = rebuild_index(engine, root, embedder)  # another process, the old folder removed
    add_papers(engine, range(4, 6))
    assert sync_index(engine, opened, embedder) == 2
    in_use = index_in_use(root)
    assert in_use and in_use[0] == opened.generation == rebuilt.generation
    assert in_step(engine, root, 5)
