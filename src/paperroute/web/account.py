"""What a signed-in reader does: vote, dismiss, collect, submit; admins hide papers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import Connection

from paperroute.ingest.http import FetchError, FetchPolicy, PoliteClient
from paperroute.ingest.submit import SubmitError, submit_paper
from paperroute.store import api_tokens as token_store
from paperroute.store import collections as collection_store
from paperroute.store import papers as paper_store
from paperroute.store import votes as vote_store
from paperroute.store.collections import Collection
from paperroute.store.users import User
from paperroute.web.auth import safe_next
from paperroute.web.deps import (
    Admin,
    Conn,
    CsrfChecked,
    Now,
    SignedIn,
    Visitor,
    check_rate,
    render,
    settings_of,
)
from paperroute.web.digest_pages import digest_status
from paperroute.web.listing import PageNumber, make_entries

__all__ = ["own_collection", "router", "visible_collection"]

router = APIRouter(include_in_schema=False, dependencies=[])
SUBMIT_WINDOW = dt.timedelta(hours=1)
SUBMITS_PER_USER, SUBMITS_PER_IP = 20, 60
PAGE_SIZE = 50

CollectionName = Annotated[str, Form(min_length=1, max_length=200)]
CollectionId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # within an SQL integer
TokenLifetime = Literal["30", "90", "365", "never"]
TOKEN_LIFETIMES: dict[str, int | None] = {"30": 30, "90": 90, "365": 365, "never": None}  # days


def _paper_id(conn: Conn, ref: str) -> int:
    found = paper_store.ids_for_refs(conn, [ref])
    if not found:
        raise HTTPException(404, f"There is no paper {ref} here.")
    return found[ref]


def _visible_paper_id(conn: Conn, ref: str) -> int:
    """A paper one may vote for or collect: a hidden one is "not here", as its page says.
    (A vote or a collection entry made before it was hidden can still be taken back.)"""
    paper_id = _paper_id(conn, ref)
    if paper_store.hidden_ids(conn, [paper_id]):
        raise HTTPException(404, f"There is no paper {ref} here.")
    return paper_id


def _back(request: Request, fallback: str, **state: object) -> Response:
    """JSON for the page's script; for a plain form, back to where the visitor was."""
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(state)
    referer = request.headers.get("referer", "")
    origin = str(request.base_url)
    target = "/" + referer[len(origin) :] if referer.startswith(origin) else fallback
    return RedirectResponse(safe_next(target), status_code=303)


def _set_mark(
    conn: Conn,
    mark: Callable[[Connection, int, int, dt.datetime], bool],
    unmark: Callable[[Connection, int, int], bool],
    user: User,
    paper_id: int,
    now: dt.datetime,
    *,
    on: bool,
) -> None:
    """Put the reader's mark (a vote, "not interested") on a paper or take it off."""
    if on:
        mark(conn, user.id, paper_id, now)
    else:
        unmark(conn, user.id, paper_id)
    conn.commit()


@router.post("/papers/{paper_ref:path}/vote", dependencies=[CsrfChecked])
def vote(
    request: Request,
    conn: Conn,
    user: SignedIn,
    now: Now,
    paper_ref: str,
    undo: Annotated[bool, Form()] = False,
) -> Response:
    """Vote for a paper, or take the vote back (`undo`); one vote per reader per paper."""
    paper_id = _paper_id(conn, paper_ref) if undo else _visible_paper_id(conn, paper_ref)
    _set_mark(conn, vote_store.vote, vote_store.unvote, user, paper_id, now, on=not undo)
    paper = paper_store.get_papers_by_ids(conn, [paper_id])[paper_id]
    votes = vote_store.count_votes(conn, [paper_id]).get(paper_id, 0) + (paper.upvotes or 0)
    return _back(request, f"/papers/{paper_ref}", voted=not undo, votes=votes)


