"""`GET /papers/{arxiv_id}.md`: a paper as Markdown, where the Hub serves it to `HfApi.read_paper`
(and to anyone who wants a paper as plain text, such as an AI assistant)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from paperroute.domain import Paper
from paperroute.store import votes as vote_store
from paperroute.web.api import MAX_ID_CHARS, PaperId, find_paper
from paperroute.web.api_models import ErrorOut
from paperroute.web.deps import Conn, web_link

__all__ = ["paper_markdown", "router"]

router = APIRouter(tags=["Hugging Face compatible"])
# Text from sources may hold brackets and angles: escaped, it cannot become a link or a tag.
# Math keeps its `_`, `*` and `\`: readers of this Markdown expect the author's notation.
_LINK_SYNTAX = re.compile(r"([\[\]<>])")
# A site path: its errors are the site's error page, JSON only for a client that asks for it.
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/markdown": {"schema": {"type": "string"}}},
          "description": "The paper as Markdown"},
    404: {"model": ErrorOut, "content": {"text/html": {"schema": {"type": "string"}}},
          "description": "No such paper (or a hidden one)"},
}  # fmt: skip


def _text(value: str) -> str:
    return _LINK_SYNTAX.sub(r"\\\1", value)


def _facts(paper: Paper, votes: int) -> list[str]:
    facts: list[str] = []
    if paper.arxiv_id:
        facts.append(f"- arXiv: [{paper.arxiv_id}]({paper.abs_url}) ([PDF]({paper.pdf_url}))")
    first = min((v.date for v in paper.versions if v.date), default=None) or paper.submitted
    if first:
        facts.append(f"- Published: {first.isoformat()}")
    if paper.announced:
        facts.append(f"- Announced: {paper.announced.isoformat()}")
    if paper.categories:
        facts.append(f"- Categories: {', '.join(paper.categories)}")
    if code := web_link(paper.code_url):
        stars = f" ({paper.github_stars:,} stars)" if paper.github_stars is not None else ""
        facts.append(f"- Code: <{code}>{stars}")
    if project := web_link(paper.project_url):
        facts.append(f"- Project page: <{project}>")
    if org := paper.organization:
        facts.append(f"- Organization: {_text(org.fullname or org.name)}")
    if paper.ai_keywords:
        facts.append(f"- Keywords: {_text(', '.join(paper.ai_keywords))}")
    facts.append(f"- Upvotes: {votes + (paper.upvotes or 0)}")
    return facts


def paper_markdown(paper: Paper, votes: int) -> str:
    """The paper's title, authors, facts, Hugging Face's summary when known, and abstract."""
    parts = [f"# {_text(paper.title)}", _text(", ".join(paper.authors)) if paper.authors else "",
             "\n".join(_facts(paper, votes))]  # fmt: skip
    if paper.ai_summary:
        parts.append(f"## AI summary\n\n{_text(paper.ai_summary)}")
    parts.append(f"## Abstract\n\n{_text(paper.abstract)}")
    return "\n\n".join(p for p in parts if p) + "\n"


@router.get(
    "/papers/{arxiv_id:paper}.md",
    response_class=Response,
    responses=RESPONSES,
)
def paper_as_markdown(conn: Conn, arxiv_id: PaperId) -> Response:
    """One paper as Markdown, by its arXiv id (a version suffix is ignored)."""
    found = find_paper(conn, arxiv_id)
    if found is None:
        raise HTTPException(404, f"no paper {arxiv_id[:MAX_ID_CHARS]}")
    paper_id, paper = found
    votes = vote_store.count_votes(conn, [paper_id]).get(paper_id, 0)
    return Response(paper_markdown(paper, votes), media_type="text/markdown; charset=utf-8")
