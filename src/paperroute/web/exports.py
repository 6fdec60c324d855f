"""Lists of papers as files for reference managers: BibTeX, RIS and CSL-JSON.

The same three formats for a paper (`/papers/X.bib`, `.ris`, `.csl.json`), a
collection, a search and the reader's for-you list, each as a download.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from paperroute.bibtex import bibtex_entries
from paperroute.citations import csl_items, ris_text
from paperroute.domain import Paper
from paperroute.index.sync import IndexMissing
from paperroute.store import collections as collection_store
from paperroute.web.account import visible_collection
from paperroute.web.api import CollectionId
from paperroute.web.deps import Conn, Now, OptionalDate, Search, SignedIn, Visitor, settings_of
from paperroute.web.for_you import recommendations_for
from paperroute.web.search_page import SearchMode, full_query

__all__ = ["EXPORT_SUFFIXES", "ExportFormat", "export_response", "router"]

router = APIRouter(include_in_schema=False)

ExportFormat = Literal["bib", "ris", "csl.json"]
EXPORT_SUFFIXES: tuple[ExportFormat, ...] = ("bib", "ris", "csl.json")
MAX_EXPORTED = 1000  # a search or for-you export: its best results, not the corpus
_MEDIA = {
    "bib": "application/x-bibtex; charset=utf-8",
    "ris": "application/x-research-info-systems; charset=utf-8",
    "csl.json": "application/vnd.citationstyles.csl+json",
}


def export_response(
    request: Request, papers: Sequence[Paper], fmt: ExportFormat, stem: str
) -> Response:
    """The papers as a download in one of the formats."""
    site = settings_of(request).mail_base_url  # configured, never the request's Host
    if fmt == "bib":
        body = bibtex_entries(papers).encode()
    elif fmt == "ris":
        body = ris_text(papers, site).encode()
    else:
        body = orjson.dumps(csl_items(papers, site), option=orjson.OPT_INDENT_2)
    disposition = f'attachment; filename="{stem}.{fmt}"'
    return Response(body, media_type=_MEDIA[fmt], headers={"content-disposition": disposition})


@router.get("/collections/{collection_id}/export.{fmt}")
def collection_export(
    request: Request, conn: Conn, user: Visitor, collection_id: CollectionId, fmt: ExportFormat
) -> Response:
    collection = visible_collection(conn, user, collection_id)
    papers = collection_store.shown_papers_in(conn, collection.id)
    return export_response(request, papers, fmt, f"collection-{collection.id}")


@router.get("/collections/{collection_id}/bibtex")
def collection_bibtex(
    request: Request, conn: Conn, user: Visitor, collection_id: CollectionId
) -> Response:
    """The address BibTeX had before the other formats: kept, for links people saved."""
    return collection_export(request, conn, user, collection_id, "bib")


@router.get("/search/export.{fmt}")
def search_export(
    request: Request,
    search: Search,
    fmt: ExportFormat,
    q: str = Query("", max_length=2000),
    category: str | None = Query(None, max_length=64),
    since: OptionalDate = None,
    until: OptionalDate = None,
    mode: SearchMode = "hybrid",
    limit: int = Query(100, ge=1, le=MAX_EXPORTED),
) -> Response:
    text = full_query(q, category, since, until)
    if not text:
        raise HTTPException(400, "Say what to search for: /search/export.ris?q=diffusion")
    try:
        result = search.service().search(text, mode=mode, limit=limit)
    except IndexMissing:
        raise HTTPException(
            503, "The search index is being built; try again in a minute."
        ) from None
    papers = [result.paper] if result.paper is not None else [h.paper for h in result.hits]
    return export_response(request, papers, fmt, "search")


@router.get("/for-you/export.{fmt}")
def for_you_export(
    request: Request,
    conn: Conn,
    user: SignedIn,
    now: Now,
    fmt: ExportFormat,
    limit: int = Query(50, ge=1, le=MAX_EXPORTED),
) -> Response:
    found = recommendations_for(request, conn, user.id, limit)
    stem = f"for-you-{now.date().isoformat()}"
    return export_response(request, [f.paper for f in found], fmt, stem)
