"""The paper tools an AI assistant calls over the Model Context Protocol, on any transport.

`paperroute mcp` serves them over stdio to one local reader; web.mcp serves them
under the site at /mcp to the user of an API token. Every paper in a result
carries its arXiv id and links: arXiv's abstract and PDF, and its page here
(from the configured site address, never from a request).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import quote

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine

from paperroute import __version__
from paperroute.domain import Paper
from paperroute.index.sync import IndexMissing
from paperroute.rank.for_you import CandidateCache, recommend_for
from paperroute.rank.trending import listing as ranked_listing
from paperroute.search.live import LiveSearch
from paperroute.search.service import Mode, SearchService
from paperroute.store import papers as paper_store
from paperroute.store import votes as vote_store

__all__ = ["Caller", "PaperOut", "PaperTools", "build_server"]

MAX_REF_CHARS = 100
MAX_SEARCH_OFFSET = 1_000
INSTRUCTIONS = (
    "Research papers (mostly arXiv) on this paperroute site. search_papers takes the site's "
    'query language: words, "a phrase", -excluded, author:Name, cat:cs.LG, since:2026-01-01, '
    "until:..., has:code, or an arXiv id. Each paper comes with its arXiv id and links "
    "(abs, pdf, the page here); cite papers by those."
)


class Links(BaseModel):
    abs: str | None = Field(description="The arXiv abstract page")
    pdf: str | None = Field(description="The PDF on arXiv")
    page: str | None = Field(description="This paper's page on this site")
    code: str | None = Field(default=None, description="The code repository, when known")
    project: str | None = Field(default=None, description="The project page, when known")


class PaperOut(BaseModel):
    id: str = Field(description="The paper's id here: its arXiv id when it has one")
    arxiv_id: str | None
    title: str
    authors: list[str]
    abstract: str
    categories: list[str] = Field(description="arXiv categories, the primary one first")
    announced: dt.date | None = Field(description="The day arXiv announced it")
    votes: int = Field(description="Votes here plus upvotes recorded elsewhere")
    links: Links


class SearchHitOut(BaseModel):
    paper: PaperOut
    score: float = Field(description="Higher is a better match; comparable within one search")
    snippet: str = Field(description="Where the abstract matches, as plain text")


class SearchOut(BaseModel):
    query: str
    papers: list[SearchHitOut]
    has_more: bool = Field(description="Whether a larger offset finds more")
    warnings: list[str] = Field(description="Parts of the query that were not understood")


class SimilarPaperOut(BaseModel):
    paper: PaperOut
    score: float = Field(description="Cosine similarity of the abstracts' meanings")


class SimilarOut(BaseModel):
    paper_id: str
    papers: list[SimilarPaperOut]


class DayOut(BaseModel):
    date: dt.date | None = Field(description="The announcement day listed; none when empty")
    total: int
    papers: list[PaperOut]


class RecommendedOut(BaseModel):
    paper: PaperOut
    score: float
    reason: str = Field(description="Why: the liked paper it is closest to, words, authors")


class ForYouOut(BaseModel):
    papers: list[RecommendedOut]


def _plain(fragment: str) -> str:
    """Highlighted HTML (escaped text with <b>) as plain text."""
    return html.unescape(re.sub(r"</?b>", "", fragment))


@dataclass(frozen=True)
class PaperTools:
    """The tools' work, over the store and the search index; no transport in sight."""

    engine: Engine
    search: LiveSearch
    candidates: CandidateCache
    base_url: str | None  # the site's public address, for links to paper pages
    clock: Callable[[], dt.datetime]

    def _papers_out(
        self, conn: Connection, papers: Sequence[Paper], ids: Sequence[int]
    ) -> list[PaperOut]:
        votes = vote_store.count_votes(conn, list(ids))
        return [self._paper_out(p, votes.get(i, 0)) for p, i in zip(papers, ids, strict=True)]

    def _paper_out(self, paper: Paper, votes: int) -> PaperOut:
        key = paper.key or paper_store.paper_key(paper)
        page = f"{self.base_url}/papers/{quote(key, safe='/')}" if self.base_url else None
        links = Links(abs=paper.abs_url, pdf=paper.pdf_url, page=page,
                      code=_web_link(paper.code_url), project=_web_link(paper.project_url))  # fmt: skip
        return PaperOut(id=key, arxiv_id=paper.arxiv_id, title=paper.title,
                        authors=list(paper.authors), abstract=paper.abstract,
                        categories=list(paper.categories), announced=paper.announced,
                        votes=votes + (paper.upvotes or 0), links=links)  # fmt: skip

    def _find(self, conn: Connection, ref: str) -> tuple[int, Paper]:
        """A visible paper by arXiv id or key; a ToolError naming the id otherwise."""
        ref = ref.strip()
        paper_id = None
        if ref and len(ref) <= MAX_REF_CHARS and ref.isprintable():
            paper_id = paper_store.ids_for_refs(conn, [ref]).get(ref)
        if paper_id is not None and not paper_store.hidden_ids(conn, [paper_id]):
            paper = paper_store.get_papers_by_ids(conn, [paper_id]).get(paper_id)
            if paper is not None:
                return paper_id, paper
        shown = ref[:MAX_REF_CHARS]
        raise ToolError(f"no paper {shown!r} here: check the arXiv id, or use search_papers")

    def _service(self) -> SearchService:
        try:
            return self.search.service()
        except IndexMissing:
            raise ToolError(
                "search is not available yet: the search index has not been built; "
                "run `paperroute index rebuild` on the server"
            ) from None

    def search_papers(self, query: str, mode: Mode, sort: Literal["relevance", "date", "votes"],
                      limit: int, offset: int) -> SearchOut:  # fmt: skip
        if not query.strip():
            raise ToolError("query: give words to search for, an author:, a cat: or an arXiv id")
        service = self._service()
        page = service.search(query, mode=mode, sort=sort, limit=limit, offset=offset,
                              today=self.clock().date())  # fmt: skip
        with self.engine.connect() as conn:
            if page.paper is not None:  # the query was an arXiv id: that paper is the answer
                paper_id, paper = self._find(conn, page.paper.key or query)
                hits = [SearchHitOut(paper=self._papers_out(conn, [paper], [paper_id])[0],
                                     score=1.0, snippet="")] if offset == 0 else []  # fmt: skip
                return SearchOut(query=query, papers=hits, has_more=False, warnings=[])
            outs = self._papers_out(
                conn, [h.paper for h in page.hits], [h.paper_id for h in page.hits]
            )
        hits = [SearchHitOut(paper=out, score=float(h.score), snippet=_plain(h.snippet_html))
                for out, h in zip(outs, page.hits, strict=True)]  # fmt: skip
        return SearchOut(query=query, papers=hits, has_more=page.has_more,
                         warnings=list(page.query.errors))  # fmt: skip

    def get_paper(self, arxiv_id: str) -> PaperOut:
        with self.engine.connect() as conn:
            paper_id, paper = self._find(conn, arxiv_id)
            return self._papers_out(conn, [paper], [paper_id])[0]

    def similar_papers(self, arxiv_id: str, limit: int) -> SimilarOut:
        with self.engine.connect() as conn:
            found_id, paper = self._find(conn, arxiv_id)
            ids, scores = self._service().ranker.similar([found_id], limit=limit + 10)
            hidden = paper_store.hidden_ids(conn, ids)
            found = paper_store.get_papers_by_ids(conn, [i for i in ids if i not in hidden])
            pairs = [(i, s) for i, s in zip(ids, scores, strict=True) if i in found][:limit]
            outs = self._papers_out(conn, [found[i] for i, _ in pairs], [i for i, _ in pairs])
        similar = [SimilarPaperOut(paper=out, score=float(score))
                   for out, (_, score) in zip(outs, pairs, strict=True)]  # fmt: skip
        return SimilarOut(paper_id=paper.key or arxiv_id, papers=similar)

    def daily_papers(self, date: str | None, sort: Literal["newest", "trending"], limit: int,
                     offset: int) -> DayOut:  # fmt: skip
        today = self.clock().date()
        with self.engine.connect() as conn:
            day = _day(date) if date else paper_store.latest_announced(conn, today)
            if day is None:
                return DayOut(date=None, total=0, papers=[])
            order = "trending" if sort == "trending" else "announced"
            page = ranked_listing(conn, today, order=order, since=day, until=day, limit=limit,
                                  offset=offset)  # fmt: skip
            return DayOut(date=day, total=page.total,
                          papers=self._papers_out(conn, page.papers, page.ids))  # fmt: skip

    def for_you(self, user_id: int | None, limit: int) -> ForYouOut:
        if user_id is None:
            raise ToolError(
                "for_you needs a reader: over HTTP, send that reader's API token; "
                "over stdio, start `paperroute mcp --user EMAIL`"
            )
        with self.engine.connect() as conn:
            found = recommend_for(conn, user_id, self.candidates, limit=limit)
            outs = self._papers_out(conn, [f.paper for f in found], [f.paper_id for f in found])
        return ForYouOut(papers=[RecommendedOut(paper=out, score=f.score, reason=f.reason)
                                 for out, f in zip(outs, found, strict=True)])  # fmt: skip


