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
from paperroute.rank.baselines import ARXIV_SANITY_C
from paperroute.rank.evaluate import (
    MethodResult,
    embed_for,
    evaluate_recommenders,
    ours_minus,
    sample_readers,
    with_svm_c,
)
from paperroute.rank.protocol import Protocol, Simulation
from paperroute.rank.trending import trending_page
from paperroute.store import papers as paper_store

__all__ = ["recommend", "results_table", "trending"]


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
    corpus: list[Path] = typer.Argument(
        ...,
        help="Papers as JSON lines (.jsonl or .jsonl.gz), one or more files read as one corpus.",
    ),
    cutoff: str = typer.Option(..., help="History before this day, the window of 30 days from it."),
    protocol: Protocol = typer.Option(
        Protocol.collaborators,
        help="Targets: papers of the reader's close collaborators without the reader "
        "(collaborators), the reader's own papers with names hidden (own), or their own "
        "papers with names shown (authorship: a sanity check, never a measure of quality).",
    ),
    readers: int = typer.Option(
        0,
        min=0,
        help="Only a seeded sample of this many readers, for a quick look (0: every reader; "
        "arxiv-sanity's SVM takes most of a second per reader).",
    ),
    seed: int = typer.Option(0, help="Seeds the sample of readers, ties and the bootstrap."),
    svm_c: float = typer.Option(
        ARXIV_SANITY_C,
        help="C of arxiv-sanity's SVM (chosen on the "
        "validation cutoff 2025-12-01 of the shared corpus).",
    ),
    cache: Path | None = typer.Option(None, help="Keep computed embeddings here for the next run."),
    as_json: bool = typer.Option(False, "--json", help="The figures as one JSON object."),
) -> None:
    """Every recommender on readers simulated from authorship, names hidden from all.

    A reader is a name on 3 or more papers of the year before the cutoff;
    they liked those papers. Under the default protocol their targets are the
    next 30 days' papers by their close collaborators without them; every
    paper of those days but their own is ranked. Compares newest, popularity,
    the reader's category prior, tf-idf and embedding centroids,
    arxiv-sanity-lite's per-reader SVM and ours on the same readers, with
    95% intervals of ours minus each.

    Example: [bold]paperroute eval recommend papers.jsonl.gz --cutoff 2026-01-01 --readers 300 --cache vectors/[/]
    """
    try:
        day = dt.date.fromisoformat(cutoff)
    except ValueError:
        raise UserError(f"--cutoff {cutoff!r} is not a day: use YYYY-MM-DD") from None
    for path in corpus:
        if not path.exists():
            raise UserError(f"{path} does not exist")
    papers = [item for path in corpus for item in read_json_file(path) if isinstance(item, Paper)]
    sim = Simulation.make(papers, day, protocol)
    if not sim.readers:
        raise UserError(
            f"no reader with a target for --cutoff {day} in {', '.join(map(str, corpus))} "
            f"({sim.dropped} without one): choose a cutoff at least 30 days before the corpus's end "
            "with papers before it"
        )
    chosen = sample_readers(sim.readers, readers, seed)
    with progress_bar(disable=as_json) as bar:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        embedder = load_embedder(settings().embedder)
        embed_for(sim, chosen, embedder, VectorCache(cache) if cache else None,
                  lambda done, total: report("embedding", done, total), seed)  # fmt: skip
        results = evaluate_recommenders(sim, chosen, progress=report, seed=seed,
                                        prepare=with_svm_c(svm_c))  # fmt: skip
    gaps = ours_minus(results, seed)
    if as_json:
        out = {"protocol": str(protocol), "cutoff": str(day), "readers": len(chosen),
               "dropped": sim.dropped, "candidates": len(sim.window),
               "methods": {name: r.as_json() for name, r in results.items()},
               "ours_minus": gaps}  # fmt: skip
        console.out(orjson.dumps(out).decode(), highlight=False)
        return
    console.print(results_table(results, gaps, f"{protocol} protocol, cutoff {day}: "
                                f"{len(chosen):,} of {len(sim.readers):,} readers "
                                f"({sim.dropped:,} without a target dropped), "
                                f"{len(sim.window):,} candidates"))  # fmt: skip
    if protocol is Protocol.authorship:
        console.print("authorship shows names to every method: a sanity check, not quality")


def _interval(gap: list[float]) -> str:
    low, mean, high = gap
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def results_table(
    results: dict[str, MethodResult], gaps: dict[str, dict[str, list[float]]], title: str
) -> Table:
    """One row per method: its metrics, ours minus it with 95% intervals, ms per reader."""
    table = Table(title=title)
    for column in ("method", "recall@20", "nDCG@20", "MRR", "ours - it: recall@20",
                   "ours - it: nDCG@20", "ms/reader"):  # fmt: skip
        table.add_column(column, justify="left" if column == "method" else "right")
    for name, r in results.items():
        gap = gaps.get(name)
        table.add_row(name, f"{r.recall:.3f}", f"{r.ndcg:.3f}", f"{r.mrr:.3f}",
                      _interval(gap["recall@20"]) if gap else "", _interval(gap["ndcg@20"]) if gap else "",
                      f"{np.mean(r.ms):.1f}")  # fmt: skip
    return table
