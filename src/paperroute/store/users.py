"""Accounts: users, sessions, API tokens, the site's signing secret (sign-in links: sign_ins)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from paperroute.store.inserts import insert_or_ignore
from paperroute.store.schema import (
    api_tokens,
    as_utc,
    sessions,
    site_secrets,
    users,
)

__all__ = [
    "User",
    "add_user",
    "count_users",
    "create_api_token",
    "create_session",
    "delete_session",
    "get_user",
    "get_user_by_email",
    "hash_token",
    "list_users",
    "mark_visit",
    "set_signup_network",
    "signing_secret",
    "user_for_api_token",
    "user_for_session",
]


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    is_admin: bool
    created_at: dt.datetime
    seen_before: dt.datetime | None
    last_visit: dt.datetime | None = None


def hash_token(token: str) -> str:
    """What is stored for a token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: Row[Any]) -> User:
    seen = as_utc(row.seen_before) if row.seen_before else None
    last = as_utc(row.last_visit) if row.last_visit else None
    return User(row.id, row.email, bool(row.is_admin), as_utc(row.created_at), seen, last)


def signing_secret(conn: Connection) -> str:
    """The key that signs cookies and forms; made on first use, the same on every node."""
    stored = conn.execute(select(site_secrets.c.value).where(site_secrets.c.name == "signing"))
    value = stored.scalar_one_or_none()
    if value is not None:
        return value
    # Another process may make it at the same moment: then theirs is used.
    insert_or_ignore(conn, site_secrets, {"name": "signing", "value": secrets.token_urlsafe(48)})
    stored = conn.execute(select(site_secrets.c.value).where(site_secrets.c.name == "signing"))
    return stored.scalar_one()


def get_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def get_user_by_email(conn: Connection, email: str) -> User | None:
    row = conn.execute(select(users).where(users.c.email == email.lower())).first()
    return _user(row) if row else None


def add_user(conn: Connection, email: str, now: dt.datetime, *, is_admin: bool = False) -> User:
    """The user with this email, created if new; `is_admin` only ever grants."""
    email = email.lower()
    existing = get_user_by_email(conn, email)
    if existing is None:
        # Created at the same moment by another request: then that one is used.
        row = {"email": email, "is_admin": is_admin, "created_at": now, "seen_before": now}
        insert_or_ignore(conn, users, row)
    if is_admin:
        conn.execute(update(users).where(users.c.email == email).values(is_admin=True))
    user = get_user_by_email(conn, email)
    assert user is not None
    return user


def set_signup_network(conn: Connection, user_id: int, network: str, group: str) -> None:
    """Where a new account was made from (keyed hashes); set once, never overwritten."""
    conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.signup_network.is_(None))
        .values(signup_network=network, signup_group=group)
    )


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.id))]


def mark_visit(conn: Connection, user: User, now: dt.datetime, *, gap: dt.timedelta) -> User:
    """Start a new visit after `gap` of quiet: what arrived before the last one is no longer new."""
    values: dict[str, Any] = {"last_visit": now}
    if user.last_visit is not None and now - user.last_visit >= gap:
        values["seen_before"] = user.last_visit
    conn.execute(update(users).where(users.c.id == user.id).values(**values))
    refreshed = get_user(conn, user.id)
    assert refreshed is not None
    return refreshed


def create_session(conn: Connection, user_id: int, now: dt.datetime, ttl: dt.timedelta) -> str:
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(sessions).values(
            token_hash=hash_token(token), user_id=user_id, created_at=now, expires_at=now + ttl
        )
    )
    return token


def user_for_session(conn: Connection, token: str, now: dt.datetime) -> User | None:
    row = conn.execute(
        select(users)
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(sessions.c.token_hash == hash_token(token), sessions.c.expires_at > now)
    ).first()
    return _user(row) if row else None


def delete_session(conn: Connection, token: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.token_hash == hash_token(token)))


def create_api_token(conn: Connection, user_id: int, name: str, now: dt.datetime) -> str:
    token = "pr_" + secrets.token_urlsafe(32)
    conn.execute(
        insert(api_tokens).values(
            token_hash=hash_token(token), user_id=user_id, name=name, created_at=now
        )
    )
    return token


def user_for_api_token(conn: Connection, token: str) -> User | None:
    row = conn.execute(
        select(users)
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(api_tokens.c.token_hash == hash_token(token))
    ).first()
    return _user(row) if row else None


def count_users(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(users)).scalar_one()