def _web_link(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _day(text: str) -> dt.date:
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ToolError(
            f"date: {text[:40]!r} is not a day; write YYYY-MM-DD, e.g. 2026-03-20"
        ) from None


@dataclass(frozen=True)
class Caller:
    """Who a tool call is for: the tools to use and the reader (None: nobody signed in)."""

    tools: PaperTools
    user_id: int | None


Resolve = Callable[[Context[Any, Any]], Caller]
Limit = Annotated[int, Field(ge=1, le=50, description="How many papers to return")]
PaperRef = Annotated[str, Field(description="An arXiv id (2503.11731, quant-ph/0201082)",
                                max_length=MAX_REF_CHARS)]  # fmt: skip
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)


def build_server(resolve: Resolve) -> MCPServer[Any]:
    """An MCP server with the paper tools; `resolve` says for whom each call runs."""
    # The SDK puts a handler on the root logger unless one is there: at WARNING, as Python's
    # own default, so the libraries' INFO lines do not start showing in the site's log.
    server: MCPServer[Any] = MCPServer("paperroute", title="paperroute papers",
                                       instructions=INSTRUCTIONS, version=__version__,
                                       log_level="WARNING")  # fmt: skip

    @server.tool(annotations=READ_ONLY)
    def search_papers(
        ctx: Context[Any, Any],
        query: Annotated[
            str,
            Field(
                description='Words, "phrases", -word, author:, cat:, '
                "since:YYYY-MM-DD, until:, has:code, or an arXiv id",
                max_length=1000,
            ),
        ],
        mode: Annotated[Mode, Field(description="Match words, meaning, or both")] = "hybrid",
        sort: Literal["relevance", "date", "votes"] = "relevance",
        limit: Limit = 10,
        offset: Annotated[int, Field(ge=0, le=MAX_SEARCH_OFFSET)] = 0,
    ) -> SearchOut:
        """Search the papers, best match first, with where each abstract matches."""
        return resolve(ctx).tools.search_papers(query, mode, sort, limit, offset)

    @server.tool(annotations=READ_ONLY)
    def get_paper(ctx: Context[Any, Any], arxiv_id: PaperRef) -> PaperOut:
        """One paper: title, authors, abstract, categories, announcement day, votes, links."""
        return resolve(ctx).tools.get_paper(arxiv_id)

    @server.tool(annotations=READ_ONLY)
    def similar_papers(ctx: Context[Any, Any], arxiv_id: PaperRef, limit: Limit = 10) -> SimilarOut:
        """The papers nearest in meaning to one paper, nearest first."""
        return resolve(ctx).tools.similar_papers(arxiv_id, limit)

    @server.tool(annotations=READ_ONLY)
    def daily_papers(
        ctx: Context[Any, Any],
        date: Annotated[
            str | None, Field(description="The day, YYYY-MM-DD; none: the newest day with papers")
        ] = None,
        sort: Literal["newest", "trending"] = "newest",
        limit: Annotated[int, Field(ge=1, le=100)] = 50,
        offset: Annotated[int, Field(ge=0, le=100_000)] = 0,
    ) -> DayOut:
        """The papers arXiv announced on one day, newest id first or trending first."""
        return resolve(ctx).tools.daily_papers(date, sort, limit, offset)

    @server.tool(annotations=READ_ONLY)
    def for_you(ctx: Context[Any, Any], limit: Limit = 20) -> ForYouOut:
        """The reader's recommendations among the last two weeks' papers, each with its reason;
        empty until the reader has voted, saved or stated interests."""
        caller = resolve(ctx)
        return caller.tools.for_you(caller.user_id, limit)

    return server
