"""Signed links in digest mails: confirm an address, manage preferences, unsubscribe.

A token is `<subscriber id>.<expiry>.<mac>`: the expiry in Unix seconds (0 for
never) and an HMAC-SHA256, under the site's signing secret, of the purpose,
the subscriber id, the address and the expiry. Binding the address means a
link stays with its reader even if an id is ever used again; binding the
purpose means a confirm link cannot be replayed as an unsubscribe link.
Nothing is stored: the database only has to know the subscriber.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from typing import Literal, NamedTuple

__all__ = [
    "CONFIRM_TTL",
    "MANAGE_TTL",
    "LinkError",
    "Purpose",
    "SubscriberLinks",
    "confirm_url",
    "link_path",
    "make_token",
    "subscriber_links",
    "token_subscriber_id",
    "verify_token",
]

Purpose = Literal["confirm", "manage", "unsubscribe"]

CONFIRM_TTL = dt.timedelta(days=3)
MANAGE_TTL = dt.timedelta(days=365)
# An unsubscribe link never expires: a reader must be able to leave from a years-old digest.
_LIFETIMES: dict[Purpose, dt.timedelta | None] = {
    "confirm": CONFIRM_TTL,
    "manage": MANAGE_TTL,
    "unsubscribe": None,
}
_MAC_BYTES = 20  # 160 bits, 27 characters in base64url
# One spelling per token (no signs, spaces, leading zeros or non-ASCII digits), so
# that a token is valid exactly when its MAC is.
_TOKEN_RE = re.compile(r"([1-9][0-9]{0,17})\.(0|[1-9][0-9]{0,11})\.([A-Za-z0-9_-]{27})", re.ASCII)


class LinkError(ValueError):
    """A link that cannot be used: `expired` is False when it was damaged or forged."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class SubscriberLinks(NamedTuple):
    unsubscribe_url: str
    manage_url: str


def _mac(secret: str, purpose: Purpose, subscriber_id: int, email: str, expires: int) -> str:
    message = f"paperroute-digest-link\n{purpose}\n{subscriber_id}\n{email.lower()}\n{expires}"
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:_MAC_BYTES]).decode().rstrip("=")


def make_token(
    secret: str, purpose: Purpose, subscriber_id: int, email: str, now: dt.datetime
) -> str:
    """A token for one subscriber and one purpose, expiring as that purpose's links do."""
    lifetime = _LIFETIMES[purpose]
    expires = 0 if lifetime is None else int((now + lifetime).timestamp())
    return f"{subscriber_id}.{expires}.{_mac(secret, purpose, subscriber_id, email, expires)}"


def _parts(token: str) -> tuple[int, int, str]:
    match = _TOKEN_RE.fullmatch(token) if len(token) <= 64 else None
    if match is None:
        raise LinkError("This link is damaged or not valid: copy the whole link from the mail.")
    return int(match[1]), int(match[2]), match[3]


def token_subscriber_id(token: str) -> int:
    """Whose token this claims to be; only `verify_token` says whether to believe it."""
    return _parts(token)[0]


def verify_token(secret: str, purpose: Purpose, token: str, *, email: str, now: dt.datetime) -> int:
    """The subscriber id of a genuine, unexpired token for `purpose` and `email`.

    Raises LinkError for a damaged, forged or expired token.
    """
    subscriber_id, expires, mac = _parts(token)
    expected = _mac(secret, purpose, subscriber_id, email, expires)
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        raise LinkError("This link is damaged or not valid: copy the whole link from the mail.")
    if expires and now.timestamp() >= expires:
        raise LinkError("This link has expired.", expired=True)
    return subscriber_id


def link_path(purpose: Purpose, token: str) -> str:
    """The site path that a token of this purpose opens."""
    return f"/digest/{purpose}/{token}"


def confirm_url(
    secret: str, base_url: str, subscriber_id: int, email: str, now: dt.datetime
) -> str:
    """The double opt-in link for the confirmation mail."""
    token = make_token(secret, "confirm", subscriber_id, email, now)
    return base_url.rstrip("/") + link_path("confirm", token)


def subscriber_links(
    secret: str, base_url: str, subscriber_id: int, email: str, now: dt.datetime
) -> SubscriberLinks:
    """The unsubscribe and manage links that every digest to this subscriber carries.

    The unsubscribe URL also serves RFC 8058 one-click unsubscribe: a POST to it
    with `List-Unsubscribe=One-Click` unsubscribes at once, without a session.
    """
    base = base_url.rstrip("/")
    unsubscribe = make_token(secret, "unsubscribe", subscriber_id, email, now)
    manage = make_token(secret, "manage", subscriber_id, email, now)
    return SubscriberLinks(
        base + link_path("unsubscribe", unsubscribe), base + link_path("manage", manage)
    )
