"""RSS 2.0 and Atom feeds: the newest day, a category, a search, a public collection.

Every route serves both formats, chosen by the suffix of the last path segment:
`/feeds/daily.rss`, `/feeds/c/cs.LG.atom`, `/feeds/search.rss?q=...`,
`/feeds/collections/7.atom`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator

from paperroute.config import Settings
from paperroute.domain import Paper
from paperroute.index.sync import IndexMissing
from paperroute.store import collections as collection_store
from paperroute.store import papers as paper_store
from paperroute.web.api import INDEX_MISSING
from paperroute.web.deps import Conn, Now, Search, web_link

__all__ = [
    "FeedFormat",
    "FeedItem",
    "FeedSpec",
    "feed_response",
    "render_feed",
    "router",
    "split_feed_name",
]

# RSS and Atom, not JSON: documented in docs/api.md rather than in the OpenAPI schema.
router = APIRouter(include_in_schema=False)

FeedFormat = Literal["rss", "atom"]
MEDIA_TYPES: dict[FeedFormat, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}
# Feed readers poll; a few minutes of caching spares the database without hiding new papers.
CACHE_CONTROL = "public, max-age=300"
SITE_NAME = "paperroute"
DAY_LIMIT = 1000
CATEGORY_LIMIT = 100
SEARCH_LIMIT = 50
COLLECTION_LIMIT = 500
# Characters XML 1.0 cannot carry at all: lxml refuses them, so they are dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class FeedItem:
    """A paper in a feed; `added` dates it when the paper has no date of its own."""

    paper: Paper
    added: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """What a feed is: its title, a one-line description, and the site page it mirrors."""

    title: str
    description: str
    page: str  # path and query on this site, e.g. "/c/cs.LG"


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _as_html(value: str) -> str:
    """Plain text where RSS readers expect HTML: a collection named `<img ...>` stays text."""
    return html.escape(value, quote=False)


def _midnight(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), dt.UTC) if day else None


def _entry_id(paper: Paper) -> str:
    """The entry's id and guid: the paper's key, the same in every feed and on every host."""
    return f"urn:paperroute:paper:{paper.key or paper_store.paper_key(paper)}"


class _Entry(FeedEntry):
    """An entry that says in both formats what it means.

    feedgen 1.0.0 writes only the href of an entry's links in Atom, which would
    make the PDF and arXiv links look like alternates of the paper page. And an
    RSS title or description is HTML to readers, so the plain text is escaped
    once more there: `a < b` reads as itself, `<script>` as text.
    """

    def rss_entry(self, extensions: bool = True) -> Any:
        element = super().rss_entry(extensions)
        for name in ("title", "description"):
            node = element.find(name)
            if node is not None and node.text:
                node.text = _as_html(node.text)
        return element

    def atom_entry(self, extensions: bool = True) -> Any:
        element = super().atom_entry(extensions)
        links: list[dict[str, str]] = self.link() or []
        for node, link in zip(element.findall("link"), links, strict=True):
            for name in ("rel", "type", "title"):
                if link.get(name):
                    node.set(name, link[name])
        return element


def _add_entry(fg: FeedGenerator, item: FeedItem, root: str, fallback: dt.datetime) -> None:
    paper = item.paper
    published = _midnight(paper.announced)
    changed = _midnight(max((d for d in (paper.announced, paper.updated) if d), default=None))
    # feedgen attaches extensions (here Dublin Core) as attributes at run time.
    entry: Any = fg.add_entry(_Entry(), order="append")
    entry.guid(_entry_id(paper), permalink=False)
    entry.title(_text(paper.title))
    key = paper.key or paper_store.paper_key(paper)
    entry.link(href=f"{root}/papers/{quote(key)}", rel="alternate", type="text/html")
    if paper.abs_url:
        entry.link(href=paper.abs_url, rel="related", type="text/html", title="arXiv")
    if paper.pdf_url:
        entry.link(href=paper.pdf_url, rel="enclosure", type="application/pdf", title="PDF")
    code = web_link(paper.code_url)
    if code:
        entry.link(href=code, rel="related", title="code")
    if paper.authors:
        entry.author([{"name": _text(name)} for name in paper.authors])
        entry.dc.dc_creator([_text(name) for name in paper.authors])  # RSS has no author names
    if paper.categories:
        entry.category([{"term": _text(c)} for c in paper.categories])
    if published:
        entry.published(published)
    entry.updated(changed or item.added or fallback)
    if paper.abstract:
        entry.summary(_text(paper.abstract))  # plain text, escaped for XML by the library


def render_feed(
    spec: FeedSpec,
    items: Sequence[FeedItem],
    fmt: FeedFormat,
    *,
    root: str,
    self_url: str,
    now: dt.datetime,
) -> bytes:
    """A feed of papers in the given order, as UTF-8 XML; `root` is the site's address."""
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(self_url)
    # Atom says its titles are text; RSS readers take them, like descriptions, for HTML.
    shown = _as_html if fmt == "rss" else str
    fg.title(shown(_text(spec.title)))
    fg.subtitle(shown(_text(spec.description)))
    fg.link(href=self_url, rel="self", type=MEDIA_TYPES[fmt].partition(";")[0])
    # RSS takes the last link as the channel's: the page this feed mirrors.
    fg.link(href=f"{root}{spec.page}", rel="alternate", type="text/html")
    fg.author({"name": SITE_NAME})
    fg.generator(SITE_NAME, uri=f"{root}/")
    fg.language("en")
    for item in items:
        _add_entry(fg, item, root, now)
    # Updated when its newest entry was: an unchanged feed reads the same on every poll.
    entries: list[Any] = fg.entry()
    fg.updated(max((e.updated() for e in entries), default=now))
    return fg.rss_str(pretty=True) if fmt == "rss" else fg.atom_str(pretty=True)