@router.post("/papers/{paper_ref:path}/dismiss", dependencies=[CsrfChecked])
def dismiss(
    request: Request,
    conn: Conn,
    user: SignedIn,
    now: Now,
    paper_ref: str,
    undo: Annotated[bool, Form()] = False,
) -> Response:
    """Mark a paper "not interested": it leaves the reader's lists (undo brings it back)."""
    paper_id = _paper_id(conn, paper_ref) if undo else _visible_paper_id(conn, paper_ref)
    _set_mark(conn, vote_store.dismiss, vote_store.undismiss, user, paper_id, now, on=not undo)
    return _back(request, f"/papers/{paper_ref}", dismissed=not undo)


@router.post("/papers/{paper_ref:path}/hide", dependencies=[CsrfChecked])
def hide(
    request: Request,
    conn: Conn,
    _admin: Admin,
    now: Now,
    paper_ref: str,
    undo: Annotated[bool, Form()] = False,
) -> Response:
    """Admins only: hide a paper from every listing, search and feed (undo shows it again)."""
    paper_store.set_hidden(conn, _paper_id(conn, paper_ref), None if undo else now)
    conn.commit()
    return RedirectResponse(f"/papers/{paper_ref}", status_code=303)


def own_collection(conn: Conn, user: User, collection_id: int) -> Collection:
    """The user's collection; someone else's is "not found", never "forbidden"."""
    collection = collection_store.get_collection(conn, collection_id)
    if collection is None or collection.user_id != user.id:
        raise HTTPException(404, "There is no such collection.")
    return collection


def visible_collection(conn: Conn, user: User | None, collection_id: int) -> Collection:
    collection = collection_store.get_collection(conn, collection_id)
    if collection is None or not (collection.is_public or (user and user.id == collection.user_id)):
        raise HTTPException(404, "There is no such collection.")
    return collection


@router.get("/collections")
def collections_page(request: Request, conn: Conn, user: SignedIn) -> Response:
    context = {"collections": collection_store.list_collections(conn, user.id)}
    return render(request, conn, "collections.html", context)


@router.post("/collections", dependencies=[CsrfChecked])
def create_collection(
    request: Request,
    conn: Conn,
    user: SignedIn,
    now: Now,
    name: CollectionName,
    public: Annotated[bool, Form()] = False,
    paper: Annotated[str | None, Form(max_length=100)] = None,
) -> Response:
    """A new collection; with `paper`, that paper goes straight in (from a paper page)."""
    paper_id = _visible_paper_id(conn, paper) if paper else None
    collection = collection_store.create_collection(
        conn, user.id, name.strip() or "Untitled", now, is_public=public
    )
    if paper_id is not None:
        collection_store.add_paper(conn, collection.id, paper_id, now)
    conn.commit()
    target = f"/papers/{paper}" if paper else f"/collections/{collection.id}"
    return RedirectResponse(target, status_code=303)


@router.get("/collections/{collection_id}")
def collection_page(
    request: Request,
    conn: Conn,
    user: Visitor,
    collection_id: CollectionId,
    page: PageNumber = 1,
) -> Response:
    collection = visible_collection(conn, user, collection_id)
    listing = paper_store.list_papers(
        conn, collection_id=collection.id, order="added",
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
    )  # fmt: skip
    entries = make_entries(conn, listing.papers, listing.ids, user)
    context = {"collection": collection, "listing": listing, "entries": entries, "page": page,
               "page_size": PAGE_SIZE, "owner": user is not None and user.id == collection.user_id}  # fmt: skip
    return render(request, conn, "collection.html", context)


@router.post("/collections/{collection_id}/edit", dependencies=[CsrfChecked])
def edit_collection(
    conn: Conn,
    user: SignedIn,
    now: Now,
    collection_id: CollectionId,
    name: CollectionName,
    public: Annotated[bool, Form()] = False,
) -> Response:
    collection = own_collection(conn, user, collection_id)
    collection_store.update_collection(
        conn, collection.id, now, name=name.strip(), is_public=public
    )
    conn.commit()
    return RedirectResponse(f"/collections/{collection.id}", status_code=303)


@router.post("/collections/{collection_id}/delete", dependencies=[CsrfChecked])
def delete_collection(conn: Conn, user: SignedIn, collection_id: CollectionId) -> Response:
    collection_store.delete_collection(conn, own_collection(conn, user, collection_id).id)
    conn.commit()
    return RedirectResponse("/collections", status_code=303)


