"""`paperroute ingest SOURCE`: bring papers in from files and from arXiv / Hugging Face."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from paperroute.cli.console import UserError, console, ingest_with_progress, open_store, settings
from paperroute.ingest.http import FetchPolicy, PoliteClient
from paperroute.ingest.pipeline import resume_point
from paperroute.ingest.sources.arxiv_api import SOURCE as SOURCE_ARXIV
from paperroute.ingest.sources.arxiv_api import fetch_arxiv_ids, fetch_arxiv_query
from paperroute.ingest.sources.arxiv_rss import SOURCE as SOURCE_RSS
from paperroute.ingest.sources.arxiv_rss import fetch_arxiv_rss
from paperroute.ingest.sources.bibtex import read_bibtex_file
from paperroute.ingest.sources.hf_daily import SOURCE as SOURCE_HF
from paperroute.ingest.sources.hf_daily import fetch_hf_daily
from paperroute.ingest.sources.jsonl import read_json_file
from paperroute.ingest.sources.listing import read_listing_file
from paperroute.ingest.sources.oai_pmh import SOURCE as SOURCE_OAI
from paperroute.ingest.sources.oai_pmh import fetch_oai_records

__all__ = ["app"]

app = typer.Typer(help="Ingest papers from a file or a network source.", no_args_is_help=True)


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise UserError(f"{path} is not a file; give the path of the file to ingest")
    return path.resolve()


@app.command("file")
def file(path: Path = typer.Argument(..., help="A .jsonl, .json or .jsonl.gz file.")) -> None:
    """Papers from JSON Lines / JSON (the shared corpus format; gzip allowed).

    Example: [bold]paperroute ingest file papers.jsonl.gz[/]
    """
    path = _existing(path)
    with open_store() as engine:
        ingest_with_progress(engine, "file", str(path), read_json_file(path))


@app.command("bibtex")
def bibtex(path: Path = typer.Argument(..., help="A .bib file.")) -> None:
    """Papers from a BibTeX file (arXiv ids from eprint, url or journal fields).

    Example: [bold]paperroute ingest bibtex my-papers.bib[/]
    """
    path = _existing(path)
    with open_store() as engine:
        ingest_with_progress(engine, "bibtex", str(path), read_bibtex_file(path))


@app.command("listing")
def listing(path: Path = typer.Argument(..., help="A listing page saved as text.")) -> None:
    """Papers from a listing page saved as text: header lines, then title / abstract pairs.

    Example: [bold]paperroute ingest listing trending.txt[/]
    """
    path = _existing(path)
    with open_store() as engine:
        ingest_with_progress(engine, "listing", str(path), read_listing_file(path))


def _client() -> PoliteClient:
    current = settings()
    policy = FetchPolicy(
        delay=current.request_delay,
        timeout=current.request_timeout,
        deadline=current.request_deadline,
    )
    return PoliteClient(policy)


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


@app.command("arxiv")
def arxiv(
    query: str = typer.Option("", "--query", "-q", help="arXiv search query, e.g. 'cat:cs.LG'."),
    ids: list[str] = typer.Option([], "--id", help="arXiv id or URL; repeat for several."),
    since: dt.datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Submitted on or after."
    ),
    limit: int | None = typer.Option(None, "--max", min=1, help="Stop after this many papers."),
) -> None:
    """Papers from the arXiv query API; an interrupted query resumes where it stopped.

    Example: [bold]paperroute ingest arxiv --query 'cat:cs.CL AND abs:retrieval' --since 2026-03-01[/]
    """
    if bool(query) == bool(ids):
        raise UserError(
            "give --query or --id, one of the two (see `paperroute ingest arxiv --help`)"
        )
    current = settings()
    if ids:
        with open_store() as engine, _client() as client:
            items = fetch_arxiv_ids(client, ids, base_url=current.arxiv_api_url)
            ingest_with_progress(engine, SOURCE_ARXIV, "ids=" + ",".join(sorted(ids)), items)
        return
    if since is not None:
        query = f"({query}) AND submittedDate:[{since:%Y%m%d}0000 TO 999912312359]"
    scope = f"query={query}"
    with open_store() as engine, _client() as client:
        last = resume_point(engine, SOURCE_ARXIV, scope)
        start = int(last.watermark or 0) if last and last.status != "completed" else 0
        # Oldest first: new submissions join the end, so a resumed offset still
        # points at the next unread paper (relevance order would shift under it).
        items = fetch_arxiv_query(client, base_url=current.arxiv_api_url, search_query=query,
                                  start=start, max_results=limit, sort_by="submittedDate",
                                  sort_order="ascending")  # fmt: skip
        ingest_with_progress(engine, SOURCE_ARXIV, scope, items)


@app.command("oai")
def oai(
    set_spec: str = typer.Option("cs", "--set", help="OAI set: cs, math, physics:hep-th ..."),
    metadata_format: str = typer.Option(
        "arXivRaw", "--format", help="arXivRaw (with versions) or arXiv."
    ),
    since: dt.datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Harvest from this datestamp."
    ),
    until: dt.datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Harvest up to this datestamp."
    ),
) -> None:
    """Harvest arXiv OAI-PMH: resumes an interrupted harvest, else continues from the last one.

    Example: [bold]paperroute ingest oai --set cs --since 2026-03-01[/]
    """
    if metadata_format not in {"arXivRaw", "arXiv"}:
        raise UserError(f"--format {metadata_format!r}: use arXivRaw or arXiv")
    current = settings()
    scope = f"set={set_spec};format={metadata_format}"
    with open_store() as engine, _client() as client:
        last = resume_point(engine, SOURCE_OAI, scope)
        # An explicit --since starts a new harvest; otherwise go on from the last one.
        watermark = last.watermark if last is not None and since is None else None
        items = fetch_oai_records(client, endpoint=current.arxiv_oai_url + "/oai",
                                  metadata_prefix=metadata_format, set_spec=set_spec,
                                  from_date=_day(since), until_date=_day(until),
                                  watermark=watermark)  # fmt: skip
        ingest_with_progress(engine, SOURCE_OAI, scope, items)


@app.command("rss")
def rss(
    category: str = typer.Option("cs", "--category", "-c", help="cs, cs.LG, or cs.LG+cs.CL ..."),
    announce: list[str] = typer.Option([], help="Only these announce types (new, cross, replace)."),
) -> None:
    """Today's announcements from arXiv's RSS feed (new papers, cross-lists, replacements).

    Example: [bold]paperroute ingest rss --category cs.LG+cs.CL --announce new[/]
    """
    current = settings()
    with open_store() as engine, _client() as client:
        items = fetch_arxiv_rss(client, base_url=current.arxiv_rss_url, categories=category,
                                announce_types=set(announce) or None)  # fmt: skip
        ingest_with_progress(engine, SOURCE_RSS, f"categories={category}", items)


@app.command("hf")
def hf(
    date: dt.datetime | None = typer.Option(None, formats=["%Y-%m-%d"], help="One day."),
    since: dt.datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Every day from this one."
    ),
    until: dt.datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Last day (default today)."
    ),
) -> None:
    """The Hugging Face daily papers; without dates, every day since the last run's last day.

    Example: [bold]paperroute ingest hf --since 2026-03-01[/]
    """
    current = settings()
    last_day = _day(until) or dt.datetime.now(dt.UTC).date()
    first_day = _day(date) or _day(since)
    if date is not None:
        last_day = date.date()
    with open_store() as engine, _client() as client:
        if first_day is None:
            # Start again at the last day fetched: its list keeps growing all day.
            last = resume_point(engine, SOURCE_HF, "daily")
            first_day = (
                dt.date.fromisoformat(last.watermark) if last and last.watermark else last_day
            )
        if first_day > last_day:
            console.print(f"Nothing to fetch: {first_day} is after {last_day}.")
            return
        days = [first_day + dt.timedelta(days=n) for n in range((last_day - first_day).days + 1)]
        items = fetch_hf_daily(client, base_url=current.hf_url, days=days)
        ingest_with_progress(engine, SOURCE_HF, "daily", items)
