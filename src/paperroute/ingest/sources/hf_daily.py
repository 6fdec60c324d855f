"""Hugging Face's daily papers: the community's picks, with upvotes and code links.

    GET {base_url}/api/daily_papers?date=2025-03-18

answers a JSON array with one object per paper on that day's list:

    [{"paper": {"id": "2503.11731", "title": "...", "summary": "...",
                "authors": [{"_id": "...", "name": "Xianming Zeng", "hidden": false}],
                "publishedAt": "2025-03-14T15:41:18.000Z", "upvotes": 27,
                "githubRepo": "https://github.com/...", "githubStars": 143,
                "projectPage": "https://...", "ai_summary": "...", ...},
      "publishedAt": "2025-03-18T02:11:40.512Z", "title": "...", "numComments": 3, ...}]

`paper.id` is the arXiv id and `paper.publishedAt` the arXiv submission time.
A day with no papers (a weekend) is an empty array.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any, cast

import orjson

from paperroute.domain import Checkpoint, Paper, Rejected, SourceItem
from paperroute.ingest.http import PoliteClient
from paperroute.ingest.normalize import RecordError, build_paper
from paperroute.ingest.sources.errors import SourceError

__all__ = ["SOURCE", "fetch_hf_daily", "item_to_paper", "read_hf_daily"]

SOURCE = "hf-daily"


def _author_names(authors: object) -> list[str]:
    # Every listed author counts: `hidden` only hides the name on the HF page.
    if authors is None:
        return []
    if not isinstance(authors, list):
        raise RecordError("paper.authors is not a list")
    entries = cast(list[object], authors)
    return [
        str(entry["name"])
        for entry in entries
        if isinstance(entry, dict) and isinstance(cast(dict[str, Any], entry).get("name"), str)
    ]


def item_to_paper(item: object, day: dt.date) -> Paper:
    """One entry of the daily list as a `Paper` announced on `day`; RecordError if malformed."""
    if not isinstance(item, dict):
        raise RecordError("not a JSON object")
    record = cast(dict[str, Any], item)
    paper = record.get("paper")
    if not isinstance(paper, dict):
        raise RecordError("no `paper` object")
    fields = cast(dict[str, Any], paper)
    arxiv_id = fields.get("id")
    if not isinstance(arxiv_id, str) or not arxiv_id.strip():
        raise RecordError("no paper.id (the arXiv id)")
    return build_paper(
        source=SOURCE,
        arxiv_id=arxiv_id,
        # The top-level title and summary are copies; use them if the paper lacks its own.
        title=fields.get("title") or record.get("title"),
        abstract=fields.get("summary") or record.get("summary") or "",
        authors=_author_names(fields.get("authors")),
        submitted=fields.get("publishedAt"),
        announced=day,
        upvotes=fields.get("upvotes"),  # build_paper keeps plausible counts only
        github_stars=fields.get("githubStars"),
        code_url=fields.get("githubRepo"),
        project_url=fields.get("projectPage"),
        ai_summary=fields.get("ai_summary"),
        ai_keywords=fields.get("ai_keywords"),
        organization=fields.get("organization") or record.get("organization"),
    )


def read_hf_daily(content: bytes, where: str, day: dt.date) -> Iterator[Paper | Rejected]:
    """The papers of `day`'s list fetched from `where`; bad items become `Rejected`.

    SourceError if the answer is not a JSON list (the run stops here).
    """
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise SourceError(
            f"{where} did not answer JSON ({exc.msg}); is the base URL right?"
        ) from None
    if not isinstance(data, list):
        raise SourceError(f"{where} answered JSON that is not a list of papers")
    for number, item in enumerate(cast(list[object], data), start=1):
        try:
            yield item_to_paper(item, day)
        except RecordError as exc:
            yield Rejected(f"{where} item {number}", str(exc))


def fetch_hf_daily(
    client: PoliteClient, *, base_url: str, days: Iterable[dt.date]
) -> Iterator[SourceItem]:
    """Papers on the daily list of each day in `days`, in order.

    After each day comes `Checkpoint(<day, YYYY-MM-DD>)`, so a resumed run starts
    with the next day. Bad items become `Rejected("{url} item {n}")`, n from 1.
    """
    root = base_url.rstrip("/")
    for day in days:
        url = f"{root}/api/daily_papers?date={day.isoformat()}"
        response = client.get(url)
        if response.status_code != 200:
            raise SourceError(f"{url} answered HTTP {response.status_code}; check the base URL")
        yield from read_hf_daily(response.content, url, day)
        yield Checkpoint(day.isoformat())
