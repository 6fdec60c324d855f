"""Ingest throughput: the 54k-paper corpus into SQLite and PostgreSQL, twice each.

    python bench/ingest.py [--corpus PATH] [--postgres URL] [--json OUT]

Prints papers/s and peak memory (each store measured in a fresh process) for a
first ingest (all new) and a second ingest of the same file (nothing
changes), against a baseline measured in the same run: a plain `executemany`
of the same rows into an empty SQLite table, with no cleaning, merging or
history: the floor of what storing these papers costs on this machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import platform
import resource
import sqlite3
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from paperroute.ingest.pipeline import run_ingest
from paperroute.ingest.sources.jsonl import read_json_file
from paperroute.store.db import make_engine, upgrade_schema

DEFAULT_CORPUS = Path(__file__).parents[1] / "../shared/data/arxiv-cs-2025-03_2026-03.jsonl.gz"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(corpus: Path, folder: Path) -> tuple[float, float]:
    """Raw sqlite3 executemany of id/title/abstract/authors: a floor for any store."""
    started = time.perf_counter()
    rows = []
    with gzip.open(corpus, "rt", encoding="utf-8") as handle:
        for line in handle:
            r = json.loads(line)
            rows.append((r["id"], r["title"], r["summary"], json.dumps(r["authors"])))
    db = sqlite3.connect(folder / "baseline.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE p (id TEXT PRIMARY KEY, title TEXT, abstract TEXT, authors TEXT)")
    with db:
        db.executemany("INSERT OR REPLACE INTO p VALUES (?, ?, ?, ?)", rows)
    db.close()
    return len(rows) / (time.perf_counter() - started), peak_mb()


def measure(url: str, corpus: Path) -> list[tuple[str, int, float, float]]:
    """(run, papers, papers/s, peak MB so far) for a first and a second ingest."""
    engine = make_engine(url)
    upgrade_schema(engine)
    results = []
    for label in ("first ingest (all new)", "second ingest (unchanged)"):
        started = time.perf_counter()
        run = run_ingest(engine, "file", str(corpus), read_json_file(corpus))
        elapsed = time.perf_counter() - started
        results.append((label, run.counts.total, run.counts.total / elapsed, peak_mb()))
    engine.dispose()
    return results


def measure_apart(url: str, corpus: Path) -> list[tuple[str, int, float, float]]:
    """Measure in a fresh process, so each store's peak memory is its own."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(measure, url, corpus).result()


def fresh_postgres(admin_url: str) -> tuple[str, str]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"paperroute_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}", name


def drop_postgres(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS.resolve())
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL; '' to skip")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    console = Console()
    machine = f"{platform.node()}: {os.cpu_count()} cores, Python {sys.version.split()[0]}"
    table = Table(title=f"Ingest of {args.corpus.name} — {machine}")
    for column in ("store", "run", "papers", "papers/s", "peak MB"):
        table.add_column(column, justify="right" if column != "run" else "left")
    figures: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            rate, base_mb = pool.submit(baseline, args.corpus, folder).result()
        table.add_row(
            "sqlite3 (baseline)", "raw executemany", "", f"{rate:,.0f}", f"{base_mb:,.0f}"
        )
        figures.append({"store": "baseline", "run": "raw executemany", "papers_per_s": rate,
                        "peak_mb": base_mb})  # fmt: skip
        stores = [("SQLite", f"sqlite:///{folder / 'paperroute.db'}", None)]
        if args.postgres:
            url, name = fresh_postgres(args.postgres)
            stores.append(("PostgreSQL", url, name))
        for store, url, pg_name in stores:
            for label, count, per_s, mb in measure_apart(url, args.corpus):
                table.add_row(store, label, f"{count:,}", f"{per_s:,.0f}", f"{mb:,.0f}")
                figures.append({"store": store, "run": label, "papers": count,
                                "papers_per_s": per_s, "peak_mb": mb})  # fmt: skip
            if pg_name:
                drop_postgres(args.postgres, pg_name)
    console.print(table)
    console.print("Targets: ≥ 5,000 papers/s first ingest into SQLite, ≥ 10,000 papers/s second.")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": figures}, indent=2))


if __name__ == "__main__":
    main()
