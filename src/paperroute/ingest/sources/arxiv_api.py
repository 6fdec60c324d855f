"""The arXiv query API: Atom feeds of search results or of listed ids, page by page.

    GET {base_url}/api/query?search_query=...&id_list=...&start=N&max_results=M

After each page a `Checkpoint` carries the next `start`, so an interrupted run
resumes with `start=int(watermark)`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from urllib.parse import parse_qsl, urlsplit

from paperroute.domain import Checkpoint, Paper, Rejected, SourceItem, Version
from paperroute.ingest.http import PoliteClient
from paperroute.ingest.normalize import RecordError, build_paper, parse_arxiv_id, parse_date
from paperroute.ingest.sources.errors import SourceError
from paperroute.ingest.sources.xml_page import read_xml_page
from paperroute.ingest.xml import Element

__all__ = [
    "DEFAULT_BASE_URL",
    "ID_BATCH",
    "SOURCE",
    "fetch_arxiv_ids",
    "fetch_arxiv_query",
    "read_arxiv_page",
]

SOURCE = "arxiv-api"
DEFAULT_BASE_URL = "https://export.arxiv.org"
ID_BATCH = 100  # ids per request: keeps the URL well under any server's limit

_NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "os": "http://a9.com/-/spec/opensearch/1.1/",
}
_FEED_TAG = "{http://www.w3.org/2005/Atom}feed"
_ERROR_ID = "arxiv.org/api/errors"  # arXiv reports a bad query as an entry with this id


def fetch_arxiv_query(
    client: PoliteClient,
    *,
    base_url: str = DEFAULT_BASE_URL,
    search_query: str = "",
    id_list: Sequence[str] = (),
    page_size: int = 100,
    start: int = 0,
    max_results: int | None = None,
    sort_by: str | None = None,
    sort_order: str | None = None,
) -> Iterator[SourceItem]:
    """Papers for a search query and/or id list, a `Checkpoint(next start)` after each page."""
    if not search_query and not id_list:
        raise ValueError("give a search_query or an id_list")
    url = f"{base_url.rstrip('/')}/api/query"
    query = _query_params(search_query, id_list, sort_by, sort_order)
    fetched = 0
    while max_results is None or fetched < max_results:
        size = page_size if max_results is None else min(page_size, max_results - fetched)
        response = client.get(url, params={**query, "start": start, "max_results": size})
        where = str(response.url)
        items, total = read_arxiv_page(response.content, where, response.status_code)
        yield from items
        if not items:
            if start < total:
                raise SourceError(
                    f"{where}: arXiv sent no entries at start={start} of {total:,} results "
                    "(it does this when busy, and past ~30,000 results of one query); "
                    f"run again later to resume from start={start}, or narrow the query"
                )
            return
        start += len(items)
        fetched += len(items)
        yield Checkpoint(str(start))
        if start >= total:
            return


def fetch_arxiv_ids(
    client: PoliteClient,
    ids: Iterable[str],
    *,
    base_url: str = DEFAULT_BASE_URL,
    batch_size: int = ID_BATCH,
) -> Iterator[Paper | Rejected]:
    """Papers for arXiv ids (bare, versioned or URLs); bad or unknown ids are `Rejected`."""
    wanted: dict[str, str] = {}  # id as sent (with its version, if given) -> bare id
    for raw in ids:
        parsed = parse_arxiv_id(raw)
        if parsed is None:
            yield Rejected(f"id {raw.strip()[:100]!r}", "not an arXiv id (e.g. 2503.11731)")
            continue
        bare, version = parsed
        wanted.setdefault(f"{bare}v{version}" if version else bare, bare)
    requested = list(wanted)
    for first in range(0, len(requested), batch_size):
        batch = requested[first : first + batch_size]
        found: set[str | None] = set()
        for item in fetch_arxiv_query(
            client, base_url=base_url, id_list=batch, page_size=len(batch)
        ):
            if isinstance(item, Paper):
                found.add(item.arxiv_id)
            if not isinstance(item, Checkpoint):  # offsets mean nothing across batches
                yield item
        for sent in batch:
            if wanted[sent] not in found:
                yield Rejected(f"arXiv id {sent}", "arXiv has no paper with this id")


def _query_params(
    search_query: str, id_list: Sequence[str], sort_by: str | None, sort_order: str | None
) -> dict[str, str | int]:
    params: dict[str, str | int] = {}
    if search_query:
        params["search_query"] = search_query
    if id_list:
        params["id_list"] = ",".join(id_list)
    if sort_by:
        params["sortBy"] = sort_by
    if sort_order:
        params["sortOrder"] = sort_order
    return params


def read_arxiv_page(
    content: bytes, where: str, status: int = 200
) -> tuple[list[Paper | Rejected], int]:
    """One page of results from `where`: its entries and the query's total result count.

    A malformed entry is `Rejected`; a page that is no API feed, or that says
    the query was refused, raises SourceError.
    """
    hint = "check the base URL, or run again later if arXiv is down"
    feed = read_xml_page(content, where, status, hint=hint)
    if feed.tag != _FEED_TAG:
        raise SourceError(f"{where}: answered HTTP {status} with no Atom feed; check the base URL")
    problem = _api_error(feed)
    if problem is not None:
        shown = ", ".join(f"{key}={value}" for key, value in parse_qsl(urlsplit(where).query))
        raise SourceError(
            f"arXiv refused the query ({shown}): {problem}; fix the query and run again [{where}]"
        )
    if status != 200:
        raise SourceError(f"{where}: answered HTTP {status}; check the base URL and run again")
    entries = feed.findall("atom:entry", _NS)
    items = [_entry_item(entry, f"{where} entry {n}") for n, entry in enumerate(entries, start=1)]
    return items, _total_results(feed, where)


def _api_error(feed: Element) -> str | None:
    for entry in feed.findall("atom:entry", _NS):
        if _ERROR_ID in entry.findtext("atom:id", default="", namespaces=_NS):
            message = entry.findtext("atom:summary", default="", namespaces=_NS).strip()
            return message[:300] or "error"
    return None


def _total_results(feed: Element, where: str) -> int:
    text = feed.findtext("os:totalResults", default="", namespaces=_NS).strip()
    if not re.fullmatch(r"[0-9]{1,12}", text):  # isdigit() takes "²", which int() refuses
        raise SourceError(f"{where}: the feed has no result count; is this the arXiv API?")
    return int(text)


def _entry_item(entry: Element, where: str) -> Paper | Rejected:
    try:
        return _entry_paper(entry)
    except RecordError as exc:
        return Rejected(where, str(exc))


def _entry_paper(entry: Element) -> Paper:
    """One Atom entry as a paper; raise RecordError naming what is wrong."""

    def text(path: str) -> str | None:
        return entry.findtext(path, namespaces=_NS)

    raw_id = text("atom:id") or ""
    parsed = parse_arxiv_id(raw_id)
    if parsed is None:
        raise RecordError(f"entry id {raw_id.strip()[:80]!r} is not an arXiv id")
    arxiv_id, version = parsed
    published, updated = parse_date(text("atom:published")), parse_date(text("atom:updated"))
    primary = entry.find("arxiv:primary_category", _NS)
    categories = [primary.get("term", "")] if primary is not None else []
    categories += [category.get("term", "") for category in entry.findall("atom:category", _NS)]
    authors = [
        author.findtext("atom:name", "", _NS) for author in entry.findall("atom:author", _NS)
    ]
    return build_paper(
        source=SOURCE,
        arxiv_id=arxiv_id,
        title=text("atom:title"),
        abstract=text("atom:summary") or "",
        authors=authors,
        categories=categories,
        versions=_versions(version, published, updated),
        submitted=published,
        updated=updated,
        comment=text("arxiv:comment"),
        journal_ref=text("arxiv:journal_ref"),
        doi=text("arxiv:doi"),
    )


def _versions(
    number: int | None, published: dt.date | None, updated: dt.date | None
) -> tuple[Version, ...]:
    if number is None:
        return ()
    if number == 1:
        return (Version(1, published),)
    # The feed shows one version: `published` is when v1 appeared, `updated` when this one did.
    return (Version(1, published), Version(number, updated))
