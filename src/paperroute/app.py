"""create_app(settings): the one place that wires the store, search, mail and the web."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from paperroute.config import Settings
from paperroute.index.embed import Embedder, embedder_name, load_embedder
from paperroute.logs import configure_logging
from paperroute.mailer import Mailer, make_mailer
from paperroute.rank.for_you import CandidateCache
from paperroute.search.live import LiveSearch
from paperroute.store.db import check_schema, make_engine
from paperroute.web import errors
from paperroute.web.for_you import LIBRARY_UPLOAD, MAX_UPLOAD
from paperroute.web.hosts import TrustedHosts, allowed_hosts
from paperroute.web.limits import RequestLimits
from paperroute.web.metrics import RequestTimer, observe_search
from paperroute.web.page_cache import PageCache
from paperroute.web.routes import install_routes
from paperroute.web.security import SecurityHeaders
from paperroute.web.views import ViewRecorder

__all__ = ["create_app", "create_app_from_env"]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], dt.datetime] = _utc_now,
    mailer: Mailer | None = None,
    embedder: Embedder | None = None,
) -> FastAPI:
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
        try:
            views.flush()
        finally:
            engine.dispose()

    app = FastAPI(
        title="paperroute",
        version="0.1.0",
        description="Research papers: daily feed, search, votes, collections.",
        lifespan=lifespan,
        docs_url=None,  # served by web.docs with local assets: no third-party origins
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.clock = clock
    app.state.mailer = mailer or make_mailer(settings)
    load = (lambda: embedder) if embedder else partial(load_embedder, settings.embedder)
    app.state.search = LiveSearch(engine, settings.index_root, load, observe=observe_search)
    app.state.page_cache = PageCache()
    app.state.views = views = ViewRecorder(engine)
    model = embedder.name if embedder else embedder_name(settings.embedder)
    app.state.candidates = CandidateCache(model)  # for-you reads the vectors stored for it
    errors.install(app)
    install_routes(app)
    # A library upload is the one body that may be larger than a form.
    uploads = {LIBRARY_UPLOAD: MAX_UPLOAD + 100_000}
    app.add_middleware(RequestLimits, max_body=settings.max_body_bytes, larger=uploads)
    app.add_middleware(SecurityHeaders, secure_cookies=settings.secure_cookies)
    app.add_middleware(TrustedHosts, hosts=allowed_hosts(settings))
    app.add_middleware(RequestTimer)  # outermost: its time includes every other middleware
    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn workers: settings come from PAPERROUTE_* variables."""
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)
