"""`paperroute library`: a reader's reference-manager library brought in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

import typer
from sqlalchemy import Connection

from paperroute.cli.console import UserError, console, open_store, settings
from paperroute.ingest.library_import import LibraryImport, import_library
from paperroute.ingest.sources.library import LibraryFormatError, read_library_file
from paperroute.ingest.zotero_sync import pull_collection, push_collection
from paperroute.mailer import valid_email
from paperroute.store import collections as collection_store
from paperroute.store import users as user_store
from paperroute.store.users import User
from paperroute.zotero import ZoteroClient, ZoteroError

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
    _print_report(report)


def _print_report(report: LibraryImport) -> None:
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


@contextmanager
def _zotero(key: str) -> Generator[ZoteroClient]:
    """A client for the reader's key; Zotero's refusals become messages, not tracebacks."""
    try:
        client = ZoteroClient(key, base_url=settings().zotero_url)
    except ZoteroError as exc:
        raise UserError(str(exc)) from None
    try:
        yield client
    except ZoteroError as exc:
        raise UserError(str(exc)) from None
    finally:
        client.close()


def _reader(conn: Connection, user: str) -> User:
    address = valid_email(user)
    found = user_store.get_user_by_email(conn, address) if address else None
    if found is None:
        raise UserError(f"there is no user {user!r}: add one with `paperroute user add`")
    return found


KEY_HELP = "The reader's Zotero API key (zotero.org/settings/keys); or PAPERROUTE_ZOTERO_KEY."


@app.command("zotero-push")
def zotero_push(
    user: str = typer.Option(..., "--user", help="The reader's email address."),
    collection: str = typer.Option(..., help="The reader's collection to send."),
    to: str = typer.Option(
        "", help="The Zotero collection (made if missing); default: the same name."
    ),
    key: str = typer.Option(..., envvar="PAPERROUTE_ZOTERO_KEY", help=KEY_HELP),
) -> None:
    """Send a collection to Zotero; papers already in the Zotero collection are not sent again.

    Example: [bold]paperroute library zotero-push --user ada@example.org --collection "Reading list" --key ...[/]
    """
    with _zotero(key) as client, open_store() as engine, engine.connect() as conn:
        reader = _reader(conn, user)
        own = {c.name: c.id for c in collection_store.list_collections(conn, reader.id)}
        if collection not in own:
            raise UserError(f"{reader.email} has no collection {collection!r}")
        report = push_collection(conn, client, own[collection], to or collection)
    console.print(f'{report.sent:,} papers sent to Zotero "{report.zotero_collection}" '
                  f"({report.already_there:,} were there already)")  # fmt: skip


@app.command("zotero-pull")
def zotero_pull(
    user: str = typer.Option(..., "--user", help="The reader's email address."),
    from_: str = typer.Option(..., "--from", help="The Zotero collection to bring in."),
    into: str = typer.Option("", help="The collection here; default: the same name."),
    key: str = typer.Option(..., envvar="PAPERROUTE_ZOTERO_KEY", help=KEY_HELP),
) -> None:
    """Bring a Zotero collection in, as `library import` does with a file.

    Example: [bold]paperroute library zotero-pull --user ada@example.org --from "To read" --key ...[/]
    """
    with _zotero(key) as client, open_store() as engine, engine.begin() as conn:
        reader = _reader(conn, user)
        report = pull_collection(conn, client, reader.id, from_, dt.datetime.now(dt.UTC),
                                 into=into or from_)  # fmt: skip
    _print_report(report)
