"""Magic sign-in links: one per request, bound to the browser that asked for it.

A link works only in the browser whose sign-in cookie is stored (hashed) with it;
on another device the reader types the link's short code into that browser
instead. Using either spends every other outstanding link of the address.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from paperroute.store.schema import login_tokens
from paperroute.store.users import hash_token

__all__ = [
    "CODE_ALPHABET",
    "MAX_FAILED_CODES",
    "NewSignIn",
    "SignInError",
    "create_sign_in",
    "normalise_code",
    "redeem_code",
    "redeem_link",
]

# No 0/O, 1/I/L: a code read off a phone and typed on a laptop must not be misread.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8  # 31^8, about 2^40; with MAX_FAILED_CODES tries, guessing is hopeless
MAX_FAILED_CODES = 5


class SignInError(ValueError):
    """A link or code that cannot sign anyone in; the message says what to do."""


@dataclass(frozen=True, slots=True)
class NewSignIn:
    token: str  # for the link
    code: str  # for typing into the browser that asked, as ABCD-EFGH


def normalise_code(text: str) -> str:
    """A typed code without spaces, dashes or case: `abcd efgh` reads as `ABCDEFGH`."""
    return "".join(ch for ch in text.upper() if ch.isalnum())[:32]


def create_sign_in(
    conn: Connection,
    email: str,
    browser: str,
    now: dt.datetime,
    *,
    ttl: dt.timedelta,
    next_path: str | None,
) -> NewSignIn:
    """A single-use link and code for `email`, usable from `browser` only; hashes are kept."""
    token = secrets.token_urlsafe(32)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    conn.execute(
        insert(login_tokens).values(
            token_hash=hash_token(token), email=email.lower(), created_at=now,
            expires_at=now + ttl, next_path=next_path, browser_hash=hash_token(browser),
            code_hash=hash_token(code),
        )
    )  # fmt: skip
    conn.execute(delete(login_tokens).where(login_tokens.c.expires_at < now - dt.timedelta(days=1)))
    return NewSignIn(token, f"{code[:4]}-{code[4:]}")


def _spend(conn: Connection, token_hash: str, now: dt.datetime) -> tuple[str, str | None]:
    # One UPDATE decides: of two clicks at once, only one finds the link unused.
    spent = conn.execute(
        update(login_tokens)
        .where(
            login_tokens.c.token_hash == token_hash,
            login_tokens.c.used_at.is_(None),
            login_tokens.c.expires_at > now,
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        raise SignInError(
            "This sign-in link is invalid, already used or expired. Ask for a new one."
        )
    row = conn.execute(
        select(login_tokens.c.email, login_tokens.c.next_path).where(
            login_tokens.c.token_hash == token_hash
        )
    ).one()
    # Every other link of the address stops working: an older mail found later is no key.
    conn.execute(
        update(login_tokens)
        .where(login_tokens.c.email == row.email, login_tokens.c.used_at.is_(None))
        .values(used_at=now)
    )
    return row.email, row.next_path


def redeem_link(
    conn: Connection, token: str, browser: str | None, now: dt.datetime
) -> tuple[str, str | None]:
    """(email, next path) for a valid link opened in the browser that asked for it."""
    token_hash = hash_token(token)
    row = conn.execute(
        select(login_tokens.c.browser_hash).where(
            login_tokens.c.token_hash == token_hash,
            login_tokens.c.used_at.is_(None),
            login_tokens.c.expires_at > now,
        )
    ).first()
    if row is None:
        raise SignInError(
            "This sign-in link is invalid, already used or expired. Ask for a new one."
        )
    if browser is None or not hmac.compare_digest(row.browser_hash or "", hash_token(browser)):
        raise SignInError(
            "This link was asked for in another browser. Open it there, or type the code "
            "from the same mail on the page where you asked."
        )
    return _spend(conn, token_hash, now)


def redeem_code(
    conn: Connection, code: str, browser: str | None, now: dt.datetime
) -> tuple[str, str | None]:
    """(email, next path) for the code of a link this browser asked for.

    Each wrong code counts against every pending link of the browser; at
    MAX_FAILED_CODES they are spent, so a code cannot be guessed.
    """
    if browser is None:
        raise SignInError("Type the code in the browser where you asked for it.")
    pending = (
        login_tokens.c.browser_hash == hash_token(browser),
        login_tokens.c.used_at.is_(None),
        login_tokens.c.expires_at > now,
    )
    rows = conn.execute(select(login_tokens.c.token_hash, login_tokens.c.code_hash).where(*pending))
    typed = hash_token(normalise_code(code))
    for row in rows.all():
        if row.code_hash and hmac.compare_digest(row.code_hash, typed):
            return _spend(conn, row.token_hash, now)
    conn.execute(
        update(login_tokens).where(*pending).values(failed_codes=login_tokens.c.failed_codes + 1)
    )
    conn.execute(
        update(login_tokens)
        .where(*pending, login_tokens.c.failed_codes >= MAX_FAILED_CODES)
        .values(used_at=now)
    )
    raise SignInError("That code is not right or has expired: check the mail and type it again.")
