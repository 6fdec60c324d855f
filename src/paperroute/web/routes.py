"""Which routers make the site, in the order they match."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from paperroute.web import (
    account,
    api,
    api_recommend,
    auth,
    digest_pages,
    docs,
    exports,
    feeds,
    for_you,
    health,
    hf_api,
    mcp,
    metrics,
    pages,
    paper_markdown,
    private_feeds,
    search_page,
    zotero_pages,
)
from paperroute.web.deps import STATIC_DIR

__all__ = ["install_routes"]


def install_routes(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (health, metrics, hf_api, paper_markdown, api, api_recommend, docs, feeds, private_feeds, auth, account,
                   digest_pages, exports, search_page, for_you, zotero_pages, pages):  # fmt: skip
        app.include_router(module.router)
    app.include_router(mcp.make_router())  # its lifespan runs the MCP session manager
