"""`paperroute trending` and `paperroute eval recommend`: the rankings, shown and measured."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path

import numpy as np
import orjson
import typer
from rich.progress import TaskID
from rich.table import Table

from paperroute.cli.console import UserError, console, open_store, progress_bar, settings
from paperroute.cli.search import eval_app
from paperroute.domain import Paper
from paperroute.index.embed import load_embedder
from paperroute.index.vector_cache import VectorCache
from paperroute.ingest.sources.jsonl import read_json_file
from paperroute.rank.evaluate import Simulation, embed_for, evaluate_recommenders
from paperroute.rank.trending import trending_page
from paperroute.store import papers as paper_store

__all__ = ["recommend", "trending"]


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


@eval_app.command("recommend")
def recommend(
    corpus: Path = typer.Argument(..., help="Papers as JSON lines (.jsonl or .jsonl.gz)."),
    cutoff: str = typer.Option(..., help="Readers' saved papers are those before this day."),
    readers: int = typer.Option(
        0,
        min=0,
        help="Only a seeded sample of this many readers, for a quick look (0: every "
        "reader; arxiv-sanity's SVM takes most of a second per reader).",
    ),
    seed: int = typer.Option(0, help="Which sample of readers."),
    embeddings: bool = typer.Option(
        True,
        help="Give our model the papers' embeddings, as the site does (computed for the "
        "readers' papers and the candidates: minutes to half an hour on a laptop; see --cache).",
    ),
    cache: Path | None = typer.Option(None, help="Keep computed vectors here for the next run."),
    as_json: bool = typer.Option(False, "--json", help="The figures as one JSON object."),
) -> None:
    """Recommenders compared by simulating readers from authorship.

    Each author with 3 or more papers before the cutoff and one in the 30
    days after is a reader who saved their earlier papers; all papers of those
    30 days are ranked for them and their own count as relevant. Compares
    newest first, trending (category popularity), arxiv-sanity-lite's
    per-user SVM and ours on the same readers.

    Example: [bold]paperroute eval recommend papers.jsonl.gz --cutoff 2026-01-01 --cache vectors/[/]
    """
    try:
        day = dt.date.fromisoformat(cutoff)
    except ValueError:
        raise UserError(f"--cutoff {cutoff!r} is not a day: use YYYY-MM-DD") from None
    if not corpus.exists():
        raise UserError(f"{corpus} does not exist")
    papers = [item for item in read_json_file(corpus) if isinstance(item, Paper)]
    sim = Simulation.make(papers, day)
    if not sim.readers:
        raise UserError(
            f"no reader in {corpus} for --cutoff {day}: no author has 3 papers before it and one "
            "in the 30 days after; choose a cutoff inside the corpus's dates"
        )
    chosen = sim.readers
    if readers and readers < len(chosen):
        picks = np.random.default_rng(seed).choice(len(chosen), readers, replace=False)
        chosen = [chosen[i] for i in sorted(picks)]
    with progress_bar(disable=as_json) as bar:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        if embeddings:
            embedder = load_embedder(settings().embedder)
            embed_for(sim, chosen, embedder, VectorCache(cache) if cache else None,
                      lambda done, total: report("embedding", done, total))  # fmt: skip
        results = evaluate_recommenders(sim, chosen, progress=report)
    summary = {"cutoff": str(day), "readers": len(chosen), "readers_total": len(sim.readers),
               "candidates": len(sim.candidates), "papers": len(sim.papers),
               "embeddings": embeddings}  # fmt: skip
    if as_json:
        out = {name: r.as_json() for name, r in results.items()} | {"run": summary}
        console.out(orjson.dumps(out).decode(), highlight=False)
        return
    table = Table(title=f"Recommenders, {len(chosen):,} of {len(sim.readers):,} readers, "
                        f"{len(sim.candidates):,} candidates (cutoff {day})")  # fmt: skip
    for column in ("method", "recall@20", "nDCG@20", "MRR", "train ms/user", "p95 ms"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for name, r in results.items():
        figures = r.as_json()
        table.add_row(name, f"{r.recall:.4f}", f"{r.ndcg:.4f}", f"{r.mrr:.4f}",
                      f"{figures['train_ms_per_user']:.1f}", f"{figures['train_ms_p95']:.1f}")  # fmt: skip
    console.print(table)
