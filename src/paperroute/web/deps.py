"""What routes depend on: a connection, the visitor, CSRF checks, rate limits, templates."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Header, HTTPException, Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import BeforeValidator
from sqlalchemy import Connection, Engine
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import Response

from paperroute.citations import coins
from paperroute.config import Settings
from paperroute.mailer import Mailer
from paperroute.search.live import LiveSearch
from paperroute.store import limits as limit_store
from paperroute.store import users as user_store
from paperroute.store.users import User
from paperroute.web.rich_text import has_tex, linkify, tex_html, tex_text
from paperroute.web.security import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for, unsign, valid_csrf

__all__ = [
    "STATIC_DIR",
    "Admin",
    "Conn",
    "CsrfChecked",
    "IsoDate",
    "Now",
    "OptionalDate",
    "Search",
    "SignedIn",
    "Visitor",
    "check_rate",
    "render",
    "site_secret",
    "templates",
]

STATIC_DIR = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


# A date from a form or link: an empty field (`?since=`) means "no date", not an error.
OptionalDate = Annotated[dt.date | None, BeforeValidator(_blank_is_none)]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_text(value: object) -> object:
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("write the date as YYYY-MM-DD, or leave the parameter out")
    return value


# A date in the API, as its schema says (`format: date`): pydantic alone would also read
# `0` or `1752796800` as a Unix time and `2025-07-18T00:00` as a day; an empty value is
# an error, not "no date", since a script that sends `since=` meant some date.
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text)]


class PaperRefConvertor(Convertor[str]):
    """A paper's key or arXiv id in a path (`{paper_id:paper}`): one segment, or an old-style
    arXiv id with its slash (`quant-ph/0201082`, a version may follow).

    Starlette's `path` takes any rest of the path: a GET of `/api/v1/papers/2507.11851/vote`
    would ask for the paper "2507.11851/vote" (a 404) instead of being refused (a 405).
    """

    regex = r"[^/]+|[A-Za-z][A-Za-z.-]*/[0-9]{7}[^/]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Routes compile their paths when their module is imported, and every module with such a
# route imports this one first.
register_url_convertor("paper", PaperRefConvertor())


def web_link(url: str | None) -> str | None:
    """The URL if it is an http(s) link, else None: no `javascript:` href reaches a page."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def author_links(names: Sequence[str], limit: int | None = None) -> Markup:
    """Authors as links to their pages, "et al." past `limit`.

    Written in Python: the same loop in the template, with a filter and two
    escapes per name, was the largest part of rendering a day of 50 papers.
    """
    shown = names if limit is None else names[:limit]
    links = ", ".join(
        f'<a href="/authors/{quote(name, safe="")}">{html.escape(name)}</a>' for name in shown
    )
    if len(shown) < len(names):
        links += f", et al. ({len(names)} authors)"
    return Markup(links)


# Jinja's stubs type the filter table as its built-in filters only.
templates.env.auto_reload = False  # templates change only with a new release: no stat per render
templates.env.filters["web_link"] = web_link  # pyright: ignore[reportArgumentType]
templates.env.filters["author_links"] = author_links  # pyright: ignore[reportArgumentType]
templates.env.filters["tex"] = tex_html  # pyright: ignore[reportArgumentType]
templates.env.filters["tex_text"] = tex_text  # pyright: ignore[reportArgumentType]
templates.env.filters["has_tex"] = has_tex  # pyright: ignore[reportArgumentType]
templates.env.filters["linkify"] = linkify  # pyright: ignore[reportArgumentType]
templates.env.filters["coins"] = coins  # pyright: ignore[reportArgumentType]


def _connection(request: Request) -> Iterator[Connection]:
    engine: Engine = request.app.state.engine
    with engine.connect() as conn:
        yield conn


Conn = Annotated[Connection, Depends(_connection)]


def _now(request: Request) -> dt.datetime:
    clock: Callable[[], dt.datetime] = request.app.state.clock
    return clock()


Now = Annotated[dt.datetime, Depends(_now)]


def site_secret(request: Request, conn: Connection) -> str:
    """The signing key, read from the database once per process."""
    state = request.app.state
    if getattr(state, "secret", None) is None:
        state.secret = user_store.signing_secret(conn)
        conn.commit()
    return state.secret


def _visitor(request: Request, conn: Conn, now: Now) -> User | None:
    """The signed-in user, or None; also kept on request.state for templates."""
    if hasattr(request.state, "user"):
        return request.state.user
    user = None
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        token = unsign(site_secret(request, conn), raw)
        if token is not None:
            user = user_store.user_for_session(conn, token, now)
    request.state.user = user
    return user


Visitor = Annotated[User | None, Depends(_visitor)]


def _signed_in(request: Request, user: Visitor) -> User:
    if user is None:
        # Pages send the visitor to sign in and back; the API gets a 401.
        raise HTTPException(
            401,
            "sign in first",
            headers={"x-sign-in": f"/signin?next={request.url.path}"},
        )
    return user


SignedIn = Annotated[User, Depends(_signed_in)]


def _admin(user: SignedIn) -> User:
    if not user.is_admin:
        raise HTTPException(403, "only an admin can do this")
    return user


Admin = Annotated[User, Depends(_admin)]


def csrf_cookie(request: Request) -> str | None:
    """The visitor's CSRF cookie: sent by the browser, or just set by the middleware."""
    return request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_cookie", None)


def _csrf_checked(
    request: Request,
    conn: Conn,
    csrf: Annotated[str | None, Form()] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> None:
    token = csrf or x_csrf_token
    session = request.cookies.get(SESSION_COOKIE)
    if not valid_csrf(site_secret(request, conn), request.cookies.get(CSRF_COOKIE), token, session):
        raise HTTPException(
            403, "this form has expired or did not come from this site: reload the page and retry"
        )


CsrfChecked = Depends(_csrf_checked)


def check_rate(
    conn: Connection, now: dt.datetime, limits: list[tuple[str, int]], window: dt.timedelta
) -> None:
    """Count a hit on each key; 429 when any of them is over its limit in the window."""
    for key, limit in limits:
        if limit_store.hit(conn, key, now, window=window) > limit:
            conn.commit()
            minutes = max(1, int(window.total_seconds() // 60))
            raise HTTPException(
                429,
                f"too many attempts; wait {minutes} minutes and try again",
                headers={"retry-after": str(int(window.total_seconds()))},
            )
    conn.commit()


def _search(request: Request) -> LiveSearch:
    return request.app.state.search


Search = Annotated[LiveSearch, Depends(_search)]


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def mailer_of(request: Request) -> Mailer:
    return request.app.state.mailer


def render(
    request: Request,
    conn: Connection,
    name: str,
    context: dict[str, Any],
    status: int = 200,
    *,
    public: bool = False,
) -> Response:
    """A page with what every template needs: the visitor and a CSRF token for its forms.

    A `public` page shown to someone not signed in has no forms, so no token:
    it is the same for every such visitor and can be cached (web.page_cache).
    """
    user = getattr(request.state, "user", None)
    cookie = csrf_cookie(request)
    token = ""
    if cookie and not (public and user is None):
        token = csrf_token_for(
            site_secret(request, conn), cookie, request.cookies.get(SESSION_COOKIE)
        )
    base = {"user": user, "csrf_token": token}
    return templates.TemplateResponse(request, name, base | context, status_code=status)
