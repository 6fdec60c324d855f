"""Kill -9 the sender process at chosen points, run it again: every digest arrives once.

The one exception is the documented window (the server accepted the mail, the
sender died before marking it sent): that digest arrives twice, both copies
with the same Message-ID, so a receiver that deduplicates shows it once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from paperroute.digest.send import send_due
from paperroute.store import outbox
from paperroute.store.schema import digest_outbox
from tests.digest.test_send import (
    FAST,
    PERIOD,
    SENDER,
    Mailbox,
    queue_digests,
    smtp_server,
    transport,
)

LEASE_SECONDS = 1.0
SUBSCRIBERS = [f"reader{n}@example.org" for n in range(6)]

# The sending half of `paperroute digest send --rate 0` with a 1 s lease, without the CLI's
# start-up time (one test kills the real command).
SENDER_SCRIPT = f"""
import datetime as dt, sys
from paperroute.digest.send import SendPolicy, SmtpTransport, send_due
from paperroute.store.db import make_engine
result = send_due(
    make_engine(sys.argv[1]),
    SmtpTransport("127.0.0.1", int(sys.argv[2]), security="none", timeout=10),
    sender={SENDER!r},
    policy=SendPolicy(rate=None, lease=dt.timedelta(seconds={LEASE_SECONDS})),
)
print(result.sent, result.failed, result.retried, result.stopped)
"""


class HaltingMailbox(Mailbox):
    """Halts at chosen DATA commands (counted over all connections) until the test goes on.

    "before": that message is not kept and never accepted: the sender dies waiting.
    "accepted": it is kept and accepted, and the test holds the outbox row so the
    sender dies between the server's acceptance and marking the row sent.
    """

    def __init__(self, halts: dict[int, str]) -> None:
        super().__init__()
        self.halts, self.datas = halts, 0
        self.arrived = {n: threading.Event() for n in halts}
        self.go_on = {n: threading.Event() for n in halts}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.datas += 1
        number = self.datas
        if number not in self.halts:
            return await super().handle_DATA(server, session, envelope)
        if self.halts[number] == "accepted":
            self.keep(session, envelope)
        self.arrived[number].set()
        await asyncio.get_running_loop().run_in_executor(None, self.go_on[number].wait, 30)
        return "250 OK" if self.halts[number] == "accepted" else "451 4.3.0 halted"


def start_sender(db_url: str, port: int, *, cli: bool = False) -> subprocess.Popen[str]:
    if cli:
        args = ["-m", "paperroute", "digest", "send", "--rate", "0"]
    else:
        args = ["-c", SENDER_SCRIPT, db_url, str(port)]
    env = os.environ | {
        "PAPERROUTE_DATABASE_URL": db_url,
        "PAPERROUTE_SMTP_HOST": "127.0.0.1",
        "PAPERROUTE_SMTP_PORT": str(port),
        "PAPERROUTE_SMTP_SECURITY": "none",
        "PAPERROUTE_MAIL_FROM": f"paperroute <{SENDER}>",
        "PAPERROUTE_BASE_URL": "https://papers.example.org",
        "PAPERROUTE_DIGEST_LEASE": str(LEASE_SECONDS),
    }
    return subprocess.Popen(
        [sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def kill(process: subprocess.Popen[str]) -> str:
    """SIGKILL: no cleanup, no goodbye to the server; what it had printed to stderr."""
    process.kill()
    return process.communicate(timeout=10)[1]


def wait_until_blocked(engine: Engine) -> None:
    """Until the sender waits for our lock: seen on PostgreSQL; on SQLite, give it time."""
    if engine.dialect.name != "postgresql":
        time.sleep(0.5)
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with engine.connect() as probe:
            waiting = probe.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if waiting.scalar_one():
                return
        time.sleep(0.02)
    raise AssertionError("the sender never waited for the outbox row")


def crash_at(
    engine: Engine, db_url: str, port: int, mailbox: HaltingMailbox, halt: int, cli: bool = False
) -> None:
    """Run the sender, kill -9 it at the mailbox's halt, and wait out its claim."""
    sender = start_sender(db_url, port, cli=cli)
    if not mailbox.arrived[halt].wait(30):
        raise AssertionError(f"the sender never reached DATA {halt}: {kill(sender)}")
    if mailbox.halts[halt] == "before":
        kill(sender)
        mailbox.go_on[halt].set()
    else:
        message_id = mailbox.received[-1].message_id
        held = engine.connect()
        held.begin()
        held.execute(  # the row's write lock (on SQLite, the database's): the update waits
            update(digest_outbox).where(digest_outbox.c.message_id == message_id).values(error="")
        )
        try:
            mailbox.go_on[halt].set()  # the server says 250 to a sender that cannot record it
            wait_until_blocked(engine)
            kill(sender)
        finally:
            held.rollback()
            held.close()
        assert status_of(engine, message_id) == "sending"  # accepted, never marked sent


