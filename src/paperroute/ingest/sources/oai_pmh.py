"""arXiv's OAI-PMH interface: every paper changed in a date range, page by page.

    GET {endpoint}?verb=ListRecords&metadataPrefix=arXivRaw&set=cs&from=...&until=...
    GET {endpoint}?verb=ListRecords&resumptionToken=...

Reads both arXiv metadata formats: `arXiv` (authors split into name parts) and
`arXivRaw` (an author string, and every version with its date). After each page
a `Checkpoint` carries an `OaiWatermark` (see `decode_oai_watermark`): an
unfinished harvest resumes from its token, a finished one tells the next
harvest where to start. arXiv's 503 + Retry-After flow control is honoured by
`PoliteClient`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from lxml import etree

from paperroute.domain import Checkpoint, Paper, Rejected, SourceItem, Version
from paperroute.ingest.http import PoliteClient
from paperroute.ingest.normalize import RecordError, build_paper, parse_date
from paperroute.ingest.sources.errors import SourceError
from paperroute.ingest.sources.xml_page import read_xml_page
from paperroute.ingest.xml import Element

__all__ = [
    "ARXIV_NS",
    "ARXIV_RAW_NS",
    "DEFAULT_ENDPOINT",
    "SOURCE",
    "OaiPage",
    "OaiWatermark",
    "decode_oai_watermark",
    "fetch_oai_records",
    "read_oai_page",
    "split_authors",
]

SOURCE = "arxiv-oai"
DEFAULT_ENDPOINT = "https://oaipmh.arxiv.org/oai"  # arXiv's OAI-PMH baseURL since 2025
OAI_NS = "http://www.openarchives.org/OAI/2.0/"
ARXIV_NS = "http://arxiv.org/OAI/arXiv/"
ARXIV_RAW_NS = "http://arxiv.org/OAI/arXivRaw/"
_OAI = {"oai": OAI_NS}


@dataclass(frozen=True, slots=True)
class OaiWatermark:
    """Where a harvest stands: the token to resume it, and the dates to start the next one."""

    token: str | None = None  # None once the list is complete
    harvest_from: dt.date | None = None  # the `from` this harvest started with
    datestamp: dt.date | None = None  # the latest record datestamp seen

    def next_from(self) -> dt.date | None:
        """The `from` date of a fresh harvest that misses nothing."""
        if self.token is None:
            return self.datestamp or self.harvest_from
        # Records do not come in datestamp order: until the list is complete, the
        # latest datestamp seen says nothing about the records still to come.
        return self.harvest_from

    def encode(self) -> str:
        """The watermark as compact JSON: {"datestamp", "from", "token"}."""
        return json.dumps(
            {
                "datestamp": _iso(self.datestamp),
                "from": _iso(self.harvest_from),
                "token": self.token,
            },
            sort_keys=True,
            separators=(",", ":"),
        )


@dataclass(frozen=True, slots=True)
class OaiPage:
    """One ListRecords page: its papers and rejects, its latest datestamp, the next token."""

    items: tuple[Paper | Rejected, ...] = ()
    datestamp: dt.date | None = None  # deleted records count: they were seen too
    token: str | None = None  # None on the last page


def decode_oai_watermark(watermark: str) -> OaiWatermark:
    """Read a watermark written by `OaiWatermark.encode`; SourceError if it is not one."""
    try:
        data = json.loads(watermark)
        token = data["token"]
        if token is not None and not isinstance(token, str):
            raise TypeError("token")
        return OaiWatermark(
            token=token or None,
            harvest_from=_date_or_none(data["from"]),
            datestamp=_date_or_none(data["datestamp"]),
        )
    except (ValueError, TypeError, KeyError, RecursionError) as exc:  # Recursion: "[[[[..."
        raise SourceError(
            f"watermark {watermark[:200]!r} is not an OAI-PMH harvest position; "
            "start a fresh harvest with a from date"
        ) from exc


def fetch_oai_records(
    client: PoliteClient,
    *,
    endpoint: str = DEFAULT_ENDPOINT,
    metadata_prefix: str = "arXivRaw",
    set_spec: str | None = "cs",
    from_date: dt.date | None = None,
    until_date: dt.date | None = None,
    watermark: str | None = None,
) -> Iterator[SourceItem]:
    """Papers changed in [from_date, until_date]; a `Checkpoint` after each page.

    Given the last watermark of an earlier run, an unfinished harvest resumes
    from its token; a finished one starts anew from its latest datestamp
    (unless `from_date` says otherwise). Deleted records are skipped.
    """
    state = decode_oai_watermark(watermark) if watermark else OaiWatermark()
    if state.token is None:
        state = OaiWatermark(None, from_date or state.next_from(), state.datestamp)
        params = _first_params(metadata_prefix, set_spec, state.harvest_from, until_date)
    else:
        params = {"verb": "ListRecords", "resumptionToken": state.token}
    while True:
        response = client.get(endpoint, params=params)
        where = str(response.url)
        page = read_oai_page(response.content, where, response.status_code)
        yield from page.items
        token = page.token
        if token is not None and token == params.get("resumptionToken"):
            raise SourceError(f"{where}: the server sent the same resumption token again")
        latest = max(filter(None, (state.datestamp, page.datestamp)), default=None)
        state = OaiWatermark(token, state.harvest_from, latest)
        yield Checkpoint(state.encode())
        if token is None:
            return
        params = {"verb": "ListRecords", "resumptionToken": token}


def read_oai_page(content: bytes, where: str, status: int = 200) -> OaiPage:
    """One fetched ListRecords page; deleted records are skipped, malformed ones `Rejected`.

    noRecordsMatch is an empty page; any other OAI-PMH error, or a page that is
    not OAI-PMH, raises SourceError.
    """
    listing = _listing(content, where, status)
    if listing is None:
        return OaiPage()
    items: list[Paper | Rejected] = []
    latest: dt.date | None = None
    for number, record in enumerate(listing.findall("oai:record", _OAI), start=1):
        stamp, item = _record_item(record, f"{where} record {number}")
        if stamp is not None and (latest is None or stamp > latest):
            latest = stamp
        if item is not None:
            items.append(item)
    return OaiPage(tuple(items), latest, _next_token(listing))


def split_authors(text: str) -> list[str]:
    """Names from arXiv's author string: "A. Smith (MIT), B. Jones and C. Lee"."""
    # Spaces collapsed after the affiliations go: on a long run of them the
    # `\s+and\s+` separator backtracks in quadratic time.
    text = " ".join(_drop_parentheses(text).split())
    names: list[str] = []
    for part in _AUTHOR_SEP_RE.split(text):
        name = part.strip()
        if name.lower() in _SUFFIXES and names:  # "Cesar, Jr." is one author
            names[-1] = f"{names[-1]} {name}"
        elif name:
            names.append(name)
    return names


