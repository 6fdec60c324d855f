"""paperroute's own JSON API, under /api/v1: papers, search, similar papers, votes, collections.

Reading needs no token. Voting and collections act for the user of an API
token (`Authorization: Bearer pr_...`, made on the account page); a public
collection can be read by anyone.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection

from paperroute.domain import Paper
from paperroute.index.sync import IndexMissing
from paperroute.rank.trending import listing as ranked_listing
from paperroute.search.service import Mode
from paperroute.store import api_tokens as token_store
from paperroute.store import collections as collection_store
from paperroute.store import papers as paper_store
from paperroute.store import users as user_store
from paperroute.store import votes as vote_store
from paperroute.store.api_tokens import TokenCheck
from paperroute.store.collections import Collection
from paperroute.store.users import User
from paperroute.web.api_models import (
    CollectionDetailOut,
    CollectionIn,
    CollectionOut,
    CollectionPatch,
    PaperListOut,
    PaperOut,
    SearchHitOut,
    SearchOut,
    SimilarOut,
    SimilarPaperOut,
    VoteOut,
    error_responses,
)
from paperroute.web.deps import Conn, IsoDate, Now, Search

__all__ = [
    "INDEX_MISSING",
    "MAX_ID_CHARS",
    "PaperId",
    "bearer_user",
    "find_paper",
    "router",
    "token_user",
]

router = APIRouter(prefix="/api/v1")

MAX_ID_CHARS = 100
MAX_OFFSET = 1_000_000  # beyond any real listing, and inside every database's integers
MAX_SEARCH_OFFSET = 1_000
INDEX_MISSING = (
    "search is not available yet: the search index has not been built; "
    "run `paperroute index rebuild` on the server"
)
# The schema documents the pattern the code checks, so what one accepts the other does.
CATEGORY_PATTERN = r"^(?:([A-Za-z][A-Za-z-]*)(?:\.([A-Za-z][A-Za-z-]*))?)?$"
_CATEGORY_RE = re.compile(CATEGORY_PATTERN, re.ASCII)
MAX_CATEGORY_CHARS = 40
_ORDERS = {"date": "announced", "trending": "trending", "votes": "popular", "added": "added"}
TRENDING_WINDOW = dt.timedelta(days=30)

Limit = Annotated[int, Query(ge=1, le=100, description="How many to return")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many to skip")]
CollectionId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PaperId = Annotated[
    str,
    Path(
        description="An arXiv id (a version suffix is ignored) or the paper's `id` here",
        examples=["2507.11851", "quant-ph/0201082"],
    ),
]
Category = Annotated[
    str,
    Query(
        description="An arXiv category, in any case: cs.LG, hep-th; empty: all",
        json_schema_extra={"pattern": CATEGORY_PATTERN, "maxLength": MAX_CATEGORY_CHARS},
    ),
]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="A token from your account page, sent as `Authorization: Bearer pr_...`",
)


def _refused(check: TokenCheck) -> HTTPException:
    when = f" on {check.since:%Y-%m-%d %H:%M} UTC" if check.since else ""
    reason = {
        "expired": f"this API token expired{when}",
        "revoked": f"this API token was revoked{when}",
    }.get(check.problem or "", "this API token is not valid (it may have been deleted)")
    return HTTPException(401, f"{reason}: create a new one on your account page",
                         headers={"www-authenticate": "Bearer"})  # fmt: skip


def token_user(conn: Connection, token: str, now: dt.datetime) -> User:
    """The user of a presented API token; 401 saying why when it is unknown, expired or revoked."""
    check = token_store.check_api_token(conn, token, now)
    conn.commit()  # its last use
    user = user_store.get_user(conn, check.user_id) if check.user_id is not None else None
    if user is None:
        raise _refused(check)
    return user


def _token_user(
    request: Request,
    conn: Conn,
    now: Now,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The token's user; None without a token, 401 for a token that is not valid."""
    if credentials is None:
        return None
    checked: User | None = getattr(request.state, "token_user", None)  # by web.limits
    return checked or token_user(conn, credentials.credentials, now)