def run_to_the_end(engine: Engine, port: int) -> None:
    """The next run, in this process, at a moment when the dead sender's claim has expired."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LEASE_SECONDS)
    result = send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=lambda: later)
    assert result.stopped is None and result.failed == 0 and result.retried == 0


def status_of(engine: Engine, message_id: str) -> str:
    with engine.connect() as conn:
        found = conn.execute(
            select(digest_outbox.c.status).where(digest_outbox.c.message_id == message_id)
        )
        return found.scalar_one()


def assert_each_once_except(mailbox: Mailbox, ids: dict[str, str], twice: str | None) -> None:
    """Each subscriber got their digest once; `twice` got it twice, as the same mail."""
    counts = Counter(r.recipient for r in mailbox.received)
    assert counts == {a: 2 if a == twice else 1 for a in ids}
    assert all(r.message_id == ids[r.recipient] for r in mailbox.received)
    assert len({r.message_id for r in mailbox.received}) == len(ids)
    if twice is not None:
        first, again = (r.content for r in mailbox.received if r.recipient == twice)
        assert first == again


def all_sent(engine: Engine) -> bool:
    with engine.connect() as conn:  # (the CLI also makes today's digests: empty, skipped)
        return outbox.outbox_stats(conn)[PERIOD] == {"sent": len(SUBSCRIBERS)}


SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def killed_once(engine: Engine, db_url: str, halt: int, point: str, cli: bool = False) -> None:
    ids = queue_digests(engine, SUBSCRIBERS)
    mailbox = HaltingMailbox({halt: point})
    with smtp_server(mailbox) as port:
        crash_at(engine, db_url, port, mailbox, halt, cli)
        assert len(mailbox.received) == (halt if point == "accepted" else halt - 1)
        run_to_the_end(engine, port)
    assert_each_once_except(mailbox, ids, SUBSCRIBERS[halt - 1] if point == "accepted" else None)
    assert all_sent(engine)


@SQLITE_ONLY
def test_killed_before_the_server_accepted(engine: Engine, db_url: str) -> None:
    killed_once(engine, db_url, 4, "before")


def test_killed_between_acceptance_and_marking_sent(engine: Engine, db_url: str) -> None:
    killed_once(engine, db_url, 3, "accepted")


@SQLITE_ONLY
def test_the_cli_killed_between_acceptance_and_marking_sent(engine: Engine, db_url: str) -> None:
    killed_once(engine, db_url, 6, "accepted", cli=True)


@SQLITE_ONLY
def test_killed_again_and_again(engine: Engine, db_url: str) -> None:
    ids = queue_digests(engine, SUBSCRIBERS)
    mailbox = HaltingMailbox({2: "before", 4: "accepted"})
    with smtp_server(mailbox) as port:
        crash_at(engine, db_url, port, mailbox, 2)  # the second digest, never accepted
        time.sleep(LEASE_SECONDS)  # the next sender is a process too, on the real clock
        crash_at(engine, db_url, port, mailbox, 4)  # DATA 4 is the third digest: the window
        run_to_the_end(engine, port)
    assert_each_once_except(mailbox, ids, twice=SUBSCRIBERS[2])
    assert all_sent(engine)
