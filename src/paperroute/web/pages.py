"""Server-rendered pages: the day's papers, a paper, a category."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from paperroute.store import papers as paper_store
from paperroute.web.deps import Conn, templates

__all__ = ["router"]

router = APIRouter()
PAGE_SIZE = 50


def _neighbours(conn: Conn, day: dt.date) -> tuple[dt.date | None, dt.date | None]:
    before = paper_store.latest_announced(conn, day - dt.timedelta(days=1))
    after = paper_store.earliest_announced(conn, day + dt.timedelta(days=1))
    return before, after


@router.get("/", response_class=HTMLResponse)
def day_page(
    request: Request,
    conn: Conn,
    date: dt.date | None = None,
    page: int = Query(1, ge=1),
) -> HTMLResponse:
    """The papers announced on one day: the newest day with papers by default."""
    day = date or paper_store.latest_announced(conn)
    listing = None
    previous = following = None
    if day is not None:
        listing = paper_store.list_papers(
            conn, since=day, until=day, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        previous, following = _neighbours(conn, day)
    return templates.TemplateResponse(
        request,
        "day.html",
        {"day": day, "listing": listing, "page": page, "page_size": PAGE_SIZE,
         "previous": previous, "following": following},
    )  # fmt: skip


@router.get("/c/{category}", response_class=HTMLResponse)
def category_page(
    request: Request, conn: Conn, category: str, page: int = Query(1, ge=1)
) -> HTMLResponse:
    listing = paper_store.list_papers(
        conn, category=category, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return templates.TemplateResponse(
        request,
        "category.html",
        {"category": category, "listing": listing, "page": page, "page_size": PAGE_SIZE},
    )


@router.get("/added", response_class=HTMLResponse)
def added_page(request: Request, conn: Conn, page: int = Query(1, ge=1)) -> HTMLResponse:
    """Papers in the order this site stored them: imported lists, papers without a date."""
    listing = paper_store.list_papers(
        conn, order="added", limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    return templates.TemplateResponse(
        request,
        "category.html",
        {"category": "Recently added", "listing": listing, "page": page, "page_size": PAGE_SIZE},
    )


@router.get("/papers/{paper_id:path}", response_class=HTMLResponse)
def paper_page(request: Request, conn: Conn, paper_id: str) -> HTMLResponse:
    paper = paper_store.get_paper(conn, paper_id)
    if paper is None:
        raise HTTPException(404, f"No paper {paper_id}")
    return templates.TemplateResponse(request, "paper.html", {"paper": paper})
