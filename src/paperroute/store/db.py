"""Engines and schema versions for SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

__all__ = [
    "SchemaError",
    "check_schema",
    "current_revision",
    "head_revision",
    "make_engine",
    "upgrade_schema",
]

_MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaError(RuntimeError):
    """The database schema is not the one this version of paperroute needs."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (web) and a writer (ingest) work at once; the busy
    # timeout makes a second writer wait instead of failing with "locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for a database URL; creates the SQLite file's folder if needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    script = ScriptDirectory(str(_MIGRATIONS))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest version (creates it in an empty database)."""
    command.upgrade(_alembic_config(engine), "head")


def check_schema(engine: Engine) -> None:
    """Raise SchemaError, naming the command that fixes it, unless the schema is current."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaError(
            f"the database {engine.url.render_as_string(hide_password=True)} has no paperroute "
            "schema yet; run `paperroute init` to create it"
        )
    raise SchemaError(
        f"the database schema is at revision {current}, this version needs {head}; "
        "run `paperroute init` to upgrade it (back up the database first)"
    )
