"""What the JSON API answers and accepts: the shapes its OpenAPI schema documents."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from paperroute.domain import Paper
from paperroute.store.papers import paper_key
from paperroute.web.deps import web_link

__all__ = [
    "CollectionDetailOut",
    "CollectionIn",
    "CollectionOut",
    "CollectionPatch",
    "ErrorOut",
    "HfAuthor",
    "HfDailyItem",
    "HfPaper",
    "HfTime",
    "HfUser",
    "PaperLinks",
    "PaperListOut",
    "PaperOut",
    "SearchHitOut",
    "SearchOut",
    "SimilarOut",
    "SimilarPaperOut",
    "VersionOut",
    "VoteOut",
    "error_responses",
]


class ErrorOut(BaseModel):
    """Every API error: a message that names the input and what to do."""

    error: str = Field(examples=["no paper 2503.99999"])


_ERROR_TEXT = {
    400: "The request contradicts itself",
    401: "No valid API token: send `Authorization: Bearer <token>`",
    404: "Not found (or not yours to see)",
    422: "A parameter or the body is not valid",
    503: "The search index is not built yet",
}


def error_responses(*codes: int, body: bool = False) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: its error codes, each with the error body's schema.

    A route with a JSON `body` also answers 400 (FastAPI's answer) to bytes that are not text:
    JSON that is text but not valid JSON gets a 422 like any other invalid body.
    """
    responses: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut, "description": _ERROR_TEXT[code]} for code in codes
    }
    if body:
        responses[400] = {"model": ErrorOut, "description": "The body is not text: send UTF-8"}
    return responses


# --- the Hugging Face papers API -------------------------------------------------


def _hf_time(moment: dt.datetime) -> str:
    # The Hub writes milliseconds and Z; older clients parse only that form.
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


HfTime = Annotated[
    dt.datetime,
    PlainSerializer(_hf_time, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "example": "2026-03-20T00:00:00.000Z"}
    ),
]