MaybeUser = Annotated[User | None, Depends(_token_user)]


def _token_needed() -> HTTPException:
    return HTTPException(
        401,
        "an API token is needed: create one on your account page and send "
        "`Authorization: Bearer <token>`",
        headers={"www-authenticate": "Bearer"},
    )


def bearer_user(conn: Connection, authorization: str | None, now: dt.datetime) -> User:
    """The user of an `Authorization: Bearer` header; 401 without one or for a bad token."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _token_needed()
    return token_user(conn, token.strip(), now)


def _required_user(user: MaybeUser) -> User:
    if user is None:
        raise _token_needed()
    return user


TokenUser = Annotated[User, Depends(_required_user)]


def find_paper(conn: Connection, ref: str) -> tuple[int, Paper] | None:
    """A paper anyone may see, by key or arXiv id, with its internal id."""
    ref = ref.strip()
    if not ref or len(ref) > MAX_ID_CHARS or not ref.isprintable():
        return None
    paper_id = paper_store.ids_for_refs(conn, [ref]).get(ref)
    if paper_id is None or paper_store.hidden_ids(conn, [paper_id]):
        return None
    paper = paper_store.get_papers_by_ids(conn, [paper_id]).get(paper_id)
    return (paper_id, paper) if paper is not None else None


def _paper_or_404(conn: Connection, ref: str) -> tuple[int, Paper]:
    found = find_paper(conn, ref)
    if found is None:
        raise HTTPException(404, f"no paper {ref[:MAX_ID_CHARS]!r}: check the arXiv id")
    return found


def _key(paper: Paper) -> str:
    return paper.key or paper_store.paper_key(paper)


def papers_out(conn: Connection, papers: Sequence[Paper], ids: Sequence[int]) -> list[PaperOut]:
    """Papers with their votes: one query for the votes of the whole page."""
    votes = vote_store.count_votes(conn, list(ids))
    return [PaperOut.of(p, votes.get(i, 0)) for p, i in zip(papers, ids, strict=True)]


def _category(text: str) -> str | None:
    """arXiv's spelling of a category (cs.LG, hep-th, cond-mat.stat-mech); 422 if it is none."""
    if not text:  # an empty form field: no filter
        return None
    match = _CATEGORY_RE.fullmatch(text) if len(text) <= MAX_CATEGORY_CHARS else None
    if match is None:
        shown = text[:MAX_CATEGORY_CHARS]
        raise HTTPException(422, f"category: {shown!r} is not an arXiv category; write cs.LG")
    archive, subject = match[1].lower(), match[2]
    if subject is None:
        return archive
    return f"{archive}.{subject.upper() if len(subject) == 2 else subject.lower()}"


def _check_range(since: dt.date | None, until: dt.date | None) -> None:
    if since and until and since > until:
        raise HTTPException(400, f"since ({since}) is after until ({until}): swap them")


# --- papers ----------------------------------------------------------------------


@router.get(
    "/papers", response_model=PaperListOut, responses=error_responses(400, 422), tags=["papers"]
)
def list_papers(
    conn: Conn,
    now: Now,
    since: Annotated[IsoDate | None, Query(description="Announced on or after")] = None,
    until: Annotated[IsoDate | None, Query(description="Announced on or before")] = None,
    category: Category = "",
    sort: Annotated[
        Literal["date", "trending", "votes", "added"],
        Query(
            description="Newest announced, trending (see /about/trending; the last 30 days "
            "unless `since` is given), most voted, or latest stored here first"
        ),
    ] = "date",
    limit: Limit = 50,
    offset: Offset = 0,
) -> PaperListOut:
    """Papers, newest first unless sorted otherwise; cross-listed papers count in a category."""
    _check_range(since, until)
    cat = _category(category)
    if sort == "trending" and since is None:  # trending is about now: the last month
        since = (until or now.date()) - TRENDING_WINDOW
    listing = ranked_listing(conn, now.date(), order=_ORDERS[sort], since=since, until=until,
                             category=cat, limit=limit, offset=offset)  # fmt: skip
    papers = papers_out(conn, listing.papers, listing.ids)
    return PaperListOut(papers=papers, total=listing.total, limit=limit, offset=offset)


