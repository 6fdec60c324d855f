"""Kill -9 the sender process at chosen points, run it again: every digest arrives once.

The two points around the handover (digest.send): the sender dies while it
records the digest as sent, with all of the message but its final "." at the
server (the server throws it away; the next run sends it), or after the "."
while the server decides (the server keeps it; nobody sends it again).
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

# Each test runs and kills a sender process: seconds apiece.
pytestmark = pytest.mark.slow

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
    """Halts at chosen points until the test goes on; points are keyed by their count.

    "handover": at the nth RCPT TO (over all connections); the test then holds the
    outbox so the sender blocks recording the message as sent, with all of it but
    the final "." written, and dies there.
    "accepted": at the nth complete message; it is kept, and the sender dies
    waiting for the reply.
    """

    def __init__(self, halts: dict[int, str]) -> None:
        super().__init__()
        self.halts, self.rcpts, self.datas = halts, 0, 0
        self.arrived = {n: threading.Event() for n in halts}
        self.go_on = {n: threading.Event() for n in halts}

    async def _halt(self, number: int) -> None:
        self.arrived[number].set()
        await asyncio.get_running_loop().run_in_executor(None, self.go_on[number].wait, 30)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.rcpts += 1
        if self.halts.get(self.rcpts) == "handover":
            await self._halt(self.rcpts)
        return await super().handle_RCPT(server, session, envelope, address, options)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.datas += 1
        number = self.datas
        if self.halts.get(number) != "accepted":
            return await super().handle_DATA(server, session, envelope)
        self.keep(session, envelope)
        await self._halt(number)
        return "250 OK"


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
    """Run the sender, kill -9 it at the mailbox's halt."""
    sender = start_sender(db_url, port, cli=cli)
    if not mailbox.arrived[halt].wait(30):
        raise AssertionError(f"the sender never reached halt {halt}: {kill(sender)}")
    if mailbox.halts[halt] == "accepted":
        kill(sender)  # waiting for the reply to a message the server keeps
        mailbox.go_on[halt].set()
        assert status_of(engine, mailbox.received[-1].message_id) == "sent"  # handed over
        return
    held = engine.connect()
    held.begin()
    held.execute(  # the claimed row's write lock (on SQLite, the database's): its update waits
        update(digest_outbox).where(digest_outbox.c.status == "sending").values(error="")
    )
    try:
        mailbox.go_on[halt].set()  # the message follows; recording it as sent waits on us
        wait_until_blocked(engine)
        kill(sender)
    finally:
        held.rollback()
        held.close()


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


def assert_each_once(mailbox: Mailbox, ids: dict[str, str]) -> None:
    """Each subscriber got their own digest, once."""
    assert Counter(r.recipient for r in mailbox.received) == dict.fromkeys(ids, 1)
    assert all(r.message_id == ids[r.recipient] for r in mailbox.received)


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
    assert_each_once(mailbox, ids)
    assert all_sent(engine)


def test_killed_while_handing_the_message_over(engine: Engine, db_url: str) -> None:
    killed_once(engine, db_url, 4, "handover")


def test_killed_waiting_for_the_servers_reply(engine: Engine, db_url: str) -> None:
    killed_once(engine, db_url, 3, "accepted")


@SQLITE_ONLY
def test_the_cli_killed_waiting_for_the_servers_reply(engine: Engine, db_url: str) -> None:
    killed_once(engine, db_url, 6, "accepted", cli=True)


@SQLITE_ONLY
def test_killed_again_and_again(engine: Engine, db_url: str) -> None:
    ids = queue_digests(engine, SUBSCRIBERS)
    mailbox = HaltingMailbox({2: "handover", 4: "accepted"})
    with smtp_server(mailbox) as port:
        crash_at(engine, db_url, port, mailbox, 2)  # the second digest, thrown away by the server
        time.sleep(LEASE_SECONDS)  # the next sender is a process too, on the real clock
        crash_at(engine, db_url, port, mailbox, 4)  # the fourth complete message: kept
        run_to_the_end(engine, port)
    assert_each_once(mailbox, ids)
    assert all_sent(engine)
