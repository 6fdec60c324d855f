"""`paperroute backup` and `paperroute restore`: the database to a file and back."""

from __future__ import annotations

from pathlib import Path

import typer

from paperroute.cli.console import UserError, console, settings
from paperroute.store.backup import BackupError, backup_database, restore_database

__all__ = ["backup", "restore"]


def backup(target: Path = typer.Argument(..., help="The file to write (must not exist).")) -> None:
    """Copy the database to a file, consistently, while the site keeps running.

    SQLite: its online backup. PostgreSQL: pg_dump's custom format (needs the
    PostgreSQL client tools). The search index is derived: after a restore,
    `paperroute index rebuild` remakes it from the database.

    Example: [bold]paperroute backup backups/papers-2026-03-20.db[/]
    """
    try:
        backup_database(settings().db_url, target)
    except BackupError as exc:
        raise UserError(str(exc)) from exc
    console.print(f"Backed up to {target} ({target.stat().st_size / 1e6:,.1f} MB).")


def restore(
    source: Path = typer.Argument(..., help="A file written by `paperroute backup`."),
    yes: bool = typer.Option(False, "--yes", help="Replace the current database's contents."),
) -> None:
    """Replace the database with a backup (stop the site and workers first).

    Then `paperroute init` brings an older backup's schema up to date, and
    `paperroute index rebuild` remakes the search index.

    Example: [bold]paperroute restore backups/papers-2026-03-20.db --yes[/]
    """
    if not yes:
        raise UserError("restore replaces everything in the database: add --yes to go ahead")
    try:
        restore_database(settings().db_url, source)
    except BackupError as exc:
        raise UserError(str(exc)) from exc
    console.print(
        f"Restored from {source}. Next: `paperroute init`, then `paperroute index rebuild`."
    )
