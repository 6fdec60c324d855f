"""`paperroute papers`: look at stored papers."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

import orjson
import typer
from rich.table import Table

from paperroute.cli.console import UserError, console, open_store
from paperroute.domain import Paper
from paperroute.store import papers as paper_store

__all__ = ["app"]

app = typer.Typer(help="Show and list stored papers.", no_args_is_help=True)


def paper_json(paper: Paper) -> dict[str, object]:
    data = asdict(paper)
    data.pop("source")
    data["primary_category"] = paper.primary_category
    data["abs_url"], data["pdf_url"] = paper.abs_url, paper.pdf_url
    return data


def _dump(data: object) -> None:
    console.out(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode(), highlight=False)


@app.command("show")
def show(
    paper_id: str = typer.Argument(..., help="arXiv id (2503.11731, quant-ph/0201082) or key."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one paper with its version history.

    Example: [bold]paperroute papers show 2503.11731[/]
    """
    with open_store() as engine, engine.connect() as conn:
        paper = paper_store.get_paper(conn, paper_id)
    if paper is None:
        raise UserError(f"no paper {paper_id!r}; `paperroute papers list` shows what is stored")
    if as_json:
        _dump(paper_json(paper))
        return
    console.print(f"[bold]{paper.title}[/]")
    console.print(", ".join(paper.authors) or "(no authors)")
    console.print(f"[dim]{paper.key} · {' '.join(paper.categories) or 'no category'}[/]")
    for label, value in (("announced", paper.announced), ("submitted", paper.submitted),
                         ("comment", paper.comment), ("journal", paper.journal_ref),
                         ("DOI", paper.doi), ("abs", paper.abs_url), ("PDF", paper.pdf_url),
                         ("code", paper.code_url), ("project", paper.project_url)):  # fmt: skip
        if value:
            console.print(f"[dim]{label}:[/] {value}")
    for version in paper.versions:
        console.print(f"[dim]v{version.number}:[/] {version.date or 'date unknown'}")
    console.print()
    console.print(paper.abstract or "(no abstract)")


@app.command("list")
def list_(
    since: dt.datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Announced on or after."
    ),
    until: dt.datetime | None = typer.Option(
        None, formats=["%Y-%m-%d"], help="Announced on or before."
    ),
    category: str | None = typer.Option(None, help="Category, e.g. cs.LG (cross-lists count)."),
    limit: int = typer.Option(20, min=1, max=10_000),
    offset: int = typer.Option(0, min=0),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List papers, newest first.

    Example: [bold]paperroute papers list --since 2026-03-01 --category cs.LG --json[/]
    """
    with open_store() as engine, engine.connect() as conn:
        page = paper_store.list_papers(
            conn,
            since=since.date() if since else None,
            until=until.date() if until else None,
            category=category,
            limit=limit,
            offset=offset,
        )
    if as_json:
        _dump({"total": page.total, "papers": [paper_json(p) for p in page.papers]})
        return
    table = Table(title=f"{page.total:,} papers")
    for column in ("id", "announced", "category", "title"):
        table.add_column(column, overflow="fold" if column == "title" else "ellipsis")
    for p in page.papers:
        table.add_row(p.key or "", str(p.announced or ""), p.primary_category or "", p.title)
    console.print(table)