def _drop_parentheses(text: str) -> str:
    """Text without affiliations, nested or not: "(1) MIT, (2) CMU"; a stray paren stays."""
    # One pass over the parentheses: re-substituting innermost pairs until
    # nothing changes takes quadratic time on deeply nested input.
    opened: list[int] = []  # where each still unmatched "(" is
    spans: list[tuple[int, int]] = []  # matched pairs, outermost only, in order
    for match in _PAREN_RE.finditer(text):
        if match[0] == "(":
            opened.append(match.start())
        elif opened:
            start = opened.pop()
            while spans and spans[-1][0] > start:  # pairs inside this one
                spans.pop()
            spans.append((start, match.end()))
    if not spans:
        return text
    kept, end = [], 0
    for start, stop in spans:
        kept += [text[end:start], " "]
        end = stop
    return "".join([*kept, text[end:]])


_PAREN_RE = re.compile(r"[()]")
_AUTHOR_SEP_RE = re.compile(r",|\s+and\s+")
_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


def _first_params(
    metadata_prefix: str, set_spec: str | None, start: dt.date | None, end: dt.date | None
) -> dict[str, str]:
    params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
    if set_spec:
        params["set"] = set_spec
    if start:
        params["from"] = start.isoformat()
    if end:
        params["until"] = end.isoformat()
    return params


def _listing(content: bytes, where: str, status: int) -> Element | None:
    """The page's ListRecords element; None for noRecordsMatch."""
    hint = "check the endpoint, or run again later"
    root = read_xml_page(content, where, status, hint=hint)
    if root.tag != f"{{{OAI_NS}}}OAI-PMH":
        raise SourceError(f"{where}: not an OAI-PMH response; check the endpoint")
    error = root.find("oai:error", _OAI)
    if error is not None:
        code = error.get("code", "")
        if code == "noRecordsMatch":  # an empty result, not a failure
            return None
        message = " ".join((error.text or "").split())[:300]
        raise SourceError(f"{where}: OAI-PMH error {code[:40]}: {message}; {_advice(code)}")
    listing = root.find("oai:ListRecords", _OAI)
    if status != 200 or listing is None:
        raise SourceError(f"{where}: answered HTTP {status} without records; check the endpoint")
    return listing


def _advice(code: str) -> str:
    if code == "badResumptionToken":
        return (
            "resumption tokens expire after a while: start a fresh harvest "
            "from the `from` date of the saved watermark"
        )
    return "check the metadata format, set and dates, then run again"


