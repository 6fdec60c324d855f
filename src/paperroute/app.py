"""create_app(settings): the one place that wires the store and the web."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from paperroute.config import Settings
from paperroute.store.db import check_schema, make_engine
from paperroute.web import pages
from paperroute.web.deps import STATIC_DIR

__all__ = ["create_app", "create_app_from_env"]


def create_app(settings: Settings) -> FastAPI:
    """The site and API over the configured database (whose schema must be current)."""
    engine = make_engine(settings.db_url)
    try:
        check_schema(engine)
    except Exception:
        engine.dispose()
        raise

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncGenerator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="paperroute", version="0.1.0", lifespan=lifespan)
    app.state.engine = engine
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(pages.router)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn workers: settings come from PAPERROUTE_* variables."""
    return create_app(Settings())
