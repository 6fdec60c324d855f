"""Server-rendered pages: the feed (day, week, month), a paper, a category, an author."""

from __future__ import annotations

import datetime as dt
import inspect
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from paperroute.bibtex import bibtex_entry, citation_key
from paperroute.citations import highwire_tags
from paperroute.index.sync import IndexMissing
from paperroute.rank import trending as trending_module
from paperroute.rank.trending import listing as ranked_listing
from paperroute.store import collections as collection_store
from paperroute.store import papers as paper_store
from paperroute.store import users as user_store
from paperroute.store import votes as vote_store
from paperroute.web.deps import Conn, Now, OptionalDate, Search, Visitor, render, site_secret
from paperroute.web.exports import EXPORT_SUFFIXES, ExportFormat, export_response
from paperroute.web.listing import PageNumber, make_entries
from paperroute.web.page_cache import cached_page
from paperroute.web.views import ViewRecorder, visitor_key

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
SIMILAR = 8
VISIT_GAP = dt.timedelta(hours=1)  # quiet time that ends a visit: what came before is "seen"
VISIT_RESOLUTION = dt.timedelta(minutes=5)  # a reader's visit is written at most this often

View = Literal["day", "week", "month"]
Sort = Literal["newest", "trending"]
ORDERS = {"newest": "announced", "trending": "trending"}


@dataclass(frozen=True, slots=True)
class Period:
    view: View
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        if self.view == "day":
            return self.start.strftime("%A, %B %-d, %Y")
        if self.view == "week":
            year, week, _ = self.start.isocalendar()
            return f"Week {week}, {year} ({self.start:%b %-d} to {self.end:%b %-d})"
        return self.start.strftime("%B %Y")


def period_around(view: View, day: dt.date) -> Period:
    """The day, ISO week or month that holds `day`."""
    if view == "week":
        start = day - dt.timedelta(days=day.weekday())
        return Period(view, start, start + dt.timedelta(days=6))
    if view == "month":
        start = day.replace(day=1)
        following = (start + dt.timedelta(days=32)).replace(day=1)
        return Period(view, start, following - dt.timedelta(days=1))
    return Period(view, day, day)


def _neighbours(conn: Conn, period: Period) -> tuple[Period | None, Period | None]:
    """The nearest periods before and after that have papers."""
    before = paper_store.latest_announced(conn, period.start - dt.timedelta(days=1))
    after = paper_store.earliest_announced(conn, period.end + dt.timedelta(days=1))
    return (
        period_around(period.view, before) if before else None,
        period_around(period.view, after) if after else None,
    )


@router.get("/")
def feed_page(
    request: Request,
    conn: Conn,
    user: Visitor,
    now: Now,
    date: OptionalDate = None,
    view: View = "day",
    sort: Sort = "newest",
    category: str = "",
    page: PageNumber = 1,
) -> Response:
    """The papers of a day, week or month (in one category if given), newest or trending."""
    if user is not None and (user.last_visit is None or now - user.last_visit > VISIT_RESOLUTION):
        user = user_store.mark_visit(conn, user, now, gap=VISIT_GAP)
        request.state.user = user
        conn.commit()

    def make() -> Response:
        day = date or paper_store.latest_announced(conn)
        context: dict[str, object] = {"view": view, "sort": sort, "page": page, "category": category,
                                      "page_size": PAGE_SIZE, "period": None, "entries": []}  # fmt: skip
        if day is not None:
            period = period_around(view, day)
            since, until, offset = period.start, period.end, (page - 1) * PAGE_SIZE
            listing = ranked_listing(conn, now.date(), order=ORDERS[sort], since=since,
                                     until=until, category=category or None, limit=PAGE_SIZE,
                                     offset=offset)  # fmt: skip
            previous, following = _neighbours(conn, period)
            entries = make_entries(conn, listing.papers, listing.ids, user, added=listing.added)
            context |= {"period": period, "listing": listing, "entries": entries,
                        "previous": previous, "following": following}  # fmt: skip
        return render(request, conn, "day.html", context, public=True)

    return cached_page(request, user is not None, make)


@router.get("/about/trending")
def about_trending(request: Request, conn: Conn, user: Visitor) -> Response:
    """The trending formula, as the code documents it."""
    formula = inspect.getdoc(trending_module) or ""
    return render(request, conn, "about_trending.html", {"formula": formula}, public=True)


