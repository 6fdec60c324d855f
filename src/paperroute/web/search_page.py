"""The search page: one box, filters, highlights, pages; helpful when empty or without results."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from paperroute.index.sync import IndexMissing
from paperroute.web.deps import Conn, OptionalDate, Search, Visitor, render
from paperroute.web.listing import make_entries

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
MAX_QUERY = 500

SearchSort = Literal["relevance", "date", "votes"]
SearchMode = Literal["hybrid", "lexical", "semantic"]


def full_query(q: str, category: str | None, since: dt.date | None, until: dt.date | None) -> str:
    """The box's text with the form's filters added as operators."""
    parts = [q.strip()[:MAX_QUERY]]
    if category:
        parts.append(f"cat:{category.strip()}")
    if since:
        parts.append(f"since:{since.isoformat()}")
    if until:
        parts.append(f"until:{until.isoformat()}")
    return " ".join(p for p in parts if p)


@router.get("/search")
def search_page(
    request: Request,
    conn: Conn,
    user: Visitor,
    search: Search,
    q: str = Query("", max_length=2000),
    category: str | None = Query(None, max_length=64),
    since: OptionalDate = None,
    until: OptionalDate = None,
    sort: SearchSort = "relevance",
    mode: SearchMode = "hybrid",
    page: int = Query(1, ge=1, le=50),
    spelling: Literal["correct", "as-typed"] = "correct",
) -> Response:
    text = full_query(q, category, since, until)
    context: dict[str, object] = {
        "q": q, "category": category or "", "since": since, "until": until, "sort": sort,
        "mode": mode, "page": page, "entries": [], "errors": [], "has_more": False,
        "index_missing": False, "feed_query": quote(text),
    }  # fmt: skip
    if not text:
        return render(request, conn, "search.html", context)
    try:
        service = search.service()
    except IndexMissing:
        return render(request, conn, "search.html", context | {"index_missing": True}, status=503)
    result = service.search(
        text, mode=mode, sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
        respell=spelling == "correct", count=True,
    )  # fmt: skip
    if result.paper is not None and result.paper.key:
        return RedirectResponse(f"/papers/{result.paper.key}", status_code=303)
    hits = result.hits
    entries = make_entries(
        conn, [h.paper for h in hits], [h.paper_id for h in hits], user,
        highlights=[(h.title_html, h.snippet_html) for h in hits],
    )  # fmt: skip
    args = {"q": q, "category": category or "", "since": since or "", "until": until or "",
            "sort": sort, "mode": mode, "spelling": "" if spelling == "correct" else spelling}  # fmt: skip
    suggested = {
        k: v for k, v in (args | {"q": result.suggestion or "", "spelling": ""}).items() if v
    }
    context |= {
        "entries": entries,
        "errors": result.query.errors,
        "has_more": result.has_more,
        "page_query": urlencode({k: v for k, v in args.items() if v}),
        "matches": result.matches,
        "suggestion": result.suggestion,
        "corrected": result.corrected,
        "suggestion_query": urlencode(suggested),
        "typed_query": urlencode({k: v for k, v in args.items() if v and k != "spelling"}),
        "date_floor": result.date_floor,
    }
    return render(request, conn, "search.html", context)
