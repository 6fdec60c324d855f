"""`paperroute runs`: what ingest runs did and what they rejected."""

from __future__ import annotations

import typer
from rich.table import Table

from paperroute.cli.console import UserError, console, open_store, print_run
from paperroute.store import runs as run_store

__all__ = ["app"]

app = typer.Typer(help="Show ingest runs and their rejected records.", no_args_is_help=True)


@app.command("list")
def list_(limit: int = typer.Option(20, min=1)) -> None:
    """The newest ingest runs.

    Example: [bold]paperroute runs list --limit 5[/]
    """
    with open_store() as engine, engine.connect() as conn:
        found = run_store.list_runs(conn, limit)
    table = Table(title="Ingest runs")
    for column in ("run", "source", "status", "started", "new", "updated", "unchanged", "rejected"):
        table.add_column(column)
    for r in found:
        c = r.counts
        table.add_row(str(r.id), r.source, r.status, f"{r.started_at:%Y-%m-%d %H:%M}",
                      f"{c.new:,}", f"{c.updated:,}", f"{c.unchanged:,}", f"{c.rejected:,}")  # fmt: skip
    console.print(table)


@app.command("show")
def show(run_id: int = typer.Argument(..., help="Run number from `paperroute runs list`.")) -> None:
    """One run's counts, error and each rejected record with its location and reason.

    Example: [bold]paperroute runs show 3[/]
    """
    with open_store() as engine, engine.connect() as conn:
        run = run_store.get_run(conn, run_id)
        rejects = run_store.list_rejects(conn, run_id)
    if run is None:
        raise UserError(f"no ingest run {run_id}; `paperroute runs list` shows the runs")
    print_run(run)
    if run.error:
        console.print(f"[red]error:[/] {run.error}")
    for reject in rejects:
        console.print(f"[yellow]{reject.location}[/]: {reject.reason}")
