"""`paperroute worker`: runs paperroute commands on cron schedules (ingest, index, digests).

Each job is a paperroute command run in its own process: a crash or a leak in
one run never takes the worker down, and what a job does is exactly what the
same command does on the command line.

Several workers (on several machines, one database) share the schedule:
before running a firing of a job a worker takes the job's lease in the
database (store.leases), renews it while the job runs and frees it after.
Each firing runs on one worker; a worker that dies holds its job only until
the lease expires, and the job's next firing runs elsewhere. `index` jobs are
not leased: each node keeps its own search index, so each worker syncs it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shlex
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from croniter import croniter
from pydantic import BaseModel, field_validator
from sqlalchemy import Engine

from paperroute.store.leases import release_lease, renew_lease, take_lease

__all__ = [
    "DEFAULT_SCHEDULE",
    "Job",
    "LeaseClaim",
    "ScheduledJob",
    "due_jobs",
    "next_run",
    "renew_every",
    "run_forever",
]

log = logging.getLogger("paperroute.worker")
LEASE = dt.timedelta(minutes=2)  # by default; PAPERROUTE_JOB_LEASE sets it
RENEW_EVERY = 30.0  # seconds: several renewals fit in a lease, so one slow one does not lose it


def renew_every(lease: dt.timedelta) -> float:
    """Seconds between renewals of a lease: at least four in it, at most RENEW_EVERY apart."""
    return min(RENEW_EVERY, lease.total_seconds() / 4)


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


def last_firing(job: Job, now: dt.datetime) -> dt.datetime:
    """The latest moment at or before `now` the job's cron expression fired (UTC)."""
    after = now.astimezone(dt.UTC) + dt.timedelta(microseconds=1)
    moment: dt.datetime = croniter(job.cron, after).get_prev(dt.datetime)
    return moment


def due_jobs(jobs: Sequence[Job], last: dt.datetime, now: dt.datetime) -> list[Job]:
    """Jobs whose schedule fired in (last, now]; one run each, however many firings were missed."""
    return [job for job in jobs if next_run(job, last) <= now]


Heartbeat = Callable[[], None]
Runner = Callable[[Sequence[str], Heartbeat], int]


def run_command(
    argv: Sequence[str], heartbeat: Heartbeat = lambda: None, *, every: float = RENEW_EVERY
) -> int:
    """Run one paperroute command in a child process; its output goes to the worker's.

    `heartbeat` is called every `every` seconds while it runs.
    """
    child = subprocess.Popen([sys.executable, "-m", "paperroute", *argv])
    try:
        while True:
            try:
                return child.wait(timeout=every)
            except subprocess.TimeoutExpired:
                heartbeat()
    finally:
        if child.poll() is None:  # the worker itself is stopping: so does its job
            child.terminate()
            child.wait()


class Claim(Protocol):
    def take(self, job: Job, firing: dt.datetime) -> bool: ...
    def renew(self, job: Job) -> None: ...
    def release(self, job: Job) -> None: ...


class LeaseClaim:
    """Leases in the database: what lets several workers share one schedule."""

    def __init__(
        self,
        engine: Engine,
        *,
        holder: str | None = None,
        ttl: dt.timedelta = LEASE,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.engine, self.ttl, self.clock = engine, ttl, clock
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def take(self, job: Job, firing: dt.datetime) -> bool:
        with self.engine.begin() as conn:
            return take_lease(conn, lease_name(job), self.holder, firing, self.clock(), self.ttl)

    def renew(self, job: Job) -> None:
        """Keep the lease while the job runs; a failure is logged, the job goes on."""
        try:
            with self.engine.begin() as conn:
                kept = renew_lease(conn, lease_name(job), self.holder, self.clock(), self.ttl)
        except Exception:  # the database may be back at the next renewal
            log.exception("%s: could not renew its lease", job.name)
            return
        if not kept:
            log.warning("%s: its lease expired and another worker may run it", job.name)

    def release(self, job: Job) -> None:
        with self.engine.begin() as conn:
            release_lease(conn, lease_name(job), self.holder)


def lease_name(job: Job) -> str:
    """The job's key in the lease table: its command, and a hash of its whole schedule line
    (two lines with the same command are two jobs; a long command still fits)."""
    digest = hashlib.sha256(f"{job.cron}\n{job.name}".encode()).hexdigest()[:16]
    return f"{job.name[:150]} #{digest}"


def _shared(job: Job) -> bool:
    """Whether one run on any worker does the job for all: not so for the search index,
    which each node keeps for itself (its sync must run on every node)."""
    return job.argv[:1] != ("index",)


def run_due(
    jobs: Sequence[Job],
    last: dt.datetime,
    now: dt.datetime,
    *,
    report: Callable[[str], None],
    runner: Runner = run_command,
    claim: Claim | None = None,
) -> None:
    """Run the jobs due in (last, now], one after another; with a claim, only those it wins."""
    for job in due_jobs(jobs, last, now):
        leased = claim if claim is not None and _shared(job) else None
        try:
            won = leased is None or leased.take(job, last_firing(job, now))
        except Exception:  # the database is away: try again at the next firing
            log.exception("%s: could not take its lease; skipped", job.name)
            continue
        if not won:
            line = f"{now:%Y-%m-%d %H:%M} {job.name}: taken by another worker"
            log.info(line, extra={"job": job.name, "skipped": "taken by another worker"})
            report(line)
            continue
        started = time.monotonic()
        try:
            code = runner(job.argv, partial(leased.renew, job) if leased else lambda: None)
        finally:
            if leased is not None:
                try:
                    leased.release(job)
                except Exception:  # it expires by itself
                    log.exception("%s: could not release its lease", job.name)
        outcome = "done" if code == 0 else f"failed (exit code {code})"
        seconds = time.monotonic() - started
        line = f"{now:%Y-%m-%d %H:%M} {job.name}: {outcome} in {seconds:.1f} s"
        log.log(logging.INFO if code == 0 else logging.ERROR, line,
                extra={"job": job.name, "exit_code": code, "seconds": round(seconds, 3)})  # fmt: skip
        report(line)


def run_forever(
    jobs: Sequence[Job],
    *,
    report: Callable[[str], None],
    runner: Runner = run_command,
    claim: Claim | None = None,
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
        run_due(jobs, last, now, report=report, runner=runner, claim=claim)
        last = now
