"""Digest speed: 10,000 confirmed subscribers, composed and delivered, on the 54k corpus.

    python bench/digest.py [--subscribers N] [--limit N] [--database-url URL] [--json OUT]

Loads the corpus as bench/web.py does (`paperroute init`, `ingest file`, `index
rebuild`; papers without a cached vector get seeded random vectors, said in the
output), then dates each paper's arrival by its announcement day so that the
newest day arrived early this morning, as a daily ingest would have stored it.
Adds --subscribers confirmed subscribers with varied preferences: daily and
weekly (weekly readers last had a digest a week ago), seven time zones, send
hours already past, 0-3 followed categories, 0-3 saved searches (topics and
queries made from the corpus by bench/search_queries.py), trending on or off,
10 to 50 papers; one in five has an account with 3 to 10 votes on older
papers, so their digest has a "Recommended for you" section.

Then runs `paperroute digest send --rate 0` as an operator would, against an
aiosmtpd server on 127.0.0.1 in its own process. Reported: the time until the
outbox is written (compose and render) and until the last mail is accepted
(deliver), the command's peak memory, and what the server received: every
subscriber must have exactly one mail. Baseline in the same run: the same
messages, read back from the outbox, sent by smtplib over one connection to the
same server, the floor of delivery on this machine.

Target (issue 5): all 10,000 in at most 120 s on this 2-core machine.
About 2 minutes of loading plus the run; a quick look: --limit 5000 --subscribers 1000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import zoneinfo
from collections import Counter
from pathlib import Path
from typing import Any

from mailsink import SmtpServer
from rich.console import Console
from rich.table import Table
from search_queries import make_queries
from sqlalchemy import Engine, bindparam, select, update

from ingest import DEFAULT_POSTGRES, drop_postgres, fresh_postgres
from paperroute.store.db import make_engine
from paperroute.store.schema import digest_outbox, papers
from paperroute.store.subscribers import (
    Preferences,
    add_subscriber,
    confirm_subscriber,
    set_papers_after,
)
from paperroute.store.users import add_user
from paperroute.store.votes import vote
from search import CACHE, CORPUS, bench_console, load_papers
from web import PAPERROUTE, free_port, load_site, site_env

BENCH = Path(__file__).parent
RESULTS = BENCH / "results" / "digest.json"
TARGET_S = 120.0
ACCOUNT_SHARE = 0.2
SENDER = "digest@bench.example"
ZONES = ("UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles",
         "Asia/Kolkata", "Asia/Shanghai")  # fmt: skip
CATEGORIES = ("cs.LG", "cs.CV", "cs.CL", "cs.AI", "cs.RO", "cs.CR", "cs.IR", "cs.SE", "cs.HC",
              "cs.DC", "cs.NE", "cs.SD", "stat.ML", "eess.IV")  # fmt: skip
TOPICS = ("diffusion models", "large language models", "reinforcement learning", "graph neural",
          "retrieval augmented generation", "vision transformer", "federated learning",
          "speech recognition", "robot manipulation", "code generation", "adversarial attacks",
          "knowledge distillation", "3d reconstruction", "time series forecasting",
          "medical image segmentation", "mixture of experts", "in-context learning",
          "autonomous driving", "recommendation", "quantization")  # fmt: skip


# --- the site and its subscribers ---------------------------------------------------------


def date_arrivals(engine: Engine, now: dt.datetime) -> dict[str, Any]:
    """Each paper stored on its announcement day, the newest day early this morning."""
    with engine.connect() as conn:
        rows = conn.execute(select(papers.c.id, papers.c.announced)).all()
    newest = max(r.announced for r in rows if r.announced)
    morning = now.replace(hour=1, minute=0, second=0, microsecond=0)
    if morning > now - dt.timedelta(hours=1):
        morning = now - dt.timedelta(hours=1)
    values = [{"pid": r.id, "at": morning - dt.timedelta(days=(newest - (r.announced or newest)).days)}
              for r in rows]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(update(papers).where(papers.c.id == bindparam("pid"))
                     .values(created_at=bindparam("at")), values)  # fmt: skip
    last_day = sum(1 for v in values if v["at"] == morning)
    last_week = sum(1 for v in values if v["at"] > morning - dt.timedelta(days=7))
    return {"newest_day": str(newest), "papers_last_day": last_day, "papers_last_week": last_week}


def saved_search_pool(subset: Path, seed: int) -> list[str]:
    corpus = load_papers(subset)
    made = make_queries([(p.title, p.authors) for p in corpus], 280, seed)
    return list(TOPICS) + [q.text for q in made if q.kind in ("keywords", "phrase")]


def preferences_for(rng: random.Random, now: dt.datetime, searches: list[str]) -> Preferences:
    """Varied preferences whose digest is due now (send hour already past in its zone)."""
    zone = rng.choice(ZONES)
    local = now.astimezone(zoneinfo.ZoneInfo(zone))
    return Preferences(
        frequency="weekly" if rng.random() < 0.25 else "daily",
        weekday=local.weekday(),
        send_hour=rng.randint(0, local.hour),
        timezone=zone,
        categories=tuple(rng.sample(CATEGORIES, rng.choice((0, 1, 1, 2, 3)))),
        searches=tuple(rng.sample(searches, rng.choice((0, 1, 1, 2, 3)))),
        include_trending=rng.random() < 0.7,
        max_papers=rng.choice((10, 20, 20, 30, 50)),
    )


def add_subscribers(engine: Engine, count: int, now: dt.datetime, searches: list[str],
                    seed: int) -> Counter[str]:  # fmt: skip
    """`count` confirmed subscribers; weekly ones had their last digest a week ago. One in
    five has an account with votes on earlier papers: their digest has recommendations."""
    rng = random.Random(seed)
    kinds: Counter[str] = Counter()
    joined = now - dt.timedelta(days=30)
    with engine.connect() as conn:
        earlier = list(conn.execute(
            select(papers.c.id).where(papers.c.created_at < now - dt.timedelta(days=8))
        ).scalars())  # fmt: skip
    with engine.begin() as conn:
        for n in range(count):
            prefs = preferences_for(rng, now, searches)
            address = f"reader{n}@bench.example"
            user_id = None
            if rng.random() < ACCOUNT_SHARE:
                user_id = add_user(conn, address, joined).id
                for paper_id in rng.sample(earlier, rng.randint(3, 10)):
                    vote(conn, user_id, paper_id, joined)
                kinds["with an account and votes"] += 1
            subscriber = add_subscriber(conn, address, joined, preferences=prefs, user_id=user_id)
            confirm_subscriber(conn, subscriber.id, joined)
            days = 7 if prefs.frequency == "weekly" else 1
            set_papers_after(conn, subscriber.id, now - dt.timedelta(days=days, hours=1))
            kinds[prefs.frequency] += 1
            kinds["with searches"] += bool(prefs.searches)
            kinds["with categories"] += bool(prefs.categories)
    return kinds


# --- the runs -----------------------------------------------------------------------------


def run_send(env: dict[str, str], console: Console) -> dict[str, Any]:
    """`paperroute digest send --rate 0`: wall time to each printed line, peak memory."""
    started = time.perf_counter()
    process = subprocess.Popen([str(PAPERROUTE), "digest", "send", "--rate", "0"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    lines: list[tuple[float, str]] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append((time.perf_counter() - started, line.rstrip()))
        console.print(f"  [dim]{lines[-1][0]:6.1f} s[/]  {line.rstrip()}")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    total = time.perf_counter() - started
    if process.returncode:
        sys.exit(f"`paperroute digest send` failed ({process.returncode})")
    made = next((t for t, text in lines if text.startswith("Made ")), float("nan"))
    return {"compose_s": made, "deliver_s": total - made, "total_s": total,
            "peak_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime,
            "output": [text for _, text in lines]}  # fmt: skip


def run_baseline(engine: Engine, port: int) -> dict[str, Any]:
    """The stored messages resent by smtplib over one connection: delivery's floor here."""
    started = time.perf_counter()
    sent = 0
    with engine.connect() as conn, smtplib.SMTP("127.0.0.1", port) as smtp:
        rows = conn.execution_options(yield_per=500).execute(
            select(digest_outbox.c.id, digest_outbox.c.message)
            .where(digest_outbox.c.status == "sent")
        )  # fmt: skip
        for row in rows:
            smtp.sendmail(SENDER, [f"baseline{row.id}@bench.example"], row.message)
            sent += 1
    return {"sent": sent, "total_s": time.perf_counter() - started}


