"""The root command and the commands that are not about one aggregate."""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

import typer
from alembic.util.exc import CommandError
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import OperationalError

from paperroute.cli import backup, digest, doctor, index, ingest, library, papers, rank, runs, users
from paperroute.cli import mcp as mcp_cli
from paperroute.cli import search as search_cli
from paperroute.cli import worker as worker_cli
from paperroute.cli.console import (
    UserError,
    console,
    errors,
    ingest_with_progress,
    open_store,
    settings,
)
from paperroute.index.embed import embedding_text, load_embedder, text_hash
from paperroute.index.sync import open_index, sync_index
from paperroute.ingest.http import FetchError
from paperroute.ingest.normalize import RecordError
from paperroute.ingest.sources.jsonl import read_json_file
from paperroute.ingest.sources.listing import read_listing_file
from paperroute.ingest.xml import XmlError
from paperroute.store import embeddings as embedding_store
from paperroute.store import stats as stats_store
from paperroute.store.db import SchemaError, upgrade_schema

__all__ = ["app", "describe_error", "main"]

app = typer.Typer(
    help="paperroute: self-hosted research-paper discovery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(ingest.app, name="ingest")
app.add_typer(papers.app, name="papers")
app.add_typer(runs.app, name="runs")
app.add_typer(index.app, name="index")
app.add_typer(users.app, name="user")
app.add_typer(digest.app, name="digest")
app.add_typer(library.app, name="library")
app.command("worker")(worker_cli.worker)
app.add_typer(search_cli.eval_app, name="eval")
app.command("search")(search_cli.search)
app.command("similar")(search_cli.similar)
app.command("trending")(rank.trending)
app.command("doctor")(doctor.doctor)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.command("mcp")(mcp_cli.mcp)


@app.command()
def init() -> None:
    """Create the database (or upgrade its schema) in the data directory.

    Example: [bold]PAPERROUTE_HOME=~/papers paperroute init[/]
    """
    with open_store(check=False) as engine:
        upgrade_schema(engine)
        console.print(f"Database ready: {engine.url.render_as_string(hide_password=True)}")


@app.command()
def stats() -> None:
    """Count papers, categories, days and ingest runs.

    Example: [bold]paperroute stats[/]
    """
    with open_store() as engine, engine.connect() as conn:
        summary = stats_store.summarize(conn)
    from rich.table import Table

    table = Table(title="paperroute", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for name, value in summary.items():
        table.add_row(name, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Worker processes: about one per core."),
) -> None:
    """Serve the site and API (refuses a database whose schema is out of date).

    Example: [bold]paperroute serve --port 8000 --workers 2[/]
    """
    with open_store():  # checks the schema before any worker starts
        pass
    from paperroute.web.serve import APP, PortInUse, serve_workers

    address = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    # The workers read their settings from the environment: this tells them where
    # they listen, which on a loopback address is where links in mail may point.
    os.environ["PAPERROUTE_LISTEN_URL"] = address
    console.print(f"Serving on {address}")
    if workers > 1:
        try:
            serve_workers(host, port, workers)
        except PortInUse as exc:
            raise UserError(f"{exc}; choose another with --port") from exc
        return
    import uvicorn

    uvicorn.run(APP, factory=True, host=host, port=port, log_level="warning")


@app.command()
def demo(
    port: int = typer.Option(8000, help="Port to serve on."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Load the sample only."),
) -> None:
    """Load the bundled sample papers (real arXiv papers and a listing page) and serve them.

    Example: [bold]paperroute demo --port 8000[/]
    """
    # The sample ships with its papers' vectors: indexing takes seconds, not minutes.
    current = settings()
    embedder = load_embedder(current.embedder)
    sample = resources.files("paperroute") / "sample"
    with open_store(current, check=False) as engine:
        upgrade_schema(engine)
        with resources.as_file(sample / "papers.jsonl.gz") as path:
            ingest_with_progress(engine, "file", "sample:papers", read_json_file(Path(path)))
        with resources.as_file(sample / "trending-listing.txt") as path:
            ingest_with_progress(engine, "listing", "sample:listing", read_listing_file(Path(path)))
        with resources.as_file(sample / "embeddings.npz") as path:
            shipped = embedding_store.read_embeddings_file(Path(path))
        reused = 0
        if shipped.model == embedder.name:  # another configured model embeds every paper itself
            with engine.begin() as conn:
                reused = embedding_store.import_embeddings(
                    conn,
                    shipped,
                    lambda title, abstract: text_hash(embedding_text(title, abstract)),
                )
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn())  # fmt: skip
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("indexing", total=None)
            searchable = open_index(current.index_root, embedder)
            sync_index(
                engine, searchable, embedder,
                progress=lambda done, left: progress.update(task, completed=done, total=done + left),
            )  # fmt: skip
        with engine.connect() as conn:
            total = stats_store.summarize(conn)["papers"]
    console.print(f"Sample loaded: {total:,} papers, {len(searchable.catalog):,} indexed "
                  f"({reused:,} with the sample's precomputed vectors).")  # fmt: skip
    if not no_serve:
        serve(host="127.0.0.1", port=port, workers=1)


def describe_error(exc: BaseException) -> str | None:
    """The one line to show for an error the user can act on; None for a real bug."""
    from paperroute.index.embed import EmbedError
    from paperroute.index.sync import IndexMissing
    from paperroute.ingest.sources.errors import SourceError

    user_errors = (UserError, SchemaError, FetchError, RecordError, XmlError, SourceError,
                   IndexMissing, EmbedError)  # fmt: skip
    if isinstance(exc, user_errors):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename}: no such file"
    if isinstance(exc, OperationalError):
        return f"cannot use the database: {exc.orig}"
    if isinstance(exc, CommandError):
        return f"schema migration failed: {exc}"
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        problems = "; ".join(
            f"PAPERROUTE_{str(e['loc'][0]).upper()}"
            f"{''.join(f'[{p}]' for p in e['loc'][1:])}: {e['msg']}"
            for e in exc.errors()
        )
        return f"bad setting: {problems}"
    return None


def main() -> None:
    """Entry point: user mistakes and unreachable services end in one clear line."""
    try:
        app()
    except Exception as exc:
        message = describe_error(exc)
        if message is None:
            raise
        errors.print(f"[red]error:[/] {message}", highlight=False)
        sys.exit(1)
