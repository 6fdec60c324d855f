"""What a request may carry, checked before any route reads it.

- A body over the size limit is a 413: by its Content-Length before a byte of it is
  read, and while it streams in when it is chunked.
- A control character (NUL above all: PostgreSQL cannot store one) in a page's path is
  a 404, in its query parameters or form fields a 400 naming the input; in a JSON
  field, a 422 as the API documents. Tabs and line breaks stay allowed in parameters
  and fields: text boxes send them.
- A body sent to the API needs a valid token first: a 401 is answered without reading it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI, HTTPException, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from paperroute.store.users import User
from paperroute.web.api import bearer_user
from paperroute.web.errors import error_response
from paperroute.web.security import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestLimits"]

_PATH_CONTROL = re.compile("[\x00-\x1f\x7f]")
_FIELD_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same characters as JSON escapes (an even run of backslashes before one is text).
_JSON_CONTROL = re.compile(rb"(?<!\\)(?:\\\\)*\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])")
_BOUNDARY = re.compile(rb'boundary=("[^"]+"|[^;\s]+)', re.IGNORECASE)
_FIELD_NAME = re.compile(rb'\bname="([^"]*)"')
_CONTROL_ADVICE = "holds a control character (such as a NUL byte, %00): remove it and try again"


class RequestLimits:
    def __init__(
        self, app: ASGIApp, *, max_body: int, larger: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.larger = dict(larger or {})  # path -> its own limit (a library upload)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The API checks its own paths and parameters as its schema documents them (the
        # conformance suite fuzzes them on PostgreSQL): a 422 here would break that contract.
        api = str(scope["path"]).startswith("/api/")
        if not api and _PATH_CONTROL.search(scope["path"]):
            await _refuse(scope, send, 404, f"the address {_CONTROL_ADVICE}")  # names no page
            return
        problem = None if api else _query_problem(scope.get("query_string", b""))
        if problem:
            await _refuse(scope, send, 400, problem)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        announced = _content_length(headers)
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        if not announced and not chunked:
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(str(scope["path"]), self.max_body)
        if announced > limit:
            await _refuse(scope, send, 413, _too_large(limit))
            return
        if api and _takes_token(scope):
            refusal = await _check_token(scope, headers.get(b"authorization"))
            if refusal is not None:
                extra = dict(refusal.headers or {})
                await _refuse(scope, send, refusal.status_code, str(refusal.detail), extra)
                return
        body = await _read_body(receive, limit)
        if body is None:
            await _refuse(scope, send, 413, _too_large(limit))
            return
        problem = _body_problem(headers.get(b"content-type", b""), body)
        if problem:  # the API's bodies have no text with control characters, by their schema
            await _refuse(scope, send, 422 if api else 400, problem)
            return
        await self.app(scope, _replay(body, receive), send)


def _too_large(limit: int) -> str:
    return f"the request body is over this site's limit of {limit:,} bytes: send less at a time"


def _content_length(headers: dict[bytes, bytes]) -> int:
    # The server (h11, httptools) has refused a Content-Length that is not a number.
    value = headers.get(b"content-length", b"0").strip()
    return int(value) if value.isdigit() else 0


def _query_problem(query: bytes) -> str | None:
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if _FIELD_CONTROL.search(name) or _FIELD_CONTROL.search(value):
            return f"{_shown(name)}: {_CONTROL_ADVICE}"
    return None


def _shown(name: str) -> str:
    return _FIELD_CONTROL.sub("?", name)[:60] or "a parameter"


def _body_problem(content_type: bytes, body: bytes) -> str | None:
    kind = content_type.split(b";")[0].strip().lower()
    if kind == b"application/x-www-form-urlencoded":
        for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            if _FIELD_CONTROL.search(name) or _FIELD_CONTROL.search(value):
                return f"{_shown(name)}: {_CONTROL_ADVICE}"
        return None
    if kind == b"multipart/form-data":
        return _multipart_problem(content_type, body)
    if kind.endswith(b"json") and _JSON_CONTROL.search(body):
        return f"{_json_field(body)}: {_CONTROL_ADVICE}"
    return None


def _multipart_problem(content_type: bytes, body: bytes) -> str | None:
    """A form field (not a file: an upload may be any bytes) with a control character."""
    found = _BOUNDARY.search(content_type)
    if found is None:
        return None  # the form parser refuses it
    for part in body.split(b"--" + found.group(1).strip(b'"')):
        head, _, value = part.partition(b"\r\n\r\n")
        if b"filename=" in head:
            continue
        if _FIELD_CONTROL.search(value.removesuffix(b"\r\n").decode("latin-1")):
            named = _FIELD_NAME.search(head)
            name = _shown(named.group(1).decode("latin-1")) if named else "a field"
            return f"{name}: {_CONTROL_ADVICE}"
    return None


def _json_field(body: bytes) -> str:
    """The first field of a JSON body whose text holds a control character."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "body"
    return next(_control_fields(document, "body"), "body")


def _control_fields(value: Any, where: str) -> Iterator[str]:
    if isinstance(value, str) and _FIELD_CONTROL.search(value):
        yield where
    elif isinstance(value, dict):
        for key, item in value.items():  # pyright: ignore[reportUnknownVariableType]
            yield from _control_fields(item, f"{where}.{_shown(str(key))}")  # pyright: ignore[reportUnknownArgumentType]
    elif isinstance(value, list):
        for n, item in enumerate(value):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
            yield from _control_fields(item, f"{where}[{n}]")


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` bytes (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left
            return b"".join(chunks)
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


def _takes_token(scope: Scope) -> bool:
    """An API route is there for this body: every one that takes a body acts for a token's
    user. (A path no route takes gets its 404 or 405 without the body being read.)"""
    app: FastAPI = scope["app"]
    return any(route.matches(scope)[0] is Match.FULL for route in app.router.routes)


async def _check_token(scope: Scope, authorization: bytes | None) -> HTTPException | None:
    """None for a valid token (its user kept for the route), else the 401 to answer."""
    app: FastAPI = scope["app"]
    engine: Engine = app.state.engine
    clock: Callable[[], dt.datetime] = app.state.clock
    header = authorization.decode("latin-1") if authorization else None

    def check() -> User:
        with engine.connect() as conn:
            return bearer_user(conn, header, clock())

    try:
        user = await run_in_threadpool(check)
    except HTTPException as refusal:
        return refusal
    scope.setdefault("state", {})["token_user"] = user
    return None


async def _refuse(
    scope: Scope, send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    request = Request(scope, no_body)
    response = error_response(request, status, detail, headers)
    await response(scope, no_body, send)