def outbox_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(digest_outbox.c.status)).scalars()
        return dict(Counter(rows))


def results_table(title: str, report: dict[str, Any]) -> Table:
    send, base = report["send"], report["baseline"]
    table = Table(title=title)
    for column in ("run", "mails", "compose s", "deliver s", "total s", "mails/s", "peak MB",
                   "target met?"):  # fmt: skip
        table.add_column(column, justify="left" if column == "run" else "right")
    mails = report["received"]["mails"]
    met = "yes" if send["total_s"] <= TARGET_S and report["received"]["exactly_once"] else "NO"
    table.add_row("smtplib, stored messages (baseline)", f"{base['sent']:,}", "",
                  f"{base['total_s']:.1f}", f"{base['total_s']:.1f}",
                  f"{base['sent'] / base['total_s']:,.0f}", "", "baseline")  # fmt: skip
    table.add_row("paperroute digest send", f"{mails:,}", f"{send['compose_s']:.1f}",
                  f"{send['deliver_s']:.1f}", f"{send['total_s']:.1f}",
                  f"{mails / send['total_s']:,.0f}", f"{send['peak_mb']:,.0f}",
                  f"{met} (≤ {TARGET_S:.0f} s)")  # fmt: skip
    return table


def run(args: argparse.Namespace, work: Path, console: Console, report: dict[str, Any]) -> None:
    home, db_name = work / "home", ""
    db_url = f"sqlite:///{(home / 'paperroute.db').resolve()}"
    if args.database_url:
        db_url, db_name = fresh_postgres(args.database_url)
    smtp = SmtpServer(free_port())
    try:
        env = site_env(home, db_url if args.database_url else "")
        env |= {"PAPERROUTE_SMTP_HOST": "127.0.0.1", "PAPERROUTE_SMTP_PORT": str(smtp.port),
                "PAPERROUTE_SMTP_SECURITY": "none", "PAPERROUTE_MAIL_FROM": f"Papers <{SENDER}>",
                "PAPERROUTE_BASE_URL": "https://papers.bench.example", "PYTHONUNBUFFERED": "1",
                "COLUMNS": "160"}  # fmt: skip
        report["load"] = load_site(args, work, env, db_url)
        engine = make_engine(db_url)
        now = dt.datetime.now(dt.UTC)
        report["papers"] = date_arrivals(engine, now)
        searches = saved_search_pool(work / "corpus.jsonl", args.seed)
        kinds = add_subscribers(engine, args.subscribers, now, searches, args.seed)
        report["subscribers"] = dict(kinds) | {"total": args.subscribers,
                                               "distinct_searches": len(searches)}  # fmt: skip
        console.print(f"{report['papers']}; subscribers: {report['subscribers']}")
        report["send"] = run_send(env, console)
        received, size = smtp.report()
        report["outbox"] = outbox_counts(engine)
        report["received"] = {"mails": sum(received.values()), "recipients": len(received),
                              "exactly_once": all(n == 1 for n in received.values())
                              and len(received) == report["outbox"].get("sent", 0),
                              "mean_kb": size / max(1, sum(received.values())) / 1024}  # fmt: skip
        smtp.reset()
        report["baseline"] = run_baseline(engine, smtp.port)
        engine.dispose()
    finally:
        smtp.stop()
        if db_name:
            drop_postgres(args.database_url, db_name)
    store = "PostgreSQL" if db_name else "SQLite"
    console.print(results_table(f"Digests for {args.subscribers:,} subscribers, "
                                f"{report['load']['papers']:,} papers, {store}", report))  # fmt: skip
    received = report["received"]
    console.print(
        f"Outbox: {report['outbox']}. Server received {received['mails']:,} mails for "
        f"{received['recipients']:,} recipients (mean {received['mean_kb']:.0f} KB); every "
        f"subscriber with a digest got exactly one: {'yes' if received['exactly_once'] else 'NO'}. "
        f"CPU of the command: {report['send']['cpu_s']:.0f} s. Empty digests are not sent "
        "(skipped)."
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--cache", type=Path, default=CACHE, help="vector cache (read only)")
    parser.add_argument("--limit", type=int, default=0, help="first N papers only (0: all)")
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--database-url", default="", metavar="URL",
                        help="PostgreSQL server (e.g. " + DEFAULT_POSTGRES + "): a fresh database "
                        "is created there and dropped after; default: SQLite")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=RESULTS, help="write the figures here")
    args = parser.parse_args()
    args.synthetic_uncached = True  # for load_site: embedding 54k papers takes hours here
    return args


def main() -> None:
    args = parse_args()
    console, machine, busy = bench_console(150)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-digest-"))
    if args.workdir and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": machine, "cpu_busy_before_start": busy,
                              "settings": {k: str(v) for k, v in vars(args).items()}}  # fmt: skip
    try:
        run(args, work, console, report)
    finally:
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2, default=str))
            console.print(f"Figures written to {args.json}")
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