@router.get(
    "/papers/{paper_id:paper}/similar",
    response_model=SimilarOut,
    responses=error_responses(404, 422, 503),
    tags=["papers"],
)
def similar_papers(
    conn: Conn, search: Search, paper_id: PaperId, limit: Annotated[int, Query(ge=1, le=50)] = 10
) -> SimilarOut:
    """The papers nearest in meaning to one paper, nearest first."""
    found_id, paper = _paper_or_404(conn, paper_id)
    try:
        ranker = search.service().ranker
    except IndexMissing:
        raise HTTPException(503, INDEX_MISSING) from None
    ids, scores = ranker.similar([found_id], limit=limit + 10)  # room for hidden papers
    hidden = paper_store.hidden_ids(conn, ids)
    pairs = [(i, s) for i, s in zip(ids, scores, strict=True) if i not in hidden][:limit]
    found = paper_store.get_papers_by_ids(conn, [i for i, _ in pairs])
    pairs = [(i, s) for i, s in pairs if i in found]
    outs = papers_out(conn, [found[i] for i, _ in pairs], [i for i, _ in pairs])
    similar = [
        SimilarPaperOut(paper=out, score=float(score))
        for out, (_, score) in zip(outs, pairs, strict=True)
    ]
    return SimilarOut(paper_id=_key(paper), papers=similar)


@router.get(
    "/papers/{paper_id:paper}",
    response_model=PaperOut,
    responses=error_responses(404, 422),
    tags=["papers"],
)
def get_paper(conn: Conn, paper_id: PaperId) -> PaperOut:
    """One paper by arXiv id (a version suffix is ignored) or key, with its votes here."""
    found_id, paper = _paper_or_404(conn, paper_id)
    return PaperOut.of(paper, vote_store.count_votes(conn, [found_id]).get(found_id, 0))


# --- search ------------------------------------------------------------------------


def _query_text(q: str, category: str, since: dt.date | None, until: dt.date | None) -> str:
    """The search box text for a query and its filters, in the query language."""
    _check_range(since, until)
    parts = [q.strip()] if q.strip() else []
    if cat := _category(category):
        parts.append(f"cat:{cat}")
    if since is not None:
        parts.append(f"since:{since.isoformat()}")
    if until is not None:
        parts.append(f"until:{until.isoformat()}")
    if not parts:
        raise HTTPException(422, "q: give words to search for, or a category or dates")
    return " ".join(parts)


@router.get(
    "/search",
    response_model=SearchOut,
    responses=error_responses(400, 422, 503),
    tags=["search"],
)
def search_papers(
    conn: Conn,
    search: Search,
    now: Now,
    q: Annotated[
        str, Query(description='Words, "phrases", -exclusions, author:, cat:, has:code, an id')
    ] = "",
    category: Category = "",
    since: Annotated[IsoDate | None, Query(description="Announced on or after")] = None,
    until: Annotated[IsoDate | None, Query(description="Announced on or before")] = None,
    mode: Annotated[Mode, Query(description="Words, meaning, or both")] = "hybrid",
    sort: Literal["relevance", "date", "votes"] = "relevance",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_SEARCH_OFFSET)] = 0,
) -> SearchOut:
    """Papers matching a query, with matched words highlighted."""
    text = _query_text(q, category, since, until)
    try:
        page = search.service().search(
            text, mode=mode, sort=sort, limit=limit, offset=offset, today=now.date()
        )
    except IndexMissing:
        raise HTTPException(503, INDEX_MISSING) from None
    hits: list[SearchHitOut] = []
    if page.paper is not None:  # the query was an arXiv id: that paper is the answer
        found = find_paper(conn, _key(page.paper))
        if found is not None and offset == 0:
            title = html.escape(found[1].title)
            out = papers_out(conn, [found[1]], [found[0]])[0]
            hits.append(SearchHitOut(paper=out, score=1.0, title_html=title, snippet_html=""))
    else:
        papers = [h.paper for h in page.hits]
        outs = papers_out(conn, papers, [h.paper_id for h in page.hits])
        hits = [
            SearchHitOut(
                paper=out,
                score=float(h.score),
                title_html=h.title_html or html.escape(h.paper.title),
                snippet_html=h.snippet_html,
            )
            for out, h in zip(outs, page.hits, strict=True)
        ]
    return SearchOut(
        query=text,
        hits=hits,
        has_more=page.has_more,
        limit=limit,
        offset=offset,
        warnings=list(page.query.errors),
    )


