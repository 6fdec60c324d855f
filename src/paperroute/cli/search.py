"""`paperroute search` and `paperroute eval`: the search service on the command line."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from paperroute.cli.console import UserError, console, open_store, settings
from paperroute.cli.papers import paper_json
from paperroute.index.embed import load_embedder
from paperroute.index.sync import open_index
from paperroute.index.vector_cache import VectorCache
from paperroute.search.beir import load_beir
from paperroute.search.evaluate import MODES, evaluate_beir
from paperroute.search.service import SORTS, Mode, Ranker, SearchService
from paperroute.store import papers as paper_store

__all__ = ["eval_app", "search", "similar"]

eval_app = typer.Typer(help="Measure search and recommendation quality.", no_args_is_help=True)


def _plain(html: str) -> str:
    return (
        re.sub(r"</?b>", "", html)
        .replace("&#x27;", "'")
        .replace("&quot;", '"')
        .replace("&amp;", "&")
    )


def search(
    query: str = typer.Argument(
        ..., help='Words, "phrases", author:, cat:, since:, -word, or an arXiv id.'
    ),
    limit: int = typer.Option(10, min=1, max=200),
    category: str | None = typer.Option(None, help="Only this category (cs.LG) or archive (cs)."),
    since: dt.datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Announced on or after."
    ),
    mode: str = typer.Option("hybrid", help="hybrid, lexical or semantic."),
    sort: str = typer.Option("relevance", help="relevance, date or votes."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search the indexed papers (run `paperroute index sync` first).

    Example: [bold]paperroute search "diffusion image editing" --category cs.CV --since 2026-01-01[/]
    """
    if mode not in MODES or sort not in SORTS:
        raise typer.BadParameter(
            "--mode is hybrid, lexical or semantic; --sort is relevance, date or votes"
        )
    text = (
        query
        + (f" cat:{category}" if category else "")
        + (f" since:{since:%Y-%m-%d}" if since else "")
    )
    current = settings()
    embedder = load_embedder(current.embedder)
    with open_store(current) as engine:
        ranker = Ranker(open_index(current.index_root, embedder, create=False), embedder)
        page = SearchService(engine, ranker).search(text, mode=_mode(mode), sort=sort, limit=limit)  # type: ignore[arg-type]
    if as_json:
        hits = [paper_json(page.paper)] if page.paper else [
            paper_json(h.paper) | {"score": h.score, "snippet": h.snippet_html} for h in page.hits
        ]  # fmt: skip
        console.out(orjson.dumps({"query": text, "errors": page.query.errors, "hits": hits},
                                 option=orjson.OPT_INDENT_2).decode(), highlight=False)  # fmt: skip
        return
    for error in page.query.errors:
        console.print(f"[yellow]note:[/] {error}")
    if page.paper is not None:
        console.print(f"[bold]{page.paper.key}[/] {page.paper.title}")
        return
    table = Table(title=f"{query}", show_lines=False)
    for column in ("#", "id", "announced", "title"):
        table.add_column(column, overflow="fold" if column == "title" else "ellipsis")
    for rank, hit in enumerate(page.hits, start=1):
        table.add_row(
            str(rank),
            hit.paper.key or "",
            str(hit.paper.announced or ""),
            _plain(hit.title_html) or hit.paper.title,
        )
    console.print(table if page.hits else "No papers match; try fewer words or drop a filter.")


def similar(
    papers: list[str] = typer.Argument(..., help="One or more arXiv ids: more like these."),
    limit: int = typer.Option(10, min=1, max=200),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Papers most like one paper, or like a set of papers (the set itself left out).

    Example: [bold]paperroute similar 2503.11731 2503.11742 --limit 5[/]
    """
    current = settings()
    embedder = load_embedder(current.embedder)
    with open_store(current) as engine:
        with engine.connect() as conn:
            ids = paper_store.ids_for_refs(conn, papers)
        unknown = [p for p in papers if p not in ids]
        if unknown:
            raise UserError(f"not stored: {', '.join(unknown)}; ingest them first")
        ranker = Ranker(open_index(current.index_root, embedder, create=False), embedder)
        found, scores = ranker.similar(list(ids.values()), limit=limit)
        with engine.connect() as conn:
            by_id = paper_store.get_papers_by_ids(conn, found)
    results = [(by_id[i], s) for i, s in zip(found, scores, strict=True) if i in by_id]
    if as_json:
        data = [paper_json(p) | {"score": s} for p, s in results]
        console.out(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode(), highlight=False)
        return
    table = Table(title=f"More like {', '.join(papers)}")
    for column in ("similarity", "id", "title"):
        table.add_column(column, overflow="fold" if column == "title" else "ellipsis")
    for paper, score in results:
        table.add_row(f"{score:.3f}", paper.key or "", paper.title)
    console.print(table if results else "Nothing similar yet: run `paperroute index sync`.")


def _mode(value: str) -> Mode:
    return "lexical" if value == "lexical" else "semantic" if value == "semantic" else "hybrid"


@eval_app.command("beir")
def beir(
    folder: Path = typer.Argument(
        ..., help="A BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv."
    ),
    split: str = typer.Option("test", help="Which qrels file to use."),
    cache: Path | None = typer.Option(None, help="Keep computed vectors here for the next run."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
) -> None:
    """nDCG@10, Recall@100 and MRR@10 of lexical, semantic and hybrid search on a benchmark.

    The plain baselines are measured in the same run: plain-bm25 (one field, English
    stop words, stemming, k1 1.2, b 0.75), plain-semantic (MiniLM cosine) and
    plain-rrf (the two fused by reciprocal rank, k = 60).

    Example: [bold]paperroute eval beir ./scifact --json[/]
    """
    data = load_beir(folder, split)
    embedder = load_embedder(settings().embedder)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with (
        tempfile.TemporaryDirectory(prefix="paperroute-eval-") as work,
        Progress(*columns, console=console, transient=True, disable=as_json) as progress,
    ):
        tasks: dict[str, object] = {}

        def report(stage: str, done: int, total: int) -> None:
            task = tasks.setdefault(stage, progress.add_task(stage, total=total))
            progress.update(task, completed=done)  # type: ignore[arg-type]

        results = evaluate_beir(
            data, Path(work), embedder, VectorCache(cache) if cache else None, report
        )
    if as_json:
        console.out(orjson.dumps(results).decode(), highlight=False)
        return
    table = Table(
        title=f"{folder.name}: {len(data.corpus):,} documents, {len(data.queries):,} queries"
    )
    table.add_column("search")
    for metric in ("ndcg@10", "recall@100", "mrr@10"):
        table.add_column(metric, justify="right")
    for mode, values in results.items():
        table.add_row(mode, *(f"{values[m]:.4f}" for m in ("ndcg@10", "recall@100", "mrr@10")))
    console.print(table)