def _next_token(listing: Element) -> str | None:
    """The resumption token of the next page, or None when this page was the last."""
    # The last page carries an empty resumptionToken element, or none at all.
    return (listing.findtext("oai:resumptionToken", "", _OAI)).strip() or None


def _record_item(record: Element, where: str) -> tuple[dt.date | None, Paper | Rejected | None]:
    """A record's datestamp and its paper (None if deleted, `Rejected` if malformed)."""
    header = record.find("oai:header", _OAI)
    if header is None:
        return None, Rejected(where, "record has no header")
    where = f"{where} ({header.findtext('oai:identifier', '', _OAI).strip()})"
    try:
        stamp = parse_date(header.findtext("oai:datestamp", None, _OAI))
    except RecordError as exc:
        return None, Rejected(where, f"header: {exc}")
    if header.get("status") == "deleted":
        return stamp, None
    metadata = record.find("oai:metadata", _OAI)
    try:
        if metadata is None or len(metadata) == 0:
            raise RecordError("record has no metadata")
        return stamp, _metadata_paper(metadata[0])
    except RecordError as exc:
        return stamp, Rejected(where, str(exc))


# What differs between the formats: authors, versions, submitted and updated dates.
_FormatFields = tuple[list[str], list[Version], dt.date | None, dt.date | None]


def _metadata_paper(metadata: Element) -> Paper:
    """An `arXiv` or `arXivRaw` metadata block as a paper; RecordError if malformed."""
    namespace = etree.QName(metadata).namespace or ""
    ns = {"m": namespace}
    if namespace == ARXIV_NS:
        authors, versions, submitted, updated = _arxiv_fields(metadata, ns)
    elif namespace == ARXIV_RAW_NS:
        authors, versions, submitted, updated = _raw_fields(metadata, ns)
    else:
        raise RecordError(f"metadata format {namespace!r} is neither arXiv nor arXivRaw")

    def text(name: str) -> str | None:
        return metadata.findtext(f"m:{name}", None, ns)

    if not (text("id") or "").strip():
        raise RecordError("record has no arXiv id")
    return build_paper(
        source=SOURCE,
        arxiv_id=text("id"),
        title=text("title"),
        abstract=text("abstract") or "",
        authors=authors,
        categories=(text("categories") or "").split(),  # the primary category first
        versions=versions,
        submitted=submitted,
        updated=updated,
        comment=text("comments"),
        journal_ref=text("journal-ref"),
        doi=text("doi"),
    )


def _arxiv_fields(metadata: Element, ns: Mapping[str, str]) -> _FormatFields:
    authors = [_author_name(author, ns) for author in metadata.findall("m:authors/m:author", ns)]
    created = parse_date(metadata.findtext("m:created", None, ns))  # the day of v1
    updated = parse_date(metadata.findtext("m:updated", None, ns))  # of the latest, if not v1
    # This format does not say which version it describes (the latest, with
    # `updated` its date): no version list, so the merge goes by that date.
    return authors, [], created, updated


def _raw_fields(metadata: Element, ns: Mapping[str, str]) -> _FormatFields:
    authors = split_authors(metadata.findtext("m:authors", "", ns))
    versions = [_raw_version(version, ns) for version in metadata.findall("m:version", ns)]
    versions.sort(key=lambda version: version.number)
    first = versions[0].date if versions and versions[0].number == 1 else None
    return authors, versions, first, versions[-1].date if versions else None


def _author_name(author: Element, ns: Mapping[str, str]) -> str:
    parts = (author.findtext(f"m:{part}", "", ns) for part in ("forenames", "keyname", "suffix"))
    return " ".join(part.strip() for part in parts if part.strip())


def _raw_version(version: Element, ns: Mapping[str, str]) -> Version:
    """One <version version="v2"><date>Mon, 2 Apr 2007 19:18:42 GMT</date> of arXivRaw."""
    label = version.get("version", "")
    if not re.fullmatch(r"v\d{1,4}", label):
        raise RecordError(f"version {label[:20]!r} is not like v1, v2, ...")
    raw_date = version.findtext("m:date", "", ns).strip()
    try:
        date = email.utils.parsedate_to_datetime(raw_date).date() if raw_date else None
    except (TypeError, ValueError, OverflowError):  # Overflow: a time zone like -99999999999
        raise RecordError(
            f"{label} has a date {raw_date[:40]!r} that is not an RFC 2822 date"
        ) from None
    return Version(int(label[1:]), date)


def _iso(date: dt.date | None) -> str | None:
    return date.isoformat() if date else None


def _date_or_none(value: object) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("date")
    return dt.date.fromisoformat(value)
