"""What the commands share: the console, settings, errors without tracebacks, progress."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy import Engine

from paperroute.config import Settings
from paperroute.domain import IngestRun, RunCounts, SourceItem
from paperroute.ingest.pipeline import run_ingest
from paperroute.store.db import check_schema, make_engine

__all__ = ["UserError", "console", "ingest_with_progress", "open_store", "settings"]

console = Console()
errors = Console(stderr=True)


class UserError(Exception):
    """A mistake the user can fix; shown as one line, without a traceback."""


def settings() -> Settings:
    return Settings()


@contextmanager
def open_store(current: Settings | None = None, *, check: bool = True) -> Generator[Engine]:
    """The configured database, checked to have the current schema; closed afterwards."""
    engine = make_engine((current or settings()).db_url)
    try:
        if check:
            check_schema(engine)
        yield engine
    finally:
        engine.dispose()


def progress_bar(*, disable: bool = False) -> Progress:
    """A bar with done/total and time left, gone once finished (`disable`: shows nothing)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=True,
                    disable=disable)  # fmt: skip


def _describe(counts: RunCounts) -> str:
    return (
        f"[green]{counts.new:,} new[/] · {counts.updated:,} updated · "
        f"{counts.unchanged:,} unchanged · [red]{counts.rejected:,} rejected[/]"
    )


def ingest_with_progress(
    engine: Engine, source: str, scope: str, items: Iterable[SourceItem]
) -> IngestRun:
    """Run an ingest with a live count, then print a summary table and the rejects."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{source}: starting")

        def show(counts: RunCounts) -> None:
            progress.update(task, description=f"{source}: {_describe(counts)}")

        run = run_ingest(engine, source, scope, items, progress=show)
    print_run(run)
    return run


def print_run(run: IngestRun) -> None:
    table = Table(title=f"Ingest run {run.id}: {run.source} ({run.status})")
    for name in ("new", "updated", "unchanged", "rejected"):
        table.add_column(name, justify="right")
    c = run.counts
    table.add_row(f"{c.new:,}", f"{c.updated:,}", f"{c.unchanged:,}", f"{c.rejected:,}")
    console.print(table)
    if c.rejected:
        console.print(
            f"[yellow]{c.rejected:,} records were skipped; "
            f"`paperroute runs show {run.id}` lists each with its reason.[/]"
        )


def fail(message: str) -> typer.Exit:
    errors.print(f"[red]error:[/] {message}")
    return typer.Exit(1)
