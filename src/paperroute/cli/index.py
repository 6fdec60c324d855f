"""`paperroute index`: keep the search index in step with the database."""

from __future__ import annotations

import datetime as dt
import signal
import socket
import threading
from types import FrameType

import typer
from rich.progress import Progress

from paperroute.cli.console import console, open_store, progress_bar, settings
from paperroute.config import Settings
from paperroute.index.embed import Embedder, load_embedder
from paperroute.index.sync import (
    FOLLOW_EVERY,
    SYNC_BATCH,
    SyncProgress,
    check_index,
    follow_index,
    last_sync,
    open_index,
    rebuild_index,
    sync_index,
)
from paperroute.logs import configure_logging
from paperroute.store.papers import count_changed_since

__all__ = ["app"]

app = typer.Typer(help="Build, update and check the search index.", no_args_is_help=True)


def _reporter(progress: Progress, label: str) -> SyncProgress:
    task = progress.add_task(label, total=None)

    def report(done: int, left: int) -> None:
        progress.update(task, completed=done, total=done + left)

    return report


@app.command("sync")
def sync(
    batch: int = typer.Option(SYNC_BATCH, min=1, help="Papers per step; each step is saved."),
    follow: bool = typer.Option(
        False, "--follow", help="Keep going: sync again and again until stopped (SIGTERM, Ctrl-C)."
    ),
    every: float = typer.Option(
        FOLLOW_EVERY, min=0.1, metavar="SECONDS", help="With --follow: the pause between syncs."
    ),
) -> None:
    """Index papers added or changed since the last sync (resumes after an interruption).

    With --follow, this node's index follows the database: a paper stored on
    any node is searchable here within seconds. Run it as a service on every
    node that serves search; failed syncs (the database away) are logged and
    tried again.

    Example: [bold]paperroute index sync --follow[/]
    """
    current = settings()
    embedder = load_embedder(current.embedder)
    if follow:
        _follow(current, embedder, batch, every)
        return
    with open_store(current) as engine, progress_bar() as progress:
        index = open_index(current.index_root, embedder)
        report = _reporter(progress, "indexing")
        done = sync_index(engine, index, embedder, progress=report, batch_size=batch)
    console.print(f"Index up to date: {done:,} papers taken in, {len(index.catalog):,} indexed.")


def _follow(current: Settings, embedder: Embedder, batch: int, every: float) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():  # asked twice: stop now, mid-step (the index survives that)
            raise KeyboardInterrupt
        stop.set()  # finish the step under way, then stop

    before = {
        signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    configure_logging(current.log_format, current.log_level)
    console.print(f"Following the database into {current.index_root}, every {every:g} s; "
                  "Ctrl-C stops.")  # fmt: skip
    try:
        with open_store(current, check=False) as engine:  # the schema is checked in the loop
            follow_index(engine, current.index_root, embedder, stop=stop, every=every,
                         batch_size=batch)  # fmt: skip
    except KeyboardInterrupt:
        console.print("Stopped mid-step; the next sync redoes that step.")
        return
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
    console.print("Stopped.")


@app.command("rebuild")
def rebuild() -> None:
    """Build a fresh index beside the one in use and switch to it when it is complete.

    Stored embeddings are reused, so a rebuild computes vectors only for new text.

    Example: [bold]paperroute index rebuild[/]
    """
    current = settings()
    embedder = load_embedder(current.embedder)
    with open_store(current) as engine, progress_bar() as progress:
        index = rebuild_index(
            engine, current.index_root, embedder, progress=_reporter(progress, "rebuilding")
        )
    console.print(f"Rebuilt: {len(index.catalog):,} papers in {index.generation}.")


@app.command("check")
def check() -> None:
    """Compare this node's index with the database, paper by paper; exit 1 on any difference.

    Also shows the node's lag: when it last synced, how far the index has come,
    and how many papers changed in the database since. Each node keeps its own
    index: run it on each node.

    Example: [bold]paperroute index check[/]
    """
    current = settings()
    embedder = load_embedder(current.embedder)
    with open_store(current) as engine:
        index = open_index(current.index_root, embedder, create=False)
        report = check_index(engine, index)
        with engine.connect() as conn:
            behind = count_changed_since(conn, index.watermark)
    now = dt.datetime.now(dt.UTC)
    reached = index.watermark[0] if index.watermark else None
    console.print(f"{report.papers:,} papers in the database, {report.indexed:,} in the index.")
    console.print(f"This node ({socket.gethostname()}), {current.index_root}:\n"
                  f"  last sync: {_moment(last_sync(current.index_root), now)}\n"
                  f"  changes taken in up to: {_moment(reached, now)}\n"
                  f"  {behind:,} papers changed in the database since (its lag).")  # fmt: skip
    for label, ids in (("missing from the index", report.missing), ("stale in the index", report.stale),
                       ("in the index only", report.extra), ("not in every part", report.unaligned)):  # fmt: skip
        if ids:
            shown = ", ".join(str(i) for i in ids[:10]) + (" ..." if len(ids) > 10 else "")
            console.print(f"[yellow]{len(ids):,} {label}[/]: {shown}")
    if not report.clean:
        console.print("Run `paperroute index sync` (or `paperroute index rebuild`) to fix it.")
        raise typer.Exit(1)
    console.print("[green]The index matches the database.[/]")


def _moment(moment: dt.datetime | None, now: dt.datetime) -> str:
    """A time and how long ago it was, e.g. "2026-03-20 10:00:02 UTC (3 s ago)"."""
    if moment is None:
        return "never"
    seconds = max(0, round((now - moment).total_seconds()))
    ago = next(f"{seconds // size:,} {unit} ago" for size, unit in
               ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")) if seconds >= size or size == 1)  # fmt: skip
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC ({ago})"
