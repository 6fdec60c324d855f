"""`paperroute worker`: the scheduled jobs, in the foreground."""

from __future__ import annotations

from functools import partial

import typer
from rich.table import Table

from paperroute.cli.console import console, open_store, settings
from paperroute.logs import configure_logging
from paperroute.worker import (
    LeaseClaim,
    make_jobs,
    next_run,
    renew_every,
    run_command,
    run_forever,
)

__all__ = ["worker"]


def worker(
    list_only: bool = typer.Option(False, "--list", help="Show the schedule and exit."),
) -> None:
    """Run ingestion, index sync and digests on the schedule in PAPERROUTE_SCHEDULE.

    The schedule is JSON, e.g.
    PAPERROUTE_SCHEDULE='[{"cron": "30 1 * * 1-5", "command": "ingest rss --category cs"}]';
    times are UTC; each job is a paperroute command run in its own process.
    Run a worker on several machines at once if you like: each firing of a
    job runs on one of them (a lease in the database).

    Example: [bold]paperroute worker --list[/]
    """
    import datetime as dt

    current = settings()
    jobs = make_jobs(current.schedule)
    now = dt.datetime.now(dt.UTC)
    table = Table(title="Schedule (UTC)")
    for column in ("cron", "command", "next run"):
        table.add_column(column)
    for job in jobs:
        table.add_row(job.cron, job.name, f"{next_run(job, now):%Y-%m-%d %H:%M}")
    console.print(table)
    if list_only or not jobs:
        return
    with open_store(current) as engine:  # refuses an old schema before any job runs
        lease = dt.timedelta(seconds=current.job_lease)
        claim = LeaseClaim(engine, ttl=lease)
        console.print(f"Worker {claim.holder} running; Ctrl-C stops it.")
        configure_logging(current.log_format, current.log_level)  # each run is logged
        try:
            runner = partial(run_command, every=renew_every(lease))
            run_forever(jobs, report=lambda _: None, runner=runner, claim=claim)
        except KeyboardInterrupt:
            console.print("Worker stopped.")
