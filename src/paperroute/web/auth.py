"""Sign in by a one-time email link; sessions in signed cookies; sign out."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from paperroute.mailer import plain_message, valid_email
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
from paperroute.web.security import SESSION_COOKIE, sign, unsign

__all__ = ["router", "safe_next"]

router = APIRouter(include_in_schema=False)

LINK_TTL = dt.timedelta(minutes=15)
SESSION_TTL = dt.timedelta(days=30)
RATE_WINDOW = dt.timedelta(minutes=15)
PER_IP, PER_EMAIL = 20, 5  # sign-in mails per window: no mail bombing of a victim


def safe_next(path: str | None) -> str:
    """Only a path on this site: a sign-in link must not redirect elsewhere."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def base_url(request: Request) -> str:
    configured = settings_of(request).base_url
    return (configured or str(request.base_url)).rstrip("/")


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
    ip = request.client.host if request.client else "unknown"
    check_rate(
        conn,
        now,
        [(f"signin:ip:{ip}", PER_IP), (f"signin:email:{address}", PER_EMAIL)],
        RATE_WINDOW,
    )
    token = user_store.create_login_token(
        conn, address, now, ttl=LINK_TTL, next_path=safe_next(next)
    )
    conn.commit()
    settings = settings_of(request)
    link = f"{base_url(request)}/signin/{token}"
    body = (
        f"Open this link to sign in to paperroute:\n\n{link}\n\n"
        f"It works once and expires in {int(LINK_TTL.total_seconds() // 60)} minutes.\n"
        "If you did not ask to sign in, ignore this mail: nothing happens without the link.\n"
    )
    mailer_of(request).send(
        plain_message(settings.mail_from, address, "Sign in to paperroute", body)
    )
    return render(request, conn, "signin_sent.html", {"email": address})


@router.get("/signin/{token}")
def confirm_form(request: Request, conn: Conn, token: str) -> Response:
    # A GET never spends the token: mail scanners that open links would use it up.
    return render(request, conn, "signin_confirm.html", {"token": token})


@router.post("/signin/{token}", dependencies=[CsrfChecked])
def redeem(request: Request, conn: Conn, now: Now, token: str) -> Response:
    try:
        email, next_path = user_store.redeem_login_token(conn, token, now)
    except KeyError:
        conn.commit()
        raise HTTPException(
            400, "This sign-in link is invalid, already used or expired. Ask for a new one."
        ) from None
    user = user_store.add_user(conn, email, now)
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
