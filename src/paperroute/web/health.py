"""Health checks for load balancers and process supervisors.

`/healthz`: the process answers (liveness; restart it if not).
`/readyz`: it can serve pages: the database answers with the schema this
version needs (readiness; send it traffic only then). The search index is
reported but does not make a node unready: without it, every page but the
search works, and the search page says what to do.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from paperroute.search.live import LiveSearch
from paperroute.store.db import SchemaError, check_schema

__all__ = ["router"]

log = logging.getLogger("paperroute.web")

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    engine: Engine = request.app.state.engine
    try:
        check_schema(engine)
        database = "ok"
    except SchemaError as exc:
        database = str(exc)
    except Exception:  # any failure to reach the database is "not ready"; details in the log
        log.exception("readiness: the database cannot be used")
        database = "unreachable"
    search: LiveSearch = request.app.state.search
    body = {"status": "ok" if database == "ok" else "unavailable", "database": database,
            "search_index": "ok" if search.index_exists() else "missing"}  # fmt: skip
    return JSONResponse(body, status_code=200 if database == "ok" else 503)
