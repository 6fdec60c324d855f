"""`/for-you`: a signed-in reader's recommendations, and the interests that start them."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, HTTPException, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from paperroute.domain import Paper
from paperroute.ingest.library_import import LibraryImport, import_library
from paperroute.ingest.sources.bibtex import read_bibtex_text
from paperroute.ingest.sources.library import LibraryFormatError, read_library
from paperroute.rank.for_you import CandidateCache, ForYou, recommend_for
from paperroute.store import papers as paper_store
from paperroute.store.interests import add_interests, list_interests, remove_interest
from paperroute.store.users import User
from paperroute.web.deps import Conn, CsrfChecked, Now, SignedIn, check_rate, render
from paperroute.web.listing import make_entries

__all__ = ["LIBRARY_UPLOAD", "MAX_UPLOAD", "recommendations_for", "router"]

router = APIRouter(include_in_schema=False)
SHOWN = 30
MAX_PASTE = 200_000  # characters of arXiv ids in one go
MAX_BIBTEX = 100_000  # characters of BibTeX: some 200 entries, parsed in well under a second
MAX_ADDED = 200  # papers taken from one paste: a reader's own list, not a library
LIBRARY_UPLOAD = "/for-you/library"
MAX_UPLOAD = 10_000_000  # bytes: a library of some 10,000 entries with abstracts
IMPORTS_PER_USER, IMPORT_WINDOW = 10, dt.timedelta(hours=1)
# Each post may parse a paste: a reader adds interests a few times, not hundreds.
POSTS_PER_USER, POST_WINDOW = 30, dt.timedelta(hours=1)
_BIBTEX_ENTRY = re.compile(r"@\s*[A-Za-z]+\s*[{(]")
_ARXIV_ID = re.compile(r"\b(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?\b")
_CATEGORY = re.compile(r"^[a-z][a-z-]*(?:\.[A-Za-z-]+)?$")


def recommendations_for(request: Request, conn: Conn, user_id: int, limit: int) -> list[ForYou]:
    cache: CandidateCache = request.app.state.candidates
    return recommend_for(conn, user_id, cache, limit=limit)


@router.get("/for-you")
def for_you(request: Request, conn: Conn, user: SignedIn) -> Response:
    """Papers of the last two weeks picked for the reader, each with its reason."""
    return _page(request, conn, user)


def _page(
    request: Request,
    conn: Conn,
    user: User,
    error: str | None = None,
    status: int = 200,
    *,
    imported: LibraryImport | None = None,
) -> Response:
    found = recommendations_for(request, conn, user.id, SHOWN)
    reasons = [("", html.escape(f.reason)) for f in found]
    entries = make_entries(conn, [f.paper for f in found], [f.paper_id for f in found], user,
                           highlights=reasons)  # fmt: skip
    context = {"entries": entries, "interests": list_interests(conn, user.id),
               "added": request.query_params.get("added"), "error": error,
               "unknown": request.query_params.get("unknown", ""),
               "rejected": request.query_params.get("rejected", ""), "imported": imported}  # fmt: skip
    return render(request, conn, "for_you.html", context, status=status)


def _papers_in(text: str) -> list[Paper]:
    return [item for item in read_bibtex_text(text, "pasted BibTeX") if isinstance(item, Paper)]


def _paste_problem(papers: str, bibtex: str) -> str | None:
    """Why a paste is too long to take in one go, if it is."""
    if len(papers) > MAX_PASTE:
        return (f"Papers: {len(papers):,} characters is over the limit of {MAX_PASTE:,} in one "
                "paste. Paste fewer ids at a time: each paste adds to what you follow.")  # fmt: skip
    entries = len(_BIBTEX_ENTRY.findall(bibtex))
    if len(bibtex) > MAX_BIBTEX or entries > MAX_ADDED:
        return (f"BibTeX: {entries:,} entries and {len(bibtex):,} characters; one paste takes at "
                f"most {MAX_ADDED} entries and {MAX_BIBTEX:,} characters. Paste fewer entries "
                "at a time: each paste adds to what you follow.")  # fmt: skip
    return None


@router.post("/for-you/interests", dependencies=[CsrfChecked])
def add(
    request: Request,
    conn: Conn,
    user: SignedIn,
    now: Now,
    categories: Annotated[str, Form(max_length=2000)] = "",
    papers: Annotated[str, Form()] = "",  # lengths checked below, with a message to match
    bibtex: Annotated[str, Form()] = "",
) -> Response:
    """Categories to follow, arXiv ids of papers here, or a BibTeX of one's own papers."""
    check_rate(conn, now, [(f"interests:user:{user.id}", POSTS_PER_USER)], POST_WINDOW)
    if problem := _paste_problem(papers, bibtex):
        return _page(request, conn, user, problem, status=400)
    wanted = [c for c in re.split(r"[\s,]+", categories) if c]
    chosen = [c for c in wanted if _CATEGORY.match(c)]
    rejected = [c for c in wanted if not _CATEGORY.match(c)]
    refs = list(dict.fromkeys(m.group(1) for m in _ARXIV_ID.finditer(papers)))[:MAX_ADDED]
    known = paper_store.ids_for_refs(conn, refs)
    found = paper_store.get_papers_by_ids(conn, list(set(known.values())))
    keys = [p.key for p in found.values() if p.key]
    texts = [p for p in _papers_in(bibtex) if p.title][:MAX_ADDED] if bibtex.strip() else []
    added = add_interests(conn, user.id, now, categories=chosen, paper_keys=keys, texts=texts)
    conn.commit()
    query = {"added": str(added), "unknown": " ".join(r for r in refs if r not in known),
             "rejected": " ".join(rejected)}  # fmt: skip
    return RedirectResponse("/for-you?" + urlencode(query), status_code=303)


@router.post(LIBRARY_UPLOAD, dependencies=[CsrfChecked])
def import_upload(
    request: Request,
    conn: Conn,
    user: SignedIn,
    now: Now,
    library: Annotated[UploadFile, File()],
    collection: Annotated[str, Form(max_length=200)] = "Imported library",
) -> Response:
    """A library exported from Zotero, Mendeley, JabRef...: into a collection and interests."""
    check_rate(conn, now, [(f"library:user:{user.id}", IMPORTS_PER_USER)], IMPORT_WINDOW)
    data = library.file.read(MAX_UPLOAD + 1)  # spooled to disk by the form parser
    name = (library.filename or "library")[:100]
    if len(data) > MAX_UPLOAD:
        raise HTTPException(413, f"{name} is over {MAX_UPLOAD // 1_000_000} MB: upload it in parts, "
                            "or ask an admin to run `paperroute library import`")  # fmt: skip
    try:
        items = read_library(data, name)
    except LibraryFormatError as exc:
        return _page(request, conn, user, str(exc), status=400)
    title = " ".join(collection.split()) or "Imported library"
    report = import_library(conn, user.id, items, now, collection_name=title)
    conn.commit()
    return _page(request, conn, user, imported=report)


@router.post("/for-you/interests/{interest_id}/remove", dependencies=[CsrfChecked])
def remove(
    conn: Conn, user: SignedIn, interest_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    remove_interest(conn, user.id, interest_id)
    conn.commit()
    return RedirectResponse("/for-you", status_code=303)