def _listing_page(
    request: Request, conn: Conn, user: Visitor, heading: str, page: int, **filters: object
) -> Response:
    listing = paper_store.list_papers(
        conn,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        **filters,  # type: ignore[arg-type]
    )
    entries = make_entries(conn, listing.papers, listing.ids, user, added=listing.added)
    context = {"heading": heading, "listing": listing, "entries": entries,
               "page": page, "page_size": PAGE_SIZE}  # fmt: skip
    return render(request, conn, "category.html", context | {"filters": filters})


@router.get("/c/{category}")
def category_page(
    request: Request, conn: Conn, user: Visitor, category: str, page: PageNumber = 1
) -> Response:
    return _listing_page(request, conn, user, category, page, category=category)


@router.get("/authors/{name}")
def author_page(
    request: Request, conn: Conn, user: Visitor, name: str, page: PageNumber = 1
) -> Response:
    return _listing_page(request, conn, user, f"Papers by {name}", page, author=name)


@router.get("/added")
def added_page(request: Request, conn: Conn, user: Visitor, page: PageNumber = 1) -> Response:
    """Papers in the order this site stored them: imported lists, papers without a date."""
    return _listing_page(request, conn, user, "Recently added", page, order="added")


def _similar(search: Search, conn: Conn, paper_id: int, user: Visitor) -> list[object] | None:
    """Nearest papers by embedding; None when there is no search index yet."""
    try:
        ranker = search.service().ranker
    except IndexMissing:
        return None
    ids, _ = ranker.similar([paper_id], limit=SIMILAR + 4)
    found = paper_store.get_papers_by_ids(conn, ids)
    for hidden in paper_store.hidden_ids(conn, list(found)):
        del found[hidden]
    ordered = [i for i in ids if i in found][:SIMILAR]
    return list(make_entries(conn, [found[i] for i in ordered], ordered, user))


@router.get("/papers/{paper_ref:path}")
def paper_page(
    request: Request, conn: Conn, user: Visitor, search: Search, now: Now, paper_ref: str
) -> Response:
    """A paper with its versions, similar papers, votes and collections; `.bib` downloads BibTeX."""
    if not paper_ref.endswith(".bib"):
        _note_view(request, conn, user, now, paper_ref)
    return cached_page(
        request, user is not None, lambda: _paper_page(request, conn, user, search, paper_ref)
    )


def _note_view(request: Request, conn: Conn, user: Visitor, now: dt.datetime, ref: str) -> None:
    """Count the view for trending (cached pages too): once per visitor and day."""
    address = request.client.host if request.client else ""
    agent = request.headers.get("user-agent", "")
    visitor = visitor_key(site_secret(request, conn), user.id if user else None, address, agent)
    if visitor is not None:
        views: ViewRecorder = request.app.state.views
        views.note(ref, now.date(), visitor)


def _paper_page(
    request: Request, conn: Conn, user: Visitor, search: Search, paper_ref: str
) -> Response:
    fmt: ExportFormat | None = next(
        (f for f in EXPORT_SUFFIXES if paper_ref.endswith(f".{f}")), None
    )
    ref = paper_ref.removesuffix(f".{fmt}") if fmt else paper_ref
    ids = paper_store.ids_for_refs(conn, [ref])
    paper = paper_store.get_paper(conn, ref) if ids else None
    if paper is None or (
        paper_store.hidden_ids(conn, list(ids.values())) and not (user and user.is_admin)
    ):
        raise HTTPException(404, f"There is no paper {ref} here. Search for it, or submit it.")
    paper_id = ids[ref]
    if fmt is not None:
        return export_response(request, [paper], fmt, citation_key(paper))
    entry = make_entries(conn, [paper], [paper_id], None)[0]
    context: dict[str, object] = {
        "paper": paper,
        "entry": entry,
        "bibtex": bibtex_entry(paper),
        "citation_tags": highwire_tags(paper),
        "similar": _similar(search, conn, paper_id, user),
        "hidden": bool(paper_store.hidden_ids(conn, [paper_id])),
        "voted": False,
        "collections": [],
        "in_collections": set(),
    }
    if user is not None:
        context["voted"] = paper_id in vote_store.voted_ids(conn, user.id, [paper_id])
        context["dismissed"] = paper_id in vote_store.dismissed_ids(conn, user.id, [paper_id])
        context["collections"] = collection_store.list_collections(conn, user.id)
        context["in_collections"] = collection_store.collections_with_paper(conn, user.id, paper_id)
    return render(request, conn, "paper.html", context, public=True)
