"""`paperroute index`: keep the search index in step with the database."""

from __future__ import annotations

import socket

import typer
from rich.progress import Progress

from paperroute.cli.console import console, open_store, progress_bar, settings
from paperroute.index.embed import load_embedder
from paperroute.index.sync import (
    SYNC_BATCH,
    SyncProgress,
    check_index,
    open_index,
    rebuild_index,
    sync_index,
)
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
) -> None:
    """Index papers added or changed since the last sync (resumes after an interruption).

    Example: [bold]paperroute index sync[/]
    """
    current = settings()
    embedder = load_embedder(current.embedder)
    with open_store(current) as engine, progress_bar() as progress:
        index = open_index(current.index_root, embedder)
        report = _reporter(progress, "indexing")
        done = sync_index(engine, index, embedder, progress=report, batch_size=batch)
    console.print(f"Index up to date: {done:,} papers taken in, {len(index.catalog):,} indexed.")


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

    Also shows the node's lag: when it last synced and how many papers changed since.

    Example: [bold]paperroute index check[/]
    """
    current = settings()
    embedder = load_embedder(current.embedder)
    with open_store(current) as engine:
        index = open_index(current.index_root, embedder, create=False)
        report = check_index(engine, index)
        with engine.connect() as conn:
            behind = count_changed_since(conn, index.watermark)
    console.print(f"{report.papers:,} papers in the database, {report.indexed:,} in the index.")
    synced = f"{index.watermark[0]:%Y-%m-%d %H:%M:%S} UTC" if index.watermark else "never"
    console.print(f"This node ({socket.gethostname()}): last synced {synced}; {behind:,} papers "
                  "changed in the database since (its lag).")  # fmt: skip
    for label, ids in (("missing from the index", report.missing), ("stale in the index", report.stale),
                       ("in the index only", report.extra), ("not in every part", report.unaligned)):  # fmt: skip
        if ids:
            shown = ", ".join(str(i) for i in ids[:10]) + (" ..." if len(ids) > 10 else "")
            console.print(f"[yellow]{len(ids):,} {label}[/]: {shown}")
    if not report.clean:
        console.print("Run `paperroute index sync` (or `paperroute index rebuild`) to fix it.")
        raise typer.Exit(1)
    console.print("[green]The index matches the database.[/]")