class HfAuthor(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id", description="A stable id of this author of this paper")
    name: str
    hidden: bool = False


class HfUser(BaseModel):
    """Who put a paper on the daily list: this site, since papers come from its sources."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    name: str
    user: str
    fullname: str
    avatarUrl: str
    type: Literal["user", "org"]
    isPro: bool = False


class HfOrganization(BaseModel):
    """The Hub organization a paper is listed under, as the Hub's daily list named it."""

    model_config = ConfigDict(populate_by_name=True)

    id: str | None = Field(default=None, alias="_id")
    name: str
    fullname: str | None = None
    avatar: str | None = None


class HfPaper(BaseModel):
    """A paper as the Hub's `/api/papers/{id}` describes it."""

    id: str = Field(description="The arXiv id (or this site's key for a paper without one)")
    authors: list[HfAuthor]
    publishedAt: HfTime | None = Field(description="When arXiv first published it")
    submittedOnDailyAt: HfTime | None = Field(description="When it entered the daily list")
    submittedOnDailyBy: HfUser
    title: str
    summary: str
    upvotes: int = Field(description="Votes on this site plus upvotes recorded from elsewhere")
    discussionId: str
    numComments: int = 0
    githubRepo: str | None = Field(default=None, description="The code repository (usually GitHub)")
    githubStars: int | None = None
    projectPage: str | None = None
    # Hugging Face's notes, when its daily list had them for this paper: never made up here.
    ai_summary: str | None = Field(default=None, description="Hugging Face's summary")
    ai_keywords: list[str] | None = Field(default=None, description="Hugging Face's keywords")
    organization: HfOrganization | None = None


class HfDailyItem(BaseModel):
    """One entry of the daily list, and of search results."""

    paper: HfPaper
    publishedAt: HfTime | None = Field(description="When the paper entered the daily list")
    title: str
    summary: str
    thumbnail: str | None = Field(description="No thumbnails are made here: always null")
    numComments: int
    submittedBy: HfUser
    isAuthorParticipating: bool
    organization: HfOrganization | None = None


# --- paperroute's own API (/api/v1) ---------------------------------------------


class VersionOut(BaseModel):
    number: int
    date: dt.date | None


class PaperLinks(BaseModel):
    page: str = Field(description="The paper's page on this site (a path)")
    abs: str | None = Field(description="arXiv abstract page")
    pdf: str | None
    code: str | None
    project: str | None


class PaperOut(BaseModel):
    id: str = Field(description="The arXiv id, or `pr-<hash>` for a paper without one")
    arxiv_id: str | None
    title: str
    abstract: str
    authors: list[str]
    categories: list[str] = Field(description="The primary category first")
    submitted: dt.date | None
    updated: dt.date | None
    announced: dt.date | None = Field(description="The day it entered the feed")
    versions: list[VersionOut]
    comment: str | None
    journal_ref: str | None
    doi: str | None
    links: PaperLinks
    votes: int = Field(description="Votes on this site")
    upvotes: int | None = Field(description="Upvotes recorded from elsewhere (Hugging Face)")
    github_stars: int | None

    @classmethod
    def of(cls, paper: Paper, votes: int) -> PaperOut:
        """A stored paper, with its votes on this site."""
        key = paper.key or paper_key(paper)
        return cls(
            id=key,
            arxiv_id=paper.arxiv_id,
            title=paper.title,
            abstract=paper.abstract,
            authors=list(paper.authors),
            categories=list(paper.categories),
            submitted=paper.submitted,
            updated=paper.updated,
            announced=paper.announced,
            versions=[VersionOut(number=v.number, date=v.date) for v in paper.versions],
            comment=paper.comment,
            journal_ref=paper.journal_ref,
            doi=paper.doi,
            links=PaperLinks(
                page=f"/papers/{key}",
                abs=paper.abs_url,
                pdf=paper.pdf_url,
                code=web_link(paper.code_url),
                project=web_link(paper.project_url),
            ),
            votes=votes,
            upvotes=paper.upvotes,
            github_stars=paper.github_stars,
        )


class PaperListOut(BaseModel):
    papers: list[PaperOut]
    total: int = Field(description="How many papers match, over all pages")
    limit: int
    offset: int


class SearchHitOut(BaseModel):
    paper: PaperOut
    score: float
    title_html: str = Field(description="The escaped title, matched words in <b>")
    snippet_html: str = Field(description="An escaped excerpt of the abstract, matches in <b>")


class SearchOut(BaseModel):
    query: str = Field(description="The query as searched, filters included")
    hits: list[SearchHitOut]
    has_more: bool
    limit: int
    offset: int
    warnings: list[str] = Field(description="Parts of the query that were not understood")


class SimilarPaperOut(BaseModel):
    paper: PaperOut
    score: float


class SimilarOut(BaseModel):
    paper_id: str
    papers: list[SimilarPaperOut]


class VoteOut(BaseModel):
    paper_id: str
    voted: bool = Field(description="Whether the token's user now votes for the paper")
    votes: int = Field(description="The paper's votes on this site")


# Some visible text, no control characters; spaces around it are dropped. Only spaces: the
# pattern is the schema's too, and other engines' `\s` and `strip()` disagree at the edges.
CollectionName = Annotated[
    str,
    StringConstraints(
        max_length=200, pattern=r"^ *[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])? *$"
    ),
    AfterValidator(lambda name: name.strip(" ")),
]


class CollectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CollectionName
    public: StrictBool = False  # not 0 or "yes": a JSON true or false


class CollectionPatch(BaseModel):
    """Rename a collection, make it public or private: give what changes."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    # Left out when unchanged; null is no value for either.
    name: CollectionName | SkipJsonSchema[None] = None
    public: StrictBool | SkipJsonSchema[None] = None

    @field_validator("name", "public", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("leave it out to keep it as it is; null is no value for it")
        return value


class CollectionOut(BaseModel):
    id: int
    name: str
    public: bool = Field(description="Whether anyone may read it, without a token")
    size: int = Field(description="How many papers it holds")
    created_at: dt.datetime
    updated_at: dt.datetime


class CollectionDetailOut(CollectionOut):
    papers: list[PaperOut] = Field(description="One page of its papers, latest added first")
    total: int = Field(description="How many of its papers can be shown")
    limit: int
    offset: int
