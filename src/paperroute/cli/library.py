"""`paperroute library`: a reader's reference-manager library brought in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from paperroute.cli.console import UserError, console, open_store
from paperroute.ingest.library_import import import_library
from paperroute.ingest.sources.library import LibraryFormatError, read_library_file
from paperroute.mailer import valid_email
from paperroute.store import users as user_store

__all__ = ["app"]

app = typer.Typer(help="Bring in a library from Zotero, Mendeley, JabRef...", no_args_is_help=True)


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="A BibTeX, RIS or CSL-JSON file.", dir_okay=False),
    user: str = typer.Option(..., "--user", help="The reader's email address."),
    collection: str = typer.Option("Imported library", help="The collection to file papers in."),
) -> None:
    """Import a library: papers found here go into a collection, the rest become interests.

    Entries are matched by arXiv id, then DOI, then title; those not found are listed.

    Example: [bold]paperroute library import My-Library.bib --user ada@example.org[/]
    """
    address = valid_email(user)
    if address is None:
        raise UserError(f"{user!r} is not an email address (e.g. ada@example.org)")
    try:
        items = read_library_file(path)
    except LibraryFormatError as exc:
        raise UserError(str(exc)) from None
    name = " ".join(collection.split())[:200] or "Imported library"
    with open_store() as engine, engine.begin() as conn:
        reader = user_store.get_user_by_email(conn, address)
        if reader is None:
            raise UserError(f"there is no user {address}: add one with `paperroute user add`")
        report = import_library(conn, reader.id, items, dt.datetime.now(dt.UTC),
                                collection_name=name)  # fmt: skip
    console.print(
        f"{report.entries:,} entries: {report.matched:,} found here ({report.added:,} new in "
        f'"{report.collection_name}"), {len(report.unmatched):,} not here '
        f"({report.kept:,} of them new interests)"
        + (f", {len(report.rejected):,} unreadable" if report.rejected else "")
    )
    for entry in report.unmatched:  # every one: the reader may want to submit them
        console.print(f"  not here: {entry.title}", markup=False, highlight=False)
    for rejected in report.rejected:
        console.print(f"  unreadable: {rejected.location}: {rejected.reason}", markup=False)
