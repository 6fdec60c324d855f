"""Which Host names the site answers to, and where links in its mail point.

A request's Host header is whatever its sender wrote. Mail links therefore come
from configuration only (Settings.mail_base_url), and every request must name a
host the operator trusts: base_url's, PAPERROUTE_TRUSTED_HOSTS, or a loopback
name (what the machine itself uses, for a laptop or a health check). That also
keeps DNS-rebinding pages away from a site served on 127.0.0.1.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from paperroute.config import Settings, is_loopback
from paperroute.web.security import ASGIApp, Receive, Scope, Send

__all__ = ["TrustedHosts", "allowed_hosts", "mail_links_base"]


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """Host names (lower case, no port) that requests may name besides loopback ones."""
    names = {name.strip().lower() for name in settings.trusted_hosts if name.strip()}
    if settings.base_url:
        names.add((urlsplit(settings.base_url).hostname or "").lower())
    return frozenset(names)


def _host_name(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"host":
            host = value.decode("latin-1").strip().lower()
            # "[::1]:8000" -> "::1", "example.org:443" -> "example.org"
            parsed = urlsplit(f"//{host}")
            try:
                return parsed.hostname
            except ValueError:
                return None
    return None


class TrustedHosts:
    """Refuses, with a 400 that says what to set, any request for a host not trusted."""

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = _host_name(scope)
        if host is not None and (host in self.hosts or is_loopback(host)):
            await self.app(scope, receive, send)
            return
        shown = (host or "(none)")[:100]
        message = (
            f"This site does not answer to the host name {shown!r}. If that is its address, "
            "its operator sets PAPERROUTE_BASE_URL to it (or adds it to PAPERROUTE_TRUSTED_HOSTS)."
        )
        api = str(scope.get("path", "")).startswith("/api/")
        body = json.dumps({"error": message}).encode() if api else message.encode()
        kind = b"application/json" if api else b"text/plain; charset=utf-8"
        headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def mail_links_base(request: Request) -> str:
    """The configured address that links in mail start with; 503 when there is none."""
    settings: Settings = request.app.state.settings
    base = settings.mail_base_url
    if base is None:
        raise HTTPException(
            503,
            "This site cannot mail links yet: its operator must set PAPERROUTE_BASE_URL to the "
            "site's public address (e.g. https://papers.example.org).",
        )
    return base
