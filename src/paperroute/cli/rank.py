"""`paperroute trending`: the trending list with each score's parts."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import orjson
import typer
from rich.table import Table

from paperroute.cli.console import UserError, console, open_store
from paperroute.rank.trending import trending_page
from paperroute.store import papers as paper_store

__all__ = ["trending"]


class Window(StrEnum):
    day = "day"
    week = "week"
    month = "month"


def _window(window: Window, day: dt.date) -> tuple[dt.date, dt.date]:
    if window is Window.week:
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    if window is Window.month:
        start = day.replace(day=1)
        return start, (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return day, day


def trending(
    window: Window = typer.Option(Window.day, help="The day, ISO week or month ranked."),
    category: str | None = typer.Option(None, help="Only this category (cs.LG) or archive."),
    date: str | None = typer.Option(
        None, help="A day in the window, YYYY-MM-DD; default: the newest day with papers."
    ),
    limit: int = typer.Option(20, min=1, max=1000, help="How many papers."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per paper."),
) -> None:
    """The trending papers of a day, week or month, with the parts of each score.

    Score = points / (age in days + 2)^1.5, points from votes, saves, views
    and outside signals; the formula is at /about/trending on the site.

    Example: [bold]paperroute trending --window week --category cs.LG[/]
    """
    try:
        day = dt.date.fromisoformat(date) if date else None
    except ValueError:
        raise UserError(f"--date {date!r} is not a day: use YYYY-MM-DD, e.g. 2026-03-20") from None
    with open_store() as engine, engine.connect() as conn:
        day = day or paper_store.latest_announced(conn)
        if day is None:
            raise UserError("no papers with an announcement day yet: ingest some first")
        since, until = _window(window, day)
        today = dt.datetime.now(dt.UTC).date()
        page, scores = trending_page(conn, today, since=since, until=until, category=category,
                                     limit=limit)  # fmt: skip
    if as_json:
        for paper, score in zip(page.papers, scores, strict=True):
            row = {"id": paper.arxiv_id or paper.key, "title": paper.title, "score": score.score,
                   "points": score.points, "age_days": score.age_days, "parts": score.parts,
                   "signals": score.describe()}  # fmt: skip
            console.out(orjson.dumps(row).decode(), highlight=False)
        return
    title = f"Trending {since} to {until}" if since != until else f"Trending on {since}"
    table = Table(title=title + (f" in {category}" if category else ""))
    for column in ("#", "score", "points", "votes", "saves", "views", "outside", "age", "paper"):
        table.add_column(column, justify="left" if column == "paper" else "right")
    for rank, (paper, s) in enumerate(zip(page.papers, scores, strict=True), 1):
        outside = s.parts["upvotes"] + s.parts["stars"]
        table.add_row(str(rank), f"{s.score:.3f}", f"{s.points:.1f}", f"{s.parts['votes']:.0f}",
                      f"{s.parts['saves']:.0f}", f"{s.parts['views']:.1f}", f"{outside:.1f}",
                      f"{s.age_days} d", f"{paper.arxiv_id or paper.key}  {paper.title[:70]}")  # fmt: skip
    console.print(table)
    console.print(f"{page.total:,} papers in the window; points: votes x1, saves x2, "
                  "ln(1+views) x0.5, outside upvotes x1, ln(1+stars) x0.5")  # fmt: skip
