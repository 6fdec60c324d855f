"""INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_or_ignore"]


def insert_or_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same key exists; True if this call inserted it.

    One statement, no savepoint: two requests racing for the same key both
    succeed, and neither error nor rollback touches the rest of the transaction.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(*table.primary_key.columns)  # a row back means this call inserted it
    )
    return conn.execute(statement).first() is not None