# --- votes -------------------------------------------------------------------------


def _vote_out(conn: Connection, paper: Paper, paper_id: int, voted: bool) -> VoteOut:
    votes = vote_store.count_votes(conn, [paper_id]).get(paper_id, 0)
    return VoteOut(paper_id=_key(paper), voted=voted, votes=votes)


@router.post(
    "/papers/{paper_id:paper}/vote",
    response_model=VoteOut,
    responses=error_responses(401, 404, 422),
    tags=["votes"],
)
def vote(conn: Conn, user: TokenUser, now: Now, paper_id: PaperId) -> VoteOut:
    """Vote for a paper; voting again changes nothing (one vote per user per paper)."""
    found_id, paper = _paper_or_404(conn, paper_id)
    vote_store.vote(conn, user.id, found_id, now)
    conn.commit()
    return _vote_out(conn, paper, found_id, voted=True)


@router.delete(
    "/papers/{paper_id:paper}/vote",
    response_model=VoteOut,
    responses=error_responses(401, 404, 422),
    tags=["votes"],
)
def unvote(conn: Conn, user: TokenUser, paper_id: PaperId) -> VoteOut:
    """Take a vote back; without a vote, nothing changes."""
    found_id, paper = _paper_or_404(conn, paper_id)
    vote_store.unvote(conn, user.id, found_id)
    conn.commit()
    return _vote_out(conn, paper, found_id, voted=False)


# --- collections ---------------------------------------------------------------------


def _collection_out(collection: Collection) -> CollectionOut:
    c = collection
    return CollectionOut(
        id=c.id, name=c.name, public=c.is_public, size=c.size,
        created_at=c.created_at, updated_at=c.updated_at,
    )  # fmt: skip


def _no_collection(collection_id: int) -> HTTPException:
    return HTTPException(404, f"no collection {collection_id} of yours")


def _own_collection(conn: Connection, user: User, collection_id: int) -> Collection:
    """The user's collection; 404 for a missing one and for anyone else's alike."""
    collection = collection_store.get_collection(conn, collection_id)
    if collection is None or collection.user_id != user.id:
        raise _no_collection(collection_id)
    return collection


def _reloaded(conn: Connection, collection_id: int) -> CollectionOut:
    collection = collection_store.get_collection(conn, collection_id)
    if collection is None:  # deleted meanwhile by another request
        raise _no_collection(collection_id)
    return _collection_out(collection)


@router.get(
    "/collections",
    response_model=list[CollectionOut],
    responses=error_responses(401),
    tags=["collections"],
)
def list_collections(conn: Conn, user: TokenUser) -> list[CollectionOut]:
    """The token user's collections, most recently changed first."""
    return [_collection_out(c) for c in collection_store.list_collections(conn, user.id)]