@router.post("/collections/{collection_id}/papers", dependencies=[CsrfChecked])
def collect_paper(
    request: Request,
    conn: Conn,
    user: SignedIn,
    now: Now,
    collection_id: CollectionId,
    paper: Annotated[str, Form(max_length=100)],
    remove: Annotated[bool, Form()] = False,
) -> Response:
    """Put a paper in one of the user's collections, or take it out (`remove`)."""
    collection = own_collection(conn, user, collection_id)
    paper_id = _paper_id(conn, paper) if remove else _visible_paper_id(conn, paper)
    if remove:
        collection_store.remove_paper(conn, collection.id, paper_id)
    else:
        collection_store.add_paper(conn, collection.id, paper_id, now)
    conn.commit()
    return _back(request, f"/papers/{paper}", collected=not remove, collection=collection.id)


def _account(
    request: Request, conn: Conn, user: User, now: dt.datetime, new_token: str | None
) -> Response:
    context = {"new_token": new_token, "digest": digest_status(request, conn, user, now),
               "tokens": token_store.list_api_tokens(conn, user.id), "now": now,
               "lifetimes": TOKEN_LIFETIMES}  # fmt: skip
    return render(request, conn, "account.html", context)


@router.get("/account")
def account_page(request: Request, conn: Conn, user: SignedIn, now: Now) -> Response:
    return _account(request, conn, user, now, None)


@router.post("/account/tokens", dependencies=[CsrfChecked])
def create_token(
    request: Request,
    conn: Conn,
    user: SignedIn,
    now: Now,
    name: Annotated[str, Form(min_length=1, max_length=100)] = "API",
    expires: Annotated[TokenLifetime, Form()] = "90",
) -> Response:
    """A token for the JSON API, valid for the chosen days or until revoked; shown once,
    stored only as a hash."""
    days = TOKEN_LIFETIMES[expires]
    lifetime = dt.timedelta(days=days) if days else None
    token = token_store.create_api_token(
        conn, user.id, name.strip() or "API", now, lifetime=lifetime
    )
    conn.commit()
    return _account(request, conn, user, now, token)


@router.post("/account/tokens/revoke", dependencies=[CsrfChecked])
def revoke_token(
    conn: Conn, user: SignedIn, now: Now, token: Annotated[str, Form(max_length=64)]
) -> Response:
    """Revoke one of the reader's tokens: from now on it gets a 401 saying so."""
    if not token_store.revoke_api_token(conn, user.id, token, now):
        raise HTTPException(404, "There is no such token of yours, or it was revoked already.")
    conn.commit()
    return RedirectResponse("/account#tokens", status_code=303)


@router.get("/submit")
def submit_form(request: Request, conn: Conn, _user: SignedIn) -> Response:
    return render(request, conn, "submit.html", {"error": None, "text": ""})


@router.post("/submit", dependencies=[CsrfChecked])
def submit(
    request: Request,
    conn: Conn,
    user: SignedIn,
    now: Now,
    paper: Annotated[str, Form(min_length=1, max_length=300)],
) -> Response:
    """Fetch a paper from arXiv by id or URL (or find it here) and open its page."""
    ip = request.client.host if request.client else "unknown"
    check_rate(
        conn, now,
        [(f"submit:user:{user.id}", SUBMITS_PER_USER), (f"submit:ip:{ip}", SUBMITS_PER_IP)],
        SUBMIT_WINDOW,
    )  # fmt: skip
    settings = settings_of(request)
    # Someone is waiting for the page: one quick try, no long backoff.
    policy = FetchPolicy(
        delay=0.0, timeout=min(settings.request_timeout, 15.0), retries=1, max_wait=5.0
    )
    clock = request.app.state.clock
    try:
        with PoliteClient(policy) as client:
            key = submit_paper(
                request.app.state.engine, client, paper, base_url=settings.arxiv_api_url,
                user_id=user.id, clock=clock,
            )  # fmt: skip
    except (SubmitError, FetchError) as exc:
        context = {"error": str(exc), "text": paper}
        return render(request, conn, "submit.html", context, status=400)
    return RedirectResponse(f"/papers/{key}", status_code=303)