def _site_root(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return (settings.base_url or str(request.base_url)).rstrip("/")


def _format(suffix: str) -> FeedFormat:
    if suffix == "rss":
        return "rss"
    if suffix == "atom":
        return "atom"
    raise HTTPException(404, f"No feed format .{suffix}: feed addresses end in .rss or .atom")


def split_feed_name(name: str) -> tuple[str, FeedFormat]:
    """`cs.LG.rss` -> ("cs.LG", "rss"); 404 for a name without a known suffix."""
    stem, _, suffix = name.rpartition(".")
    if not stem:
        raise HTTPException(404, f"No feed {name}: feed addresses end in .rss or .atom")
    return stem, _format(suffix)


def feed_response(
    request: Request, fmt: FeedFormat, spec: FeedSpec, items: Sequence[FeedItem], now: dt.datetime
) -> Response:
    root = _site_root(request)
    query = f"?{request.url.query}" if request.url.query else ""
    self_url = f"{root}{request.url.path}{query}"
    body = render_feed(spec, items, fmt, root=root, self_url=self_url, now=now)
    etag = f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
    headers = {"cache-control": CACHE_CONTROL, "etag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)


def _listed(page: paper_store.PaperPage) -> list[FeedItem]:
    return [FeedItem(p, added) for p, added in zip(page.papers, page.added, strict=True)]


@router.get("/feeds/daily.{suffix}", response_class=Response)
def daily_feed(
    request: Request, conn: Conn, now: Now, suffix: str, date: dt.date | None = None
) -> Response:
    """The papers of the newest announcement day, or of `?date=YYYY-MM-DD`."""
    fmt = _format(suffix)
    day = date or paper_store.latest_announced(conn)
    items: list[FeedItem] = []
    if day is not None:
        items = _listed(paper_store.list_papers(conn, since=day, until=day, limit=DAY_LIMIT))
    when = day.isoformat() if day else "no papers yet"
    spec = FeedSpec(
        f"{SITE_NAME} — {'papers of ' + when if date else 'daily papers'}",
        f"Papers announced on {when}." if day else "No papers have been announced yet.",
        f"/?date={day.isoformat()}" if date and day else "/",
    )
    return feed_response(request, fmt, spec, items, now)


@router.get("/feeds/c/{name}", response_class=Response)
def category_feed(request: Request, conn: Conn, now: Now, name: str) -> Response:
    """The newest papers of a category, cross-lists included."""
    category, fmt = split_feed_name(name)
    page = paper_store.list_papers(conn, category=category, limit=CATEGORY_LIMIT)
    spec = FeedSpec(
        f"{SITE_NAME} — {category}",
        f"The newest papers in {category}, cross-lists included.",
        f"/c/{quote(category)}",
    )
    return feed_response(request, fmt, spec, _listed(page), now)


@router.get("/feeds/search.{suffix}", response_class=Response)
def search_feed(
    request: Request,
    now: Now,
    search: Search,
    suffix: str,
    q: str = "",
    sort: Literal["relevance", "date", "votes"] = "relevance",
) -> Response:
    """The top results of a search, as the site's search box finds them."""
    fmt = _format(suffix)
    text = q.strip()
    if not text:
        raise HTTPException(
            400, "A search feed needs a query: add ?q= and your search words to the address"
        )
    try:
        service = search.service()
    except IndexMissing:
        raise HTTPException(503, INDEX_MISSING) from None
    result = service.search(text, sort=sort, limit=SEARCH_LIMIT, today=now.date())
    papers = [result.paper] if result.paper else [hit.paper for hit in result.hits]
    params = {"q": text} | ({"sort": sort} if sort != "relevance" else {})
    spec = FeedSpec(
        f"{SITE_NAME} — search: {text}",
        f"The top results of a search for {text}.",
        f"/search?{urlencode(params)}",
    )
    return feed_response(request, fmt, spec, [FeedItem(p) for p in papers], now)


@router.get("/feeds/collections/{name}", response_class=Response)
def collection_feed(request: Request, conn: Conn, now: Now, name: str) -> Response:
    """A public collection's papers, most recently added first."""
    stem, fmt = split_feed_name(name)
    collection = None
    if stem.isascii() and stem.isdigit() and len(stem) < 10:  # within an SQL integer
        collection = collection_store.get_collection(conn, int(stem))
    if collection is None or not collection.is_public:
        # The same answer for private and unknown: a feed never tells which it was.
        raise HTTPException(404, f"No public collection {stem}")
    shown = collection_store.shown_papers_in(conn, collection.id, COLLECTION_LIMIT)
    items = [FeedItem(paper, collection.created_at) for paper in shown]
    spec = FeedSpec(
        f"{SITE_NAME} — {collection.name}",
        f"Papers in the public collection {collection.name}.",
        f"/collections/{collection.id}",
    )
    return feed_response(request, fmt, spec, items, now)
