"""Sign in by a one-time email link; sessions in signed cookies; sign out."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from paperroute.mailer import limit_key, plain_message, valid_email
from paperroute.store import sign_ins as sign_in_store
from paperroute.store import users as user_store
from paperroute.web.deps import (
    Conn,
    CsrfChecked,
    Now,
    Visitor,
    check_rate,
    mailer_of,
    render,
    settings_of,
    site_secret,
)
from paperroute.web.hosts import mail_links_base
from paperroute.web.networks import note_signup_network
from paperroute.web.security import SESSION_COOKIE, sign, unsign

__all__ = ["router", "safe_next", "send_mail"]

router = APIRouter(include_in_schema=False)

LINK_TTL = dt.timedelta(minutes=15)
SESSION_TTL = dt.timedelta(days=30)
RATE_WINDOW = dt.timedelta(minutes=15)
PER_IP, PER_EMAIL = 20, 5  # sign-in mails per window: no mail bombing of a victim
BROWSER_COOKIE = "pr_signin"  # binds a link to the browser that asked for it


def safe_next(path: str | None) -> str:
    """Only a path on this site: a sign-in link must not redirect elsewhere."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


@router.get("/signin")
def signin_form(request: Request, conn: Conn, user: Visitor, next: str | None = None) -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, conn, "signin.html", {"next": safe_next(next), "email": ""})


@router.post("/signin", dependencies=[CsrfChecked])
def send_link(
    request: Request,
    conn: Conn,
    now: Now,
    email: Annotated[str, Form(max_length=1000)],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    address = valid_email(email)
    if address is None:
        context = {"next": safe_next(next), "email": email[:254],
                   "error": "That does not look like an email address: check it and try again."}  # fmt: skip
        return render(request, conn, "signin.html", context, status=400)
    site = mail_links_base(request)  # before anything is stored: no link goes out without it
    ip = request.client.host if request.client else "unknown"
    check_rate(
        conn,
        now,
        [(f"signin:ip:{ip}", PER_IP), (f"signin:email:{limit_key(address)}", PER_EMAIL)],
        RATE_WINDOW,
    )
    browser = _browser_cookie(request) or secrets.token_urlsafe(24)
    sign_in = sign_in_store.create_sign_in(
        conn, address, browser, now, ttl=LINK_TTL, next_path=safe_next(next)
    )
    conn.commit()
    minutes = int(LINK_TTL.total_seconds() // 60)
    body = (
        f"Open this link to sign in to paperroute:\n\n{site}/signin/{sign_in.token}\n\n"
        "It works once, in the browser where you asked for it, and expires in "
        f"{minutes} minutes.\n\nReading this on another device? Type this code on the "
        f"page where you asked instead:\n\n    {sign_in.code}\n\n"
        "Never tell anyone the code or forward this mail. If you did not ask to sign in, "
        "ignore it: nothing happens without the link or the code.\n"
    )
    send_mail(request, address, "Sign in to paperroute", body)
    response = render(request, conn, "signin_sent.html", {"email": address, "error": None})
    response.set_cookie(
        BROWSER_COOKIE,
        browser,
        max_age=int(LINK_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings_of(request).secure_cookies,
    )
    return response


def send_mail(request: Request, to: str, subject: str, body: str) -> None:
    """Hand a mail to the mail server; a 503 that says to retry when it is down."""
    message = plain_message(settings_of(request).mail_from, to, subject, body)
    try:
        mailer_of(request).send(message)
    except OSError:  # smtplib's errors included: the mail server refused or is down
        raise HTTPException(
            503, "We could not send the mail just now. Please try again in a few minutes."
        ) from None


def _browser_cookie(request: Request) -> str | None:
    value = request.cookies.get(BROWSER_COOKIE)
    return value if value and len(value) <= 64 and value.isascii() else None


@router.get("/signin/{token}")
def confirm_form(request: Request, conn: Conn, token: str) -> Response:
    # A GET never spends the token: mail scanners that open links would use it up.
    return render(request, conn, "signin_confirm.html", {"token": token})


@router.post("/signin/code", dependencies=[CsrfChecked])
def redeem_code(
    request: Request, conn: Conn, now: Now, code: Annotated[str, Form(max_length=100)]
) -> Response:
    """The code from the mail, typed in the browser that asked for the link."""
    ip = request.client.host if request.client else "unknown"
    check_rate(conn, now, [(f"signin-code:ip:{ip}", PER_IP)], RATE_WINDOW)
    try:
        email, next_path = sign_in_store.redeem_code(conn, code, _browser_cookie(request), now)
    except sign_in_store.SignInError as exc:
        conn.commit()
        context = {"email": None, "error": str(exc)}
        return render(request, conn, "signin_sent.html", context, status=400)
    return _start_session(request, conn, now, email, next_path)


@router.post("/signin/{token}", dependencies=[CsrfChecked])
def redeem(request: Request, conn: Conn, now: Now, token: str) -> Response:
    try:
        email, next_path = sign_in_store.redeem_link(conn, token, _browser_cookie(request), now)
    except sign_in_store.SignInError as exc:
        conn.commit()
        raise HTTPException(400, str(exc)) from None
    return _start_session(request, conn, now, email, next_path)


def _start_session(
    request: Request, conn: Conn, now: dt.datetime, email: str, next_path: str | None
) -> Response:
    user = user_store.add_user(conn, email, now)
    note_signup_network(request, conn, user, now)  # for trending: see web/networks.py
    session = user_store.create_session(conn, user.id, now, SESSION_TTL)
    conn.commit()
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sign(site_secret(request, conn), session),
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings_of(request).secure_cookies,
    )
    response.delete_cookie(BROWSER_COOKIE)
    return response


@router.post("/signout", dependencies=[CsrfChecked])
def signout(request: Request, conn: Conn) -> Response:
    token = unsign(site_secret(request, conn), request.cookies.get(SESSION_COOKIE))
    if token is not None:
        user_store.delete_session(conn, token)
        conn.commit()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
