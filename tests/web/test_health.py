"""Liveness and readiness for load balancers."""

from __future__ import annotations

from sqlalchemy import text

from paperroute.store.db import head_revision
from tests.web.conftest import Site


def test_live_and_ready_with_the_index_reported(site: Site) -> None:
    assert site.client.get("/healthz").json() == {"status": "ok"}
    ready = site.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "search_index": "missing"}


def _set_revision(site: Site, revision: str) -> None:
    with site.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_not_ready_when_the_schema_is_behind(site: Site) -> None:
    _set_revision(site, "0001")
    try:
        ready = site.client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        assert "run `paperroute init`" in ready.json()["database"]
        assert site.client.get("/healthz").status_code == 200
    finally:  # the PostgreSQL database is shared by the whole session
        _set_revision(site, head_revision())
