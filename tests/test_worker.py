"""The worker's schedule: cron firings, missed runs, each job in its own process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from pydantic import ValidationError

from paperroute.config import Settings
from paperroute.worker import (
    DEFAULT_SCHEDULE,
    ScheduledJob,
    due_jobs,
    make_jobs,
    next_run,
    run_command,
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

    def runner(argv: Sequence[str]) -> int:
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


def test_a_job_is_a_real_paperroute_process() -> None:
    assert run_command(["--help"]) == 0
    assert run_command(["no-such-command"]) != 0
