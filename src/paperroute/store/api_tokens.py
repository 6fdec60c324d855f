"""API tokens: made with a lifetime, listed and revoked by their owner, checked per request."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Row, insert, or_, select, update

from paperroute.store.schema import api_tokens, as_utc, users
from paperroute.store.users import hash_token

__all__ = [
    "LAST_USED_RESOLUTION",
    "ApiToken",
    "TokenCheck",
    "check_api_token",
    "create_api_token",
    "list_api_tokens",
    "revoke_api_token",
]

# A token's last use is written at most this often: not one write per API request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str  # the token's hash: names it on the account page, useless as a token
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def state(self, now: dt.datetime) -> Literal["active", "expired", "revoked"]:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What a presented token is: a user's, or unknown, expired or revoked (and since when)."""

    user_id: int | None
    problem: Literal["unknown", "expired", "revoked"] | None = None
    since: dt.datetime | None = None


def _optional_utc(value: dt.datetime | None) -> dt.datetime | None:
    return as_utc(value) if value is not None else None


def _token(row: Row[Any]) -> ApiToken:
    return ApiToken(
        row.token_hash, row.name, as_utc(row.created_at), _optional_utc(row.expires_at),
        _optional_utc(row.last_used_at), _optional_utc(row.revoked_at),
    )  # fmt: skip


def create_api_token(
    conn: Connection,
    user_id: int,
    name: str,
    now: dt.datetime,
    *,
    lifetime: dt.timedelta | None = None,
) -> str:
    """A new token (only its hash is kept), valid for `lifetime` or, with None, until revoked."""
    token = "pr_" + secrets.token_urlsafe(32)
    expires = now + lifetime if lifetime is not None else None
    conn.execute(
        insert(api_tokens).values(
            token_hash=hash_token(token),
            user_id=user_id,
            name=name,
            created_at=now,
            expires_at=expires,
        )
    )
    return token


def list_api_tokens(conn: Connection, user_id: int) -> list[ApiToken]:
    """The user's tokens, newest first; revoked and expired ones too, marked so."""
    rows = conn.execute(
        select(api_tokens)
        .where(api_tokens.c.user_id == user_id)
        .order_by(api_tokens.c.created_at.desc(), api_tokens.c.token_hash)
    )
    return [_token(r) for r in rows]


def revoke_api_token(conn: Connection, user_id: int, token_id: str, now: dt.datetime) -> bool:
    """Revoke one of the user's tokens; False if it is not theirs or was revoked already."""
    done = conn.execute(
        update(api_tokens)
        .where(
            api_tokens.c.token_hash == token_id,
            api_tokens.c.user_id == user_id,
            api_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return done.rowcount == 1


def check_api_token(conn: Connection, token: str, now: dt.datetime) -> TokenCheck:
    """Whose token this is, or why it is refused; notes its use (at most once a minute)."""
    digest = hash_token(token)
    row = conn.execute(
        select(api_tokens).join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.token_hash == digest)
    ).first()  # fmt: skip
    if row is None:
        return TokenCheck(None, "unknown")
    found = _token(row)
    state = found.state(now)
    if state != "active":
        return TokenCheck(None, state, found.revoked_at or found.expires_at)
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_RESOLUTION:
        # Conditional: of many requests in the same minute, one writes.
        stale = now - LAST_USED_RESOLUTION
        conn.execute(
            update(api_tokens)
            .where(
                api_tokens.c.token_hash == digest,
                or_(api_tokens.c.last_used_at.is_(None), api_tokens.c.last_used_at <= stale),
            )
            .values(last_used_at=now)
        )
    return TokenCheck(int(row.user_id))
