"""`paperroute ingest SOURCE`: bring papers in from files and from arXiv / Hugging Face."""

from __future__ import annotations

from pathlib import Path

import typer

from paperroute.cli.console import UserError, ingest_with_progress, open_store
from paperroute.ingest.sources.bibtex import read_bibtex_file
from paperroute.ingest.sources.jsonl import read_json_file
from paperroute.ingest.sources.listing import read_listing_file

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
    ingest_with_progress(open_store(), "file", str(path), read_json_file(path))


@app.command("bibtex")
def bibtex(path: Path = typer.Argument(..., help="A .bib file.")) -> None:
    """Papers from a BibTeX file (arXiv ids from eprint, url or journal fields).

    Example: [bold]paperroute ingest bibtex my-papers.bib[/]
    """
    path = _existing(path)
    ingest_with_progress(open_store(), "bibtex", str(path), read_bibtex_file(path))


@app.command("listing")
def listing(path: Path = typer.Argument(..., help="A listing page saved as text.")) -> None:
    """Papers from a listing page saved as text: header lines, then title / abstract pairs.

    Example: [bold]paperroute ingest listing trending.txt[/]
    """
    path = _existing(path)
    ingest_with_progress(open_store(), "listing", str(path), read_listing_file(path))