@router.post(
    "/collections",
    status_code=201,
    response_model=CollectionOut,
    responses=error_responses(401, 422, body=True),
    tags=["collections"],
)
def create_collection(conn: Conn, user: TokenUser, now: Now, body: CollectionIn) -> CollectionOut:
    """A new collection, private unless `public` is true."""
    collection = collection_store.create_collection(
        conn, user.id, body.name, now, is_public=body.public
    )
    conn.commit()
    return _collection_out(collection)


@router.get(
    "/collections/{collection_id}",
    response_model=CollectionDetailOut,
    responses=error_responses(401, 404, 422),
    tags=["collections"],
    openapi_extra={"security": [{}]},  # added to the token's: a public one needs none
)
def get_collection(
    conn: Conn, user: MaybeUser, collection_id: CollectionId, limit: Limit = 50, offset: Offset = 0
) -> CollectionDetailOut:
    """A collection and a page of its papers: yours, or anyone's public one (no token needed)."""
    collection = collection_store.get_collection(conn, collection_id)
    mine = collection is not None and user is not None and collection.user_id == user.id
    if collection is None or not (collection.is_public or mine):
        raise HTTPException(404, f"no collection {collection_id}")
    listing = paper_store.list_papers(conn, collection_id=collection_id, limit=limit, offset=offset)
    papers = papers_out(conn, listing.papers, listing.ids)
    summary = _collection_out(collection).model_dump()
    return CollectionDetailOut(
        **summary, papers=papers, total=listing.total, limit=limit, offset=offset
    )


@router.patch(
    "/collections/{collection_id}",
    response_model=CollectionOut,
    responses=error_responses(401, 404, 422, body=True),
    tags=["collections"],
)
def update_collection(
    conn: Conn, user: TokenUser, now: Now, collection_id: CollectionId, body: CollectionPatch
) -> CollectionOut:
    """Rename a collection, or make it public or private."""
    if body.name is None and body.public is None:
        raise HTTPException(422, "body: give a new `name`, or `public`: true or false")
    _own_collection(conn, user, collection_id)
    collection_store.update_collection(
        conn, collection_id, now, name=body.name, is_public=body.public
    )
    conn.commit()
    return _reloaded(conn, collection_id)


@router.delete(
    "/collections/{collection_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 404, 422),
    tags=["collections"],
)
def delete_collection(conn: Conn, user: TokenUser, collection_id: CollectionId) -> None:
    """Delete a collection (its papers stay on the site)."""
    _own_collection(conn, user, collection_id)
    collection_store.delete_collection(conn, collection_id)
    conn.commit()


@router.put(
    "/collections/{collection_id}/papers/{paper_id:paper}",
    response_model=CollectionOut,
    responses=error_responses(401, 404, 422),
    tags=["collections"],
)
def add_to_collection(
    conn: Conn, user: TokenUser, now: Now, collection_id: CollectionId, paper_id: PaperId
) -> CollectionOut:
    """Put a paper in a collection; putting it there again changes nothing."""
    _own_collection(conn, user, collection_id)
    found_id, _ = _paper_or_404(conn, paper_id)
    collection_store.add_paper(conn, collection_id, found_id, now)
    conn.commit()
    return _reloaded(conn, collection_id)


@router.delete(
    "/collections/{collection_id}/papers/{paper_id:paper}",
    response_model=CollectionOut,
    responses=error_responses(401, 404, 422),
    tags=["collections"],
)
def remove_from_collection(
    conn: Conn, user: TokenUser, collection_id: CollectionId, paper_id: PaperId
) -> CollectionOut:
    """Take a paper out of a collection (one hidden since can be taken out too)."""
    _own_collection(conn, user, collection_id)
    ref = paper_id.strip()
    found_id = paper_store.ids_for_refs(conn, [ref]).get(ref) if ref.isprintable() else None
    if found_id is None:
        raise HTTPException(404, f"no paper {ref[:MAX_ID_CHARS]!r}: check the arXiv id")
    collection_store.remove_paper(conn, collection_id, found_id)
    conn.commit()
    return _reloaded(conn, collection_id)
