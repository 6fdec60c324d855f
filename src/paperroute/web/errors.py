"""Errors as people should see them: a page for browsers, a JSON body for the API."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from paperroute.web.deps import templates

__all__ = ["error_response", "install", "wants_json"]

TITLES = {
    400: "Bad request",
    401: "Sign in first",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    413: "Too large",
    422: "Bad request",
    429: "Slow down",
    503: "Not available yet",
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def error_response(
    request: Request, status: int, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """The error as JSON (API, script) or as a page, for what answers outside the routes."""
    return _page(request, status, detail, headers)


def _page(request: Request, status: int, detail: str, headers: dict[str, str] | None) -> Response:
    if wants_json(request):
        return JSONResponse({"error": detail}, status_code=status, headers=headers)
    if status == 401 and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)
    context = {
        "status": status,
        "title": TITLES.get(status, "Something went wrong"),
        "detail": detail,
        "user": getattr(request.state, "user", None),
        "csrf_token": "",
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=status, headers=headers
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method the path answers to. Starlette's 405 names only the methods of the first
    route with the path, and a path here often has one route per method."""
    # A mount (the static files) takes any method, and answers its own 405.
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]

    def answers(method: str) -> bool:
        probe = {**request.scope, "method": method}
        return any(route.matches(probe)[0] is Match.FULL for route in routes)

    return ", ".join(method for method in _METHODS if answers(method))


def _detail(exc: StarletteHTTPException) -> str:
    if isinstance(exc.__cause__, UnicodeDecodeError):  # FastAPI's 400 for a body it cannot read
        return "body: this is not text; send the JSON encoded as UTF-8"
    return str(exc.detail)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() != "x-sign-in"}
    detail = _detail(exc)
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        headers = {k: v for k, v in headers.items() if k.lower() != "allow"} | {"allow": allowed}
        detail = f"{request.method} is not allowed here; use {allowed.replace(', ', ' or ')}"
    return _page(request, exc.status_code, detail, headers or None)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in exc.errors()
    )
    if wants_json(request):
        return JSONResponse({"error": problems}, status_code=422)
    return _page(request, 400, problems, None)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
