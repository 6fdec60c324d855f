"""List pages cost a fixed number of queries, however many papers they show (no N+1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.domain import Version
from paperroute.store.papers import upsert_papers
from tests.web.conftest import NOW, Site, make_paper


@contextmanager
def counted(app: FastAPI) -> Iterator[list[str]]:
    engine: Engine = app.state.engine
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _queries(client: TestClient, url: str) -> int:
    client.get(url)  # warm: the signing key is read once per process
    with counted(client.app) as statements:  # type: ignore[arg-type]
        assert client.get(url).status_code == 200
    return len(statements)


def _add_papers(engine: Engine, first: int, count: int) -> None:
    batch = [make_paper(n, "2026-03-20", ["cs.LG"],
                        versions=[Version(1, dt.date(2026, 3, 18)), Version(2, dt.date(2026, 3, 19))])
             for n in range(first, first + count)]  # fmt: skip
    with engine.begin() as conn:
        upsert_papers(conn, batch, NOW)


URLS = ["/", "/?view=week&sort=trending", "/c/cs.LG", "/authors/Ada Lovelace", "/added"]


@pytest.mark.parametrize("url", URLS)
def test_list_pages_cost_the_same_for_3_or_40_papers(
    engine: Engine, db_url: str, tmp_path: Path, url: str
) -> None:
    _add_papers(engine, 1, 3)
    with TestClient(
        create_app(Settings(home=tmp_path, database_url=db_url)), base_url="http://127.0.0.1"
    ) as client:
        few = _queries(client, url)
        _add_papers(engine, 100, 37)
        many = _queries(client, url)
    assert many == few <= 10


def test_signed_in_pages_stay_flat_too(site: Site) -> None:
    site.sign_in("a@example.org")
    few = _queries(site.client, "/")
    _add_papers(site.engine, 100, 40)
    assert _queries(site.client, "/") == few <= 12
