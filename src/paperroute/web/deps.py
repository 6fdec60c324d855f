"""What routes depend on: a database connection per request, the templates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection, Engine

__all__ = ["STATIC_DIR", "Conn", "templates"]

STATIC_DIR = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def web_link(url: str | None) -> str | None:
    """The URL if it is an http(s) link, else None: no `javascript:` href reaches a page."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


# Jinja's stubs type the filter table as its built-in filters only.
templates.env.filters["web_link"] = web_link  # pyright: ignore[reportArgumentType]


def _connection(request: Request) -> Iterator[Connection]:
    engine: Engine = request.app.state.engine
    with engine.connect() as conn:
        yield conn


Conn = Annotated[Connection, Depends(_connection)]
