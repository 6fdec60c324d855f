"""The Hugging Face papers API, same paths and field names, so the Hub's clients work here.

    GET /api/daily_papers?date=2026-03-20 | week=2026-W12 | month=2026-03
    GET /api/papers/search?q=diffusion&limit=20
    GET /api/papers/2503.11731

Papers come from this site's sources, not from users, so every paper is
"submitted" by the site itself; upvotes are votes here plus upvotes recorded
from elsewhere.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query

from paperroute.domain import Organization, Paper
from paperroute.index.sync import IndexMissing
from paperroute.rank.trending import listing as ranked_listing
from paperroute.store import papers as paper_store
from paperroute.store import votes as vote_store
from paperroute.web.api import INDEX_MISSING, MAX_ID_CHARS, PaperId, find_paper
from paperroute.web.api_models import (
    HfAuthor,
    HfDailyItem,
    HfOrganization,
    HfPaper,
    HfUser,
    error_responses,
)
from paperroute.web.deps import Conn, IsoDate, Now, Search, web_link

__all__ = ["SUBMITTER", "daily_papers", "hf_item", "hf_paper", "router"]

router = APIRouter(prefix="/api", tags=["Hugging Face compatible"])

SUBMITTER = HfUser(
    _id="000000000000000000000000",
    name="paperroute",
    user="paperroute",
    fullname="paperroute",
    avatarUrl="",
    type="org",
    isPro=False,
)
# The schema documents the patterns the code checks; empty is allowed: no choice.
WEEK_PATTERN = r"^(?:([0-9]{4})-W(0[1-9]|[1-4][0-9]|5[0-3]))?$"
MONTH_PATTERN = r"^(?:([0-9]{4})-(0[1-9]|1[0-2]))?$"
_WEEK_RE = re.compile(WEEK_PATTERN)
_MONTH_RE = re.compile(MONTH_PATTERN)


def _object_id(*parts: str) -> str:
    """A stable 24-hex id, the shape of the Hub's ids, for what has no id here."""
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=12).hexdigest()


def _midnight(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) if day else None


def _published(paper: Paper) -> dt.date | None:
    first = min((v.date for v in paper.versions if v.date), default=None)
    return first or paper.submitted or paper.announced


def hf_paper(paper: Paper, votes: int) -> HfPaper:
    """The Hub's `paper` object for a stored paper with its votes here."""
    key = paper.key or paper_store.paper_key(paper)
    described = HfPaper(
        id=key,
        authors=[
            HfAuthor(_id=_object_id(key, str(i), name), name=name, hidden=False)
            for i, name in enumerate(paper.authors)
        ],
        publishedAt=_midnight(_published(paper)),
        submittedOnDailyAt=_midnight(paper.announced),
        submittedOnDailyBy=SUBMITTER,
        title=paper.title,
        summary=paper.abstract,
        upvotes=votes + (paper.upvotes or 0),
        discussionId=_object_id("discussion", key),
        numComments=0,
    )
    # Like the Hub, leave out what a paper does not have (not null).
    optional = {
        "githubRepo": web_link(paper.code_url),
        "githubStars": paper.github_stars,
        "projectPage": web_link(paper.project_url),
        "ai_summary": paper.ai_summary,
        "ai_keywords": list(paper.ai_keywords) or None,
        "organization": _organization(paper.organization),
    }
    return described.model_copy(update={k: v for k, v in optional.items() if v is not None})


def _organization(org: Organization | None) -> HfOrganization | None:
    if org is None:
        return None
    known = {"_id": org.hub_id, "name": org.name, "fullname": org.fullname, "avatar": org.avatar}
    # Validated, then its unset fields left out of the answer like the paper's.
    return HfOrganization.model_validate({k: v for k, v in known.items() if v is not None})


def hf_item(paper: Paper, votes: int) -> HfDailyItem:
    """One entry of the daily list for a stored paper with its votes here."""
    inner = hf_paper(paper, votes)
    return HfDailyItem(
        paper=inner,
        publishedAt=inner.submittedOnDailyAt or inner.publishedAt,
        title=paper.title,
        summary=paper.abstract,
        thumbnail=None,
        numComments=0,
        submittedBy=SUBMITTER,
        isAuthorParticipating=False,
        **({"organization": inner.organization} if inner.organization else {}),
    )


