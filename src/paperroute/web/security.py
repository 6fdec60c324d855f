"""What keeps the site safe: signed cookies, CSRF tokens, security headers, rate limits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "SecurityHeaders",
    "csrf_token_for",
    "sign",
    "unsign",
    "valid_csrf",
]

SESSION_COOKIE = "pr_session"
CSRF_COOKIE = "pr_csrf"

# Pages load nothing from other origins and run no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# The API explorer (Swagger UI) sets styles inline; it gets them and nothing more.
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _mac(secret: str, purpose: str, value: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def sign(secret: str, value: str) -> str:
    """`value.signature`: a cookie the server can trust it wrote."""
    return f"{value}.{_mac(secret, 'cookie', value)}"


def unsign(secret: str, signed: str | None) -> str | None:
    """The value of a signed cookie, or None if it was forged or damaged."""
    if not signed or "." not in signed:
        return None
    value, _, mac = signed.rpartition(".")
    return value if hmac.compare_digest(mac, _mac(secret, "cookie", value)) else None


def csrf_token_for(secret: str, cookie: str, session: str | None = None) -> str:
    """The token a form must send back: bound by the site's key to the visitor's CSRF cookie
    and, once signed in, to their session cookie (which scripts and other sites cannot set),
    so a planted CSRF cookie is not enough to forge a signed-in reader's form."""
    return _mac(secret, "csrf", f"{cookie}\n{session or ''}")


def valid_csrf(
    secret: str, cookie: str | None, token: str | None, session: str | None = None
) -> bool:
    if not cookie or not token:
        return False
    return hmac.compare_digest(csrf_token_for(secret, cookie, session), token)


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(24)


class SecurityHeaders:
    """Adds the security headers to every response, and a CSRF cookie to visitors without one."""

    def __init__(self, app: ASGIApp, *, secure_cookies: bool = False) -> None:
        self.app = app
        self.secure_cookies = secure_cookies
        # Served over HTTPS (what secure cookies say): browsers must never fall back to HTTP.
        self.extra: list[tuple[bytes, bytes]] = (
            [(b"strict-transport-security", b"max-age=31536000; includeSubDomains")]
            if secure_cookies
            else []
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = _request_cookie(scope, CSRF_COOKIE)
        fresh = None
        if cookie is None:
            fresh = new_csrf_cookie()
            # Routes read it from scope state, so the first page already has a valid form.
            scope.setdefault("state", {})["csrf_cookie"] = fresh
        path: str = scope.get("path", "")
        policy = DOCS_CONTENT_SECURITY_POLICY if path == "/docs" else CONTENT_SECURITY_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", policy.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                    *self.extra,
                ]
                if fresh is not None:
                    flags = "; Path=/; HttpOnly; SameSite=Lax" + (
                        "; Secure" if self.secure_cookies else ""
                    )
                    headers.append((b"set-cookie", f"{CSRF_COOKIE}={fresh}{flags}".encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _request_cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is treated as no cookie
                return None
            if name in jar:
                return jar[name].value
    return None
