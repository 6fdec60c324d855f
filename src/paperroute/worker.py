"""`paperroute worker`: runs paperroute commands on cron schedules (ingest, index, digests).

Each job is a paperroute command run in its own process: a crash or a leak in
one run never takes the worker down, and what a job does is exactly what the
same command does on the command line.
"""

from __future__ import annotations

import datetime as dt
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from croniter import croniter
from pydantic import BaseModel, field_validator

__all__ = ["DEFAULT_SCHEDULE", "Job", "ScheduledJob", "due_jobs", "next_run", "run_forever"]


class ScheduledJob(BaseModel):
    """One line of the schedule: a cron expression (UTC) and a paperroute command."""

    cron: str
    command: str

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression (e.g. '15 1 * * 1-5')")
        return value

    @field_validator("command")
    @classmethod
    def _valid_command(cls, value: str) -> str:
        words = shlex.split(value)
        if not words or words[0] in {"worker", "serve", "demo"}:
            raise ValueError(f"{value!r}: schedule a command such as 'ingest rss --category cs'")
        return value


# arXiv announces new papers around 00:00 UTC, Sunday to Thursday evenings in
# New York; the feed is read a little after. Digests are built and sent every
# ten minutes: each subscriber's own hour and time zone decide when theirs is due.
DEFAULT_SCHEDULE = (
    ScheduledJob(cron="30 1 * * 1-5", command="ingest rss --category cs"),
    ScheduledJob(cron="45 1 * * 1-5", command="ingest hf"),
    ScheduledJob(cron="*/5 * * * *", command="index sync"),
    ScheduledJob(cron="*/10 * * * *", command="digest send"),
)


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    argv: tuple[str, ...]
    cron: str


def make_jobs(schedule: Sequence[ScheduledJob]) -> list[Job]:
    return [Job(s.command, tuple(shlex.split(s.command)), s.cron) for s in schedule]


def next_run(job: Job, after: dt.datetime) -> dt.datetime:
    """The first moment after `after` the job's cron expression fires (UTC)."""
    moment: dt.datetime = croniter(job.cron, after.astimezone(dt.UTC)).get_next(dt.datetime)
    return moment


def due_jobs(jobs: Sequence[Job], last: dt.datetime, now: dt.datetime) -> list[Job]:
    """Jobs whose schedule fired in (last, now]; one run each, however many firings were missed."""
    return [job for job in jobs if next_run(job, last) <= now]


def run_command(argv: Sequence[str]) -> int:
    """Run one paperroute command in a child process; its output goes to the worker's."""
    return subprocess.run([sys.executable, "-m", "paperroute", *argv], check=False).returncode


def run_forever(
    jobs: Sequence[Job],
    *,
    report: Callable[[str], None],
    runner: Callable[[Sequence[str]], int] = run_command,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    sleep: Callable[[float], None] = time.sleep,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Wake at each firing, run the due jobs one after another, repeat until `stop()`."""
    last = clock()
    while not stop():
        wake = min(next_run(job, last) for job in jobs)
        sleep(max(0.0, (wake - clock()).total_seconds()))
        now = clock()
        for job in due_jobs(jobs, last, now):
            started = time.monotonic()
            code = runner(job.argv)
            outcome = "done" if code == 0 else f"failed (exit code {code})"
            report(
                f"{now:%Y-%m-%d %H:%M} {job.name}: {outcome} in {time.monotonic() - started:.1f} s"
            )
        last = now