def _items(conn: Conn, papers: Sequence[Paper], ids: Sequence[int]) -> list[HfDailyItem]:
    votes = vote_store.count_votes(conn, list(ids))
    return [hf_item(p, votes.get(i, 0)) for p, i in zip(papers, ids, strict=True)]


def _week(text: str) -> tuple[dt.date, dt.date]:
    match = _WEEK_RE.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        monday = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise HTTPException(422, f"week: {text!r} is not an ISO week; write 2026-W12") from None
    return monday, monday + dt.timedelta(days=6)


def _month(text: str) -> tuple[dt.date, dt.date]:
    match = _MONTH_RE.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        first = dt.date(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise HTTPException(422, f"month: {text!r} is not a month; write 2026-03") from None
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _period(
    conn: Conn, date: dt.date | None, week: str, month: str
) -> tuple[dt.date, dt.date] | None:
    """The days asked for; the newest day with papers when none is given."""
    if sum(bool(x) for x in (date, week, month)) > 1:  # an empty field is no choice
        raise HTTPException(400, "give only one of date, week and month")
    if week:
        return _week(week)
    if month:
        return _month(month)
    day = date or paper_store.latest_announced(conn)
    return (day, day) if day else None


@router.get(
    "/daily_papers",
    response_model=list[HfDailyItem],
    response_model_exclude_unset=True,
    responses=error_responses(400, 422),
)
def daily_papers(
    conn: Conn,
    now: Now,
    date: Annotated[IsoDate | None, Query(description="One day, YYYY-MM-DD")] = None,
    week: Annotated[
        str, Query(description="An ISO week, YYYY-Www", json_schema_extra={"pattern": WEEK_PATTERN})
    ] = "",
    month: Annotated[
        str, Query(description="A month, YYYY-MM", json_schema_extra={"pattern": MONTH_PATTERN})
    ] = "",
    sort: Annotated[Literal["publishedAt", "trending"], Query()] = "publishedAt",
    submitter: Annotated[str | None, Query(description="Only `paperroute` submits here")] = None,
    p: Annotated[int, Query(ge=0, le=100_000, description="Page, from 0")] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[HfDailyItem]:
    """The papers announced on a day, in a week or a month: the newest day by default."""
    period = _period(conn, date, week, month)
    if period is None or (submitter is not None and submitter != SUBMITTER.user):
        return []
    order = "trending" if sort == "trending" else "announced"
    listing = ranked_listing(conn, now.date(), order=order, since=period[0], until=period[1],
                             limit=limit, offset=p * limit)  # fmt: skip
    return _items(conn, listing.papers, listing.ids)


@router.get(
    "/papers/search",
    response_model=list[HfDailyItem],
    response_model_exclude_unset=True,
    responses=error_responses(422, 503),
)
def search_papers(
    conn: Conn,
    search: Search,
    now: Now,
    q: Annotated[str, Query(description="Words, a phrase, an arXiv id; empty: newest")] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[HfDailyItem]:
    """Papers matching a query, best first, in the daily list's shape."""
    if not q.strip():
        listing = paper_store.list_papers(conn, limit=limit)
        return _items(conn, listing.papers, listing.ids)
    try:
        page = search.service().search(q, limit=limit, today=now.date())
    except IndexMissing:
        raise HTTPException(503, INDEX_MISSING) from None
    if page.paper is not None:
        found = find_paper(conn, page.paper.key or q)
        return _items(conn, [found[1]], [found[0]]) if found else []
    return _items(conn, [h.paper for h in page.hits], [h.paper_id for h in page.hits])


@router.get(
    "/papers/{arxiv_id:paper}",
    response_model=HfPaper,
    response_model_exclude_unset=True,
    responses=error_responses(404, 422),
)
def paper_info(conn: Conn, arxiv_id: PaperId) -> HfPaper:
    """One paper by its arXiv id (a version suffix is ignored)."""
    found = find_paper(conn, arxiv_id)
    if found is None:
        raise HTTPException(404, f"no paper {arxiv_id[:MAX_ID_CHARS]}")
    paper_id, paper = found
    votes = vote_store.count_votes(conn, [paper_id]).get(paper_id, 0)
    return hf_paper(paper, votes)
