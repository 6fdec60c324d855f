"""arXiv's daily RSS feeds: what was announced today in some categories.

    GET {base_url}/rss/cs            GET {base_url}/rss/cs.LG+cs.CL

One RSS 2.0 channel per announcement day (its `pubDate`). Each item's
description starts with the versioned id and why it is listed:

    arXiv:2503.11731v1 Announce Type: new
    Abstract: Sensor simulation is ...

`new` is a first announcement, `cross` a cross-list from another archive,
`replace` / `replace-cross` a new version of an older paper. On weekends and
holidays the channel has no items.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Iterator

from paperroute.domain import Checkpoint, Paper, Rejected, SourceItem, Version
from paperroute.ingest.http import PoliteClient
from paperroute.ingest.normalize import RecordError, build_paper, parse_arxiv_id
from paperroute.ingest.sources.errors import SourceError
from paperroute.ingest.sources.xml_page import read_xml_page
from paperroute.ingest.xml import Element

__all__ = ["ANNOUNCE_TYPES", "SOURCE", "fetch_arxiv_rss", "read_arxiv_rss"]

SOURCE = "arxiv-rss"
ANNOUNCE_TYPES = frozenset({"new", "cross", "replace", "replace-cross"})
_FIRST_LISTING = frozenset({"new", "cross"})  # the day a paper shows up in these categories
_NS = {"arxiv": "http://arxiv.org/schemas/atom", "dc": "http://purl.org/dc/elements/1.1/"}
_CATEGORY_RE = re.compile(r"^[a-z][a-z\-]*(?:\.[A-Za-z\-]+)?$")
_DESCRIPTION_RE = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce\s+Type:\s*(?P<type>[\w\-]+)\s*(?:Abstract:)?(?P<abstract>.*)$",
    re.DOTALL | re.IGNORECASE,
)
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


def _feed_path(categories: str) -> str:
    """`cs.LG+cs.CL` from "cs.LG+cs.CL", "cs.LG, cs.CL" or "cs.LG cs.CL"; refuse anything else."""
    parts = [part for part in re.split(r"[+,\s]+", categories) if part]
    bad = [part for part in parts if not _CATEGORY_RE.match(part)]
    if not parts or bad:
        raise SourceError(
            f"arXiv RSS: {categories!r} is not a list of arXiv categories "
            "(write e.g. 'cs' or 'cs.LG+cs.CL')"
        )
    return "+".join(parts)


def _check_types(announce_types: set[str] | None) -> frozenset[str]:
    if announce_types is None:
        return ANNOUNCE_TYPES  # and items of a type arXiv adds later are kept too
    unknown = set(announce_types) - ANNOUNCE_TYPES
    if unknown:
        raise SourceError(
            f"arXiv RSS: unknown announce type(s) {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(sorted(ANNOUNCE_TYPES))}"
        )
    return frozenset(announce_types)


def _channel(content: bytes, where: str, status: int) -> Element:
    root = read_xml_page(content, where, status, hint="check the base URL")
    if status != 200:
        raise SourceError(f"{where} answered HTTP {status}; check the base URL")
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise SourceError(f"{where}: not an RSS feed (the document is a <{str(root.tag)[:80]}>)")
    return channel


def _rfc822_date(text: str | None) -> dt.date | None:
    """The calendar day of an RSS date, in the feed's own time zone (arXiv's, US Eastern)."""
    if not text:
        return None
    try:
        return email.utils.parsedate_to_datetime(text.strip()).date()
    except (TypeError, ValueError, OverflowError):  # Overflow: a time zone like -99999999999
        return None


def _split_authors(text: str) -> list[str]:
    """`dc:creator` is one comma-separated string; keep "Jr." with the name before it."""
    names: list[str] = []
    for part in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", text.strip()):
        if part.lower() in _NAME_SUFFIXES and names:
            names[-1] = f"{names[-1]}, {part}"
        elif part:
            names.append(part)
    return names


def _arxiv_id(item: Element, match: re.Match[str] | None) -> tuple[str, int | None]:
    """The id and version: the description has both; guid and link are fallbacks."""
    candidates = [match["id"]] if match else []
    candidates += [item.findtext("guid") or "", item.findtext("link") or ""]
    for text in candidates:
        parsed = parse_arxiv_id(text)
        if parsed is not None:
            return parsed
    raise RecordError("no arXiv id in the description, guid or link")


def _announce_type(item: Element) -> str:
    text = item.findtext("arxiv:announce_type", namespaces=_NS)
    if text is None:
        match = _DESCRIPTION_RE.match(item.findtext("description") or "")
        text = match["type"] if match else ""
    return text.strip().lower()


def _item_to_paper(item: Element, announced: dt.date | None) -> Paper:
    """The paper an item describes; RecordError if it cannot be one."""
    description = item.findtext("description") or ""
    match = _DESCRIPTION_RE.match(description)
    announce_type = _announce_type(item)
    arxiv_id, version = _arxiv_id(item, match)
    if announce_type.startswith("replace") and version is None:
        # Without the number the pipeline cannot tell which version is new.
        raise RecordError(f"a replacement of {arxiv_id} without a version number")
    return build_paper(
        source=SOURCE,
        arxiv_id=arxiv_id,
        versions=[Version(version)] if version else [],
        title=item.findtext("title"),
        abstract=match["abstract"] if match else description,
        authors=_split_authors(item.findtext("dc:creator", namespaces=_NS) or ""),
        categories=[c.text or "" for c in item.findall("category")],
        # A replacement was first announced on an earlier day the feed does not give;
        # saying "today" would make an old paper look new.
        announced=announced if announce_type in _FIRST_LISTING else None,
        journal_ref=item.findtext("arxiv:journal_reference", namespaces=_NS),
        doi=item.findtext("arxiv:DOI", namespaces=_NS),
    )


def fetch_arxiv_rss(
    client: PoliteClient,
    *,
    base_url: str,
    categories: str,
    announce_types: set[str] | None = None,
) -> Iterator[SourceItem]:
    """Today's announcements in `categories`, optionally only some announce types.

    Ends with `Checkpoint(<announcement day, YYYY-MM-DD>)` unless the feed is empty.
    """
    _check_types(announce_types)  # a typo is refused before any request
    url = f"{base_url.rstrip('/')}/rss/{_feed_path(categories)}"
    response = client.get(url)
    yield from read_arxiv_rss(
        response.content, str(response.url), response.status_code, announce_types=announce_types
    )


def read_arxiv_rss(
    content: bytes, where: str, status: int = 200, *, announce_types: set[str] | None = None
) -> Iterator[SourceItem]:
    """The items of one fetched feed, as `fetch_arxiv_rss` yields them.

    A bad item is `Rejected("{where} item {n}")`; a page that is no RSS feed
    raises SourceError.
    """
    wanted = _check_types(announce_types)
    channel = _channel(content, where, status)
    announced = _rfc822_date(channel.findtext("pubDate"))
    items = channel.findall("item")
    for number, item in enumerate(items, start=1):
        if announce_types is not None and _announce_type(item) not in wanted:
            continue
        try:
            yield _item_to_paper(item, announced)
        except RecordError as exc:
            yield Rejected(f"{where} item {number}", str(exc))
    if items and announced is not None:
        yield Checkpoint(announced.isoformat())
