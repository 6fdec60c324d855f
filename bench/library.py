"""Library import: a 5,000-entry reference-manager library matched against the 54k corpus.

    python bench/library.py [--corpus PATH] [--entries 5000] [--json OUT]

The library mixes what a reader's Zotero export holds: entries with an arXiv id
(40%), papers here found only by DOI (arXiv's own DOI, 20%) or only by title
(20%, written in another case and punctuation), and papers that are not here
(20%). Each of BibTeX, RIS and CSL-JSON is timed from file to committed import
(read, match, file in a collection, keep the rest as interests) into a fresh
copy of the database, next to a baseline measured in the same run: only
reading and parsing the same file, with no database at all.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

import orjson
from rich.table import Table

from paperroute.bibtex import bibtex_entries
from paperroute.citations import csl_items, ris_text
from paperroute.domain import Paper
from paperroute.ingest.library_import import import_library
from paperroute.ingest.normalize import build_paper
from paperroute.ingest.sources.jsonl import read_json_file
from paperroute.ingest.sources.library import read_library
from paperroute.store.db import make_engine, upgrade_schema
from paperroute.store.papers import upsert_papers
from paperroute.store.users import add_user
from search import bench_console

DEFAULT_CORPUS = Path(__file__).parents[1] / "../shared/data/arxiv-cs-2025-03_2026-03.jsonl.gz"
NOW = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    return parser.parse_args()


def library_entries(corpus: list[Paper], count: int, seed: int = 7) -> list[Paper]:
    """Entries as a reader's export names them: by id, by DOI, by title, or not here."""
    rng = random.Random(seed)
    chosen = rng.sample(corpus, count)
    entries: list[Paper] = []
    for n, paper in enumerate(chosen):
        kind = n % 5
        if kind in (0, 1):
            entries.append(paper)
        elif kind == 2:  # arXiv's DOI only: no eprint, URL or id
            entries.append(build_paper(source="b", title=paper.title, authors=paper.authors,
                                       doi=f"10.48550/arXiv.{paper.arxiv_id}"))  # fmt: skip
        elif kind == 3:  # the title only, as another tool capitalised and punctuated it
            entries.append(build_paper(source="b", title=paper.title.upper() + ".",
                                       authors=paper.authors))  # fmt: skip
        else:
            entries.append(build_paper(source="b", title=f"A paper not here, number {n}",
                                       authors=("Grace Hopper",), abstract="Elsewhere."))  # fmt: skip
    return entries


def main() -> None:
    args = parse_args()
    console, machine, _ = bench_console(110)
    corpus = [p for p in read_json_file(args.corpus) if isinstance(p, Paper)]
    entries = library_entries(corpus, args.entries)
    files = {
        "BibTeX": bibtex_entries(entries).encode(),
        "RIS": ris_text(entries).encode(),
        "CSL-JSON": orjson.dumps(csl_items(entries)),
    }
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "base.db"
        engine = make_engine(f"sqlite:///{base}")
        upgrade_schema(engine)
        with engine.begin() as conn:
            upsert_papers(conn, corpus, NOW)
            add_user(conn, "reader@example.org", NOW)
        engine.dispose()
        table = Table(title=f"{args.entries:,} entries against {len(corpus):,} papers (SQLite)")
        for column in ("format", "MB", "parse only s", "whole import s", "found", "not here",
                       "unreadable"):  # fmt: skip
            table.add_column(column, justify="right")
        results = []
        for name, data in files.items():
            started = time.perf_counter()
            read_library(data, f"library.{name.lower()}")
            parse_only = time.perf_counter() - started
            copy = Path(folder) / f"{name}.db"
            shutil.copy(base, copy)
            engine = make_engine(f"sqlite:///{copy}")
            started = time.perf_counter()
            items = read_library(data, f"library.{name.lower()}")
            with engine.begin() as conn:
                report = import_library(conn, 1, items, NOW, collection_name="Imported")
            whole = time.perf_counter() - started
            engine.dispose()
            row = {"format": name, "mb": len(data) / 1e6, "parse_s": parse_only, "import_s": whole,
                   "found": report.matched, "not_here": len(report.unmatched),
                   "unreadable": len(report.rejected)}  # fmt: skip
            results.append(row)
            table.add_row(name, f"{row['mb']:.1f}", f"{parse_only:.2f}", f"{whole:.2f}",
                          f"{report.matched:,}", f"{len(report.unmatched):,}",
                          f"{len(report.rejected):,}")  # fmt: skip
    console.print(table)
    console.print(f"Expected: {args.entries * 4 // 5:,} found, {args.entries // 5:,} not here.")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
