"""`/api/v1/recommendations`: the token user's "for you" list, with reasons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from paperroute.web.api import TokenUser, papers_out
from paperroute.web.api_models import PaperOut, error_responses
from paperroute.web.deps import Conn
from paperroute.web.for_you import recommendations_for

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")


class RecommendationOut(BaseModel):
    paper: PaperOut
    score: float = Field(description="Higher is a closer match; comparable within one list")
    reason: str = Field(description="Why: the liked paper it is closest to, words, authors")


class RecommendationsOut(BaseModel):
    papers: list[RecommendationOut]


@router.get(
    "/recommendations",
    response_model=RecommendationsOut,
    responses=error_responses(401, 422),
    tags=["recommendations"],
)
def recommendations(
    request: Request,
    conn: Conn,
    user: TokenUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> RecommendationsOut:
    """Papers of the last two weeks picked for the token's user from their votes, saves and
    stated interests (see /for-you); empty until there is something to go on."""
    found = recommendations_for(request, conn, user.id, limit)
    papers = papers_out(conn, [f.paper for f in found], [f.paper_id for f in found])
    return RecommendationsOut(papers=[RecommendationOut(paper=p, score=f.score, reason=f.reason)
                                      for p, f in zip(papers, found, strict=True)])  # fmt: skip
