"""The tables. The database is the truth; everything else is derived from it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
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
    UniqueConstraint,
)

__all__ = [
    "api_tokens",
    "as_utc",
    "collection_papers",
    "collections",
    "digest_outbox",
    "dismissals",
    "feed_tokens",
    "ingest_rejects",
    "ingest_runs",
    "job_leases",
    "login_tokens",
    "metadata",
    "paper_categories",
    "paper_embeddings",
    "paper_sources",
    "paper_versions",
    "paper_views",
    "papers",
    "rate_limits",
    "reader_interests",
    "sessions",
    "site_secrets",
    "submissions",
    "subscribers",
    "users",
    "votes",
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
    # What Hugging Face's daily list says of a paper, kept as it said it; null when it did not.
    Column("ai_summary", Text),
    Column("ai_keywords", Text),  # JSON list
    Column("organization", Text),  # JSON object: the Hub organization it is listed under
    Column("latest_version", Integer),
    Column("content_hash", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Moves whenever the paper changes: derived indexes sync from it.
    Column("changed_at", DateTime(timezone=True), nullable=False, index=True),
    # Set by an admin: a hidden paper is left out of every listing, search and feed.
    Column("hidden_at", DateTime(timezone=True)),
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


# Secrets every node must share (the key that signs cookies and CSRF tokens):
# made once, in the database, so several web machines agree without config.
site_secrets = Table(
    "site_secrets",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", String(128), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # lower-cased
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Papers stored after `seen_before` are "new" to the user; it moves to the
    # start of their previous visit when a visit begins (see users.mark_visit).
    Column("seen_before", DateTime(timezone=True)),
    Column("last_visit", DateTime(timezone=True)),
    # The network the account was made from (an IPv4 /24 or IPv6 /64), and that
    # network with the hour it was made in, as keyed hashes, never the address.
    # Trending counts the accounts of one signup_group as one reader: one inbox
    # with plus-tags makes many accounts, not many votes. None for accounts made
    # on the command line or before it was recorded.
    Column("signup_network", String(32)),
    Column("signup_group", String(32)),
)

# Magic sign-in links. Only the SHA-256 of the token is stored: a leaked
# database does not let anyone sign in.
login_tokens = Table(
    "login_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("email", String(254), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("next_path", Text),
    # The browser that asked (a hash of its sign-in cookie): the link works only
    # there, and the short code from the mail finishes sign-in there from another
    # device. A few wrong codes revoke the link.
    Column("browser_hash", String(64), index=True),
    Column("code_hash", String(64)),
    Column("failed_codes", Integer, nullable=False, server_default="0"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("name", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),  # None: never
    Column("last_used_at", DateTime(timezone=True)),  # to the minute: no write per request
    Column("revoked_at", DateTime(timezone=True)),  # kept, so its 401 can say it was revoked
)

# Private feed addresses: `/feeds/private/<token>.atom` serves one reader's for-you,
# follows or private collection to any feed reader. Only the token's hash is kept;
# deleting the row revokes the address (it answers 404 from then on).
feed_tokens = Table(
    "feed_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("kind", String(16), nullable=False),  # for-you | following | collection
    Column("collection_id", Integer, ForeignKey("collections.id", ondelete="CASCADE")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
)

votes = Table(
    "votes",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_votes_paper_id", "paper_id"),
)

# "Not interested": the user's negatives, hidden from their lists and used by
# the recommender.
dismissals = Table(
    "dismissals",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

collections = Table(
    "collections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("name", String(200), nullable=False),
    Column("is_public", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

collection_papers = Table(
    "collection_papers",
    metadata,
    Column(
        "collection_id",
        Integer,
        ForeignKey("collections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Index("ix_collection_papers_paper_id", "paper_id"),
)

# Who asked the site to fetch a paper (shown as the paper's submitter).
submissions = Table(
    "submissions",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
)

# Fixed-window counters for rate limits, shared by every web process.
# Who looked at a paper's page, once per visitor and day: the trending score's
# "views". The visitor is a keyed hash (user id, or address: an IPv6 /64), never
# the address itself.
paper_views = Table(
    "paper_views",
    metadata,
    Column("paper_id", Integer, ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("visitor", String(32), primary_key=True),
    Index("ix_paper_views_day", "day"),
)

# What a reader told the site they care about, for recommendations before
# they have voted or saved anything: categories, papers here (by key), and
# papers from elsewhere (title, abstract and authors as JSON, from a pasted BibTeX).
reader_interests = Table(
    "reader_interests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("kind", String(16), nullable=False),  # category | paper | text
    Column("value", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Which worker runs a scheduled job, until when (renewed while it runs), and
# the firing it runs: with several workers each firing runs once, and a dead
# worker's job is taken by another once its lease has expired.
job_leases = Table(
    "job_leases",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("holder", String(200), nullable=True),  # None: not running
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("firing", DateTime(timezone=True), nullable=False),
)

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("hits", Integer, nullable=False),
)

# Digest subscribers: an email address and what it wants. Nothing but the
# confirmation mail goes out until `confirmed_at` is set (double opt-in).
subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # lower-cased
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"), index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("unsubscribed_at", DateTime(timezone=True)),
    Column("frequency", String(8), nullable=False, default="daily"),  # daily or weekly
    Column("weekday", Integer, nullable=False, default=0),  # weekly: 0 = Monday
    Column("send_hour", Integer, nullable=False, default=7),  # local hour of day
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("categories", Text, nullable=False, default="[]"),  # JSON list
    Column("searches", Text, nullable=False, default="[]"),  # JSON list of queries
    Column("include_trending", Boolean, nullable=False, default=True),
    Column("include_recommendations", Boolean, nullable=False, default=True),
    Column("max_papers", Integer, nullable=False, default=20),
    # Papers stored after this moment are new to the subscriber's next digest.
    Column("papers_after", DateTime(timezone=True)),
)

# The outbox: one row per (subscriber, period), written before anything is
# sent. The message is stored whole, so a retry sends the very same mail
# (same Message-ID) and a crash never makes a second, different one.
digest_outbox = Table(
    "digest_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "subscriber_id",
        Integer,
        ForeignKey("subscribers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("period", String(16), nullable=False),  # 2026-03-20 or 2026-W12
    Column("status", String(12), nullable=False),  # pending, sending, sent, failed, skipped
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("papers_until", DateTime(timezone=True), nullable=False),
    Column("paper_ids", Text, nullable=False, default="[]"),  # JSON list, in mail order
    Column("message_id", String(200)),
    Column("message", LargeBinary),  # the whole RFC 5322 message
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("claimed_until", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    Column("error", Text),
    UniqueConstraint("subscriber_id", "period"),
    Index("ix_digest_outbox_status_next", "status", "next_attempt_at"),
)
