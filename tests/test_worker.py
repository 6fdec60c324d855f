"""The worker's schedule: cron firings, missed runs, each job in its own process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from paperroute.config import Settings
from paperroute.worker import (
    DEFAULT_SCHEDULE,
    LeaseClaim,
    ScheduledJob,
    due_jobs,
    make_jobs,
    next_run,
    renew_every,
    run_command,
    run_due,
    run_forever,
)

T0 = dt.datetime(2026, 3, 20, 1, 0, tzinfo=dt.UTC)  # a Friday


def test_next_run_follows_the_cron_expression() -> None:
    ingest, _, sync, _ = make_jobs(DEFAULT_SCHEDULE)
    assert next_run(ingest, T0) == T0.replace(minute=30)
    assert next_run(ingest, T0.replace(minute=30)) == dt.datetime(2026, 3, 23, 1, 30, tzinfo=dt.UTC)
    assert next_run(sync, T0) == T0.replace(minute=5)


def test_a_job_missed_several_times_runs_once() -> None:
    jobs = make_jobs([ScheduledJob(cron="* * * * *", command="index sync")])
    assert len(due_jobs(jobs, T0, T0 + dt.timedelta(minutes=30))) == 1
    assert due_jobs(jobs, T0, T0 + dt.timedelta(seconds=30)) == []


def test_the_loop_runs_due_jobs_in_order_and_reports() -> None:
    jobs = make_jobs([
        ScheduledJob(cron="*/10 * * * *", command="digest send"),
        ScheduledJob(cron="*/5 * * * *", command="index sync"),
    ])  # fmt: skip
    now = [T0]
    ran: list[tuple[dt.datetime, tuple[str, ...]]] = []
    lines: list[str] = []

    def sleep(seconds: float) -> None:
        now[0] += dt.timedelta(seconds=seconds)

    def runner(argv: Sequence[str], heartbeat: Callable[[], None]) -> int:
        ran.append((now[0], tuple(argv)))
        return 0 if argv[0] == "index" else 2

    run_forever(jobs, report=lines.append, runner=runner, clock=lambda: now[0], sleep=sleep,
                stop=lambda: now[0] >= T0 + dt.timedelta(minutes=20))  # fmt: skip
    assert [(t.minute, argv[0]) for t, argv in ran] == [
        (5, "index"), (10, "digest"), (10, "index"), (15, "index"), (20, "digest"), (20, "index"),
    ]  # fmt: skip
    assert "digest send: failed (exit code 2)" in lines[1]


def test_bad_schedules_are_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="not a cron expression"):
        ScheduledJob(cron="every day", command="index sync")
    with pytest.raises(ValidationError, match="schedule a command"):
        ScheduledJob(cron="* * * * *", command="serve")


def test_the_schedule_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERROUTE_SCHEDULE", '[{"cron": "0 6 * * *", "command": "ingest hf"}]')
    assert Settings().schedule == [ScheduledJob(cron="0 6 * * *", command="ingest hf")]


@pytest.mark.slow  # separate processes, killed or served: seconds each
def test_a_job_is_a_real_paperroute_process() -> None:
    assert run_command(["--help"]) == 0
    assert run_command(["no-such-command"]) != 0


def test_the_job_lease_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().job_lease == 120  # two minutes unless set
    monkeypatch.setenv("PAPERROUTE_JOB_LEASE", "10")
    assert Settings().job_lease == 10
    assert renew_every(dt.timedelta(seconds=10)) == 2.5  # several renewals fit in a short lease
    assert renew_every(dt.timedelta(minutes=2)) == 30
    monkeypatch.setenv("PAPERROUTE_JOB_LEASE", "0")
    with pytest.raises(ValidationError, match="greater than 0"):
        Settings()


def test_a_running_job_renews_its_lease_at_the_given_pace() -> None:
    beats: list[None] = []
    assert run_command(["--help"], lambda: beats.append(None), every=0.02) == 0
    assert beats  # starting Python alone takes longer than 20 ms


def test_two_workers_share_the_schedule_through_leases(engine: Engine) -> None:
    jobs = make_jobs([ScheduledJob(cron="*/5 * * * *", command="digest send")])
    now = [T0 + dt.timedelta(minutes=5)]
    clock = lambda: now[0]  # noqa: E731
    ran: list[str] = []
    lines: list[str] = []
    a, b = (LeaseClaim(engine, holder=h, clock=clock) for h in ("a", "b"))

    def runner_of(holder: str) -> Callable[[Sequence[str], Callable[[], None]], int]:
        def run(argv: Sequence[str], heartbeat: Callable[[], None]) -> int:
            ran.append(holder)
            heartbeat()  # renewing a lease one holds
            return 0

        return run

    for claim, name in ((a, "a"), (b, "b")):  # both wake at the same firing
        run_due(jobs, T0, now[0], report=lines.append, runner=runner_of(name), claim=claim)
    assert ran == ["a"] and "taken by another worker" in lines[-1]

    # b runs the next firing; then a dies holding the one after, and its lease runs out.
    now[0] += dt.timedelta(minutes=5)
    run_due(jobs, now[0] - dt.timedelta(minutes=5), now[0], report=lines.append,
            runner=runner_of("b"), claim=b)  # fmt: skip
    now[0] += dt.timedelta(minutes=5)
    assert a.take(jobs[0], now[0])  # and never releases it
    run_due(jobs, now[0] - dt.timedelta(seconds=1), now[0], report=lines.append,
            runner=runner_of("b"), claim=b)  # fmt: skip
    now[0] += dt.timedelta(minutes=1)  # within the lease: the job still belongs to a
    assert not b.take(jobs[0], now[0] + dt.timedelta(minutes=4))
    now[0] += dt.timedelta(minutes=4)  # past a's lease, at the next firing: b takes over
    run_due(jobs, now[0] - dt.timedelta(seconds=1), now[0], report=lines.append,
            runner=runner_of("b"), claim=b)  # fmt: skip
    assert ran == ["a", "b", "b"]


def test_each_node_syncs_its_own_index(engine: Engine) -> None:
    jobs = make_jobs([ScheduledJob(cron="*/5 * * * *", command="index sync")])
    now = T0 + dt.timedelta(minutes=5)
    ran: list[str] = []
    for holder in ("a", "b"):
        claim = LeaseClaim(engine, holder=holder, clock=lambda: now)
        run_due(jobs, T0, now, report=lambda _: None, claim=claim,
                runner=lambda argv, beat, h=holder: ran.append(h) or 0)  # fmt: skip
    assert ran == ["a", "b"]
