"""Backups of the database: SQLite's online backup, PostgreSQL's pg_dump custom format.

The search index is not backed up: it is derived, and the vectors it is built
from are in the database, so `paperroute index rebuild` remakes it in minutes.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

__all__ = ["BackupError", "backup_database", "restore_database"]

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    return Path(parsed.database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL as pg_dump and pg_restore read it, without its password, which goes in
    their environment (a command line is visible to every user of the machine)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    bare = parsed.set(drivername="postgresql", password=None)
    return bare.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed: install the PostgreSQL client tools "
                          "(Debian: apt-get install postgresql-client)")  # fmt: skip
    return found


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if done.returncode:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(
            f"{Path(argv[0]).name} failed: {message[-1] if message else done.returncode}"
        )


def backup_database(url: str, target: Path) -> None:
    """Write a consistent copy of the database to `target`, while the site keeps running."""
    if target.exists():
        raise BackupError(f"{target} exists: choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    path = _sqlite_path(url)
    if path is None:
        address, env = _libpq(url)
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}", address],
             env)  # fmt: skip
        return
    if not path.exists():
        raise BackupError(f"there is no database at {path}: nothing to back up")
    source, copy = sqlite3.connect(path), sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)  # page by page, consistent even while others write
    finally:
        source.close()
        copy.close()


def restore_database(url: str, source: Path) -> None:
    """Replace the database's contents with a backup made by backup_database."""
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    head = source.read_bytes()[:16]
    path = _sqlite_path(url)
    if path is None:
        if not head.startswith(PG_DUMP_MAGIC):
            raise BackupError(f"{source} is not a PostgreSQL backup (pg_dump --format=custom)")
        tool, (address, env) = _tool("pg_restore"), _libpq(url)
        # An empty schema first: a backup from an older version must not land beside
        # tables it does not know (then `paperroute init` upgrades it as usual).
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        finally:
            engine.dispose()
        _run([tool, "--no-owner", "--single-transaction", "--exit-on-error",
              f"--dbname={address}", str(source)], env)  # fmt: skip
        return
    if not head.startswith(SQLITE_MAGIC):
        raise BackupError(f"{source} is not a SQLite backup")
    path.parent.mkdir(parents=True, exist_ok=True)
    backup, live = sqlite3.connect(source), sqlite3.connect(path)
    try:
        with live:
            backup.backup(live)
    finally:
        backup.close()
        live.close()
