"""INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_many_or_ignore", "insert_or_ignore"]


def _insert(conn: Connection, table: Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def insert_or_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same key exists; True if this call inserted it.

    One statement, no savepoint: two requests racing for the same key both
    succeed, and neither error nor rollback touches the rest of the transaction.
    """
    # A row back means this call inserted it.
    statement = _insert(conn, table).values(**values).returning(*table.primary_key.columns)
    return conn.execute(statement).first() is not None


def insert_many_or_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, leaving out those whose key exists already: one statement, many rows."""
    if rows:
        conn.execute(_insert(conn, table), list(rows))
