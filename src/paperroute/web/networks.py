"""Which network a client is on, to count people rather than addresses or accounts.

An address is cheap to change where a provider hands out a whole block (an
IPv6 home gets a /64), and accounts are cheap to make where one inbox takes
mail for `me+1@`, `me+2@` and so on. Networks are kept only as keyed hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress

from fastapi import Request
from sqlalchemy import Connection

from paperroute.store.users import User, set_signup_network
from paperroute.web.deps import site_secret

__all__ = ["client_network", "keyed_hash", "note_signup_network", "signup_keys"]

SIGNUP_IPV4_PREFIX = 24  # one household, office or small provider pool
IPV6_PREFIX = 64  # what one customer gets


def client_network(address: str, *, ipv4_prefix: int = SIGNUP_IPV4_PREFIX) -> str:
    """The address's IPv4 /`ipv4_prefix` or IPv6 /64; anything else as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # no address (a test client, a Unix socket): its own network
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = ipv4_prefix if isinstance(ip, ipaddress.IPv4Address) else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    """A value that can be compared but not read back (the key is the site's secret)."""
    message = f"{purpose}:{value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def signup_keys(secret: str, address: str, created: dt.datetime) -> tuple[str, str]:
    """(network, group) of an account made from `address` at `created`.

    The group is the network and the hour (UTC): accounts made in the same
    hour from one network are one reader to trending.
    """
    network = client_network(address)
    hour = created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H")
    return keyed_hash(secret, "signup-network", network), keyed_hash(
        secret, "signup-group", f"{network}|{hour}"
    )


def note_signup_network(request: Request, conn: Connection, user: User, now: dt.datetime) -> None:
    """Record where an account just made at `now` came from; any other account is left alone."""
    if user.created_at != now:
        return
    address = request.client.host if request.client else ""
    network, group = signup_keys(site_secret(request, conn), address, now)
    set_signup_network(conn, user.id, network, group)
