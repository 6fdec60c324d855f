"""The tables. The database is the truth; everything else is derived from it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "as_utc",
    "ingest_rejects",
    "ingest_runs",
    "metadata",
    "paper_categories",
    "paper_embeddings",
    "paper_sources",
    "paper_versions",
    "papers",
]


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A stored moment, zone-aware: SQLite hands them back without the UTC they had."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

papers = Table(
    "papers",
    metadata,
    Column("id", Integer, primary_key=True),
    # The public key: the arXiv id, or "pr-<hash of title>" for papers without one.
    # It never changes, even when a paper without an id is later matched to arXiv.
    Column("key", String(64), nullable=False, unique=True),
    Column("arxiv_id", String(64), unique=True),
    Column("title_hash", String(32), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False),
    Column("authors", Text, nullable=False),  # JSON list, in the paper's order
    Column("categories", Text, nullable=False),  # JSON list, primary first
    Column("primary_category", String(64), index=True),
    Column("submitted", Date),
    Column("updated", Date),
    Column("announced", Date, index=True),
    Column("comment", Text),
    Column("journal_ref", Text),
    Column("doi", Text),
    Column("code_url", Text),
    Column("project_url", Text),
    Column("upvotes", Integer),
    Column("github_stars", Integer),
    Column("latest_version", Integer),
    Column("content_hash", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Moves whenever the paper changes: derived indexes sync from it.
    Column("changed_at", DateTime(timezone=True), nullable=False, index=True),
)

paper_versions = Table(
    "paper_versions",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("date", Date),
)

paper_categories = Table(
    "paper_categories",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(64), primary_key=True),
    Index("ix_paper_categories_category_paper", "category", "paper_id"),
)

# Which sources described a paper, and a hash of the last record each sent:
# an unchanged record is recognised without loading the paper.
paper_sources = Table(
    "paper_sources",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("record_hash", String(32), nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_changed", DateTime(timezone=True), nullable=False),
)

ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(32), nullable=False),
    # What was asked of the source (a set, a query, a file): runs resume only
    # from a run with the same scope.
    Column("scope", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("new", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("watermark", Text),
    Column("error", Text),
    Index("ix_ingest_runs_source_scope", "source", "scope", "id"),
)

ingest_rejects = Table(
    "ingest_rejects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "run_id",
        Integer,
        ForeignKey("ingest_runs.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("location", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

# Embeddings are derived, but costly (about 20 papers/s on two cores): kept in
# the database so a rebuild, or a new node, never computes them again.
paper_embeddings = Table(
    "paper_embeddings",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("text_hash", String(32), nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32, little-endian
)
