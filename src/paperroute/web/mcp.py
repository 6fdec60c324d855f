"""`/mcp`: the paper tools (paperroute.mcp_server) over MCP's streamable HTTP, for API tokens.

Every request needs `Authorization: Bearer <API token>`; without a valid one it
gets a 401 before the MCP server sees it. The server is stateless (each POST is
answered on its own, in JSON), so any web process on any node answers any call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI, HTTPException
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from sqlalchemy import Engine
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from paperroute.config import Settings
from paperroute.mcp_server import Caller, PaperTools, build_server
from paperroute.web.api import bearer_user

__all__ = ["PATH", "make_router"]

PATH = "/mcp"
_CALLER = "paperroute.mcp_caller"  # where a checked request carries its Caller to the tools


def _tools(app: FastAPI) -> PaperTools:
    state = app.state
    settings: Settings = state.settings
    clock: Callable[[], dt.datetime] = state.clock
    return PaperTools(engine=state.engine, search=state.search, candidates=state.candidates,
                      base_url=settings.mail_base_url, clock=clock)  # fmt: skip


def _token_user_id(app: FastAPI, authorization: str | None) -> int | HTTPException:
    """The user id of the request's API token, checked as the API checks it, or the 401."""
    clock: Callable[[], dt.datetime] = app.state.clock
    engine: Engine = app.state.engine
    try:
        with engine.connect() as conn:
            return bearer_user(conn, authorization, clock()).id
    except HTTPException as refused:
        return refused


def _caller_of(ctx: Context[Any, Any]) -> Caller:
    request = ctx.request_context.request
    caller = request.scope.get(_CALLER) if isinstance(request, Request) else None
    if not isinstance(caller, Caller):  # only reachable if the route below is bypassed
        raise PermissionError("an MCP call reached the tools without a checked API token")
    return caller


class _Endpoint:
    """The route's ASGI app: the token checked (in a thread: the store is synchronous), then MCP."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app: FastAPI = scope["app"]
        authorization = Headers(scope=scope).get("authorization")
        found = await anyio.to_thread.run_sync(_token_user_id, app, authorization)
        if isinstance(found, HTTPException):
            refused = JSONResponse(
                {"error": found.detail}, found.status_code, headers=found.headers
            )
            await refused(scope, receive, send)
            return
        if scope["method"] != "POST":
            # Stateless: no stream of server messages to GET, no session to DELETE. An
            # open GET would only hold a connection until the client gives up.
            message = "this MCP server answers each POST on its own: there is no stream to open"
            await JSONResponse({"error": message}, 405, headers={"allow": "POST"})(
                scope, receive, send
            )
            return
        await self.manager.handle_request(
            {**scope, _CALLER: Caller(_tools(app), found)}, receive, send
        )


@cache
def _server() -> MCPServer[Any]:
    # One per process: its tools take everything app-specific from the request.
    return build_server(_caller_of)


def make_router() -> APIRouter:
    """The /mcp route, with an MCP session manager run by the app's lifespan.

    A new manager per app (a manager runs once, and tests make many apps); the server
    behind them is built once, which takes longer.
    """
    server = _server()
    # The site's TrustedHosts middleware has checked the Host already; a Bearer token is
    # not sent by browsers on their own, so another site's page cannot call with it.
    server.streamable_http_app(
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncGenerator[None]:
        async with manager.run():
            yield

    router = APIRouter(lifespan=lifespan)
    router.routes.append(Route(PATH, _Endpoint(manager), methods=["GET", "POST", "DELETE"]))
    return router
