"""The digest sender against a real SMTP server on loopback, on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.policy
import socket
import struct
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import Engine

from paperroute.digest.send import (
    SendPolicy,
    SmtpSetupError,
    SmtpTransport,
    plan_due,
    send_due,
)
from paperroute.store import outbox
from paperroute.store.subscribers import add_subscriber, confirm_subscriber, unsubscribe
from tests.support import free_port

T0 = dt.datetime(2026, 3, 20, 7, tzinfo=dt.UTC)
PERIOD = "2026-03-20"
SENDER = "digest@lab.org"
FAST = SendPolicy(rate=None)
# What the server does is the same on both databases: those tests run on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def digest_message(to: str, period: str, number: int) -> tuple[str, bytes]:
    """A digest mail as the outbox stores it: whole, CRLF line ends, with its Message-ID."""
    message = EmailMessage()
    message["From"] = f"paperroute <{SENDER}>"
    message["To"] = to
    message["Subject"] = f"Your papers for {period}"
    message["Message-ID"] = f"<digest.{period}.{number}@lab.org>"
    message.set_content(f"Papers for {to}, {period}.\n.\nA line that starts with a dot.\n")
    return message["Message-ID"], message.as_bytes(policy=email.policy.SMTP)


def queue_digests(
    engine: Engine, emails: Sequence[str], period: str = PERIOD, now: dt.datetime = T0
) -> dict[str, str]:
    """Confirmed subscribers, each with a digest queued for the period; their Message-IDs."""
    ids: dict[str, str] = {}
    with engine.begin() as conn:
        for number, address in enumerate(emails):
            sub = add_subscriber(conn, address, now)
            confirm_subscriber(conn, sub.id, now)
            message_id, data = digest_message(address, period, number)
            outbox.enqueue_digest(conn, sub.id, period, now, papers_until=now, paper_ids=[1],
                                  message_id=message_id, message=data)  # fmt: skip
            ids[address] = message_id
    return ids


@dataclass(frozen=True)
class Received:
    recipient: str
    message_id: str
    content: bytes
    peer: Any  # the client's (host, port): one per connection


class Mailbox:
    """An SMTP server's handler: keeps every message, and misbehaves when told to."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}  # address -> reply to RCPT TO, every time
        self.replies: dict[str, list[str]] = {}  # address -> replies to DATA before accepting
        self.hang_ups: dict[str, int] = {}  # address -> times to drop the line at DATA
        self.delay = 0.0  # seconds between keeping a message and saying so

    def keep(self, session: Any, envelope: Any) -> Received:
        (recipient,) = envelope.rcpt_tos
        headers = BytesHeaderParser(policy=email.policy.default).parsebytes(envelope.content)
        got = Received(recipient, str(headers["Message-ID"]), envelope.content, session.peer)
        self.received.append(got)
        return got

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        (recipient,) = envelope.rcpt_tos
        if self.hang_ups.get(recipient, 0) > 0:
            self.hang_ups[recipient] -= 1
            server.transport.close()
            return "421 gone"  # never reaches the client
        if self.replies.get(recipient):
            return self.replies[recipient].pop(0)
        self.keep(session, envelope)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"

    def recipients(self) -> list[str]:
        return [r.recipient for r in self.received]


@contextmanager
def smtp_server(mailbox: Any, port: int | None = None, **options: Any) -> Iterator[int]:
    """A real aiosmtpd server on 127.0.0.1 for the block; yields its port."""
    port = port or free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def transport(port: int, timeout: float = 5.0) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", port, security="none", timeout=timeout)


def statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return outbox.outbox_stats(conn).get(PERIOD, {})


def rows(engine: Engine) -> list[outbox.OutboxRow]:
    with engine.connect() as conn:
        found = [outbox.get_outbox_row(conn, n) for n in range(1, 50)]
    return [r for r in found if r is not None]


def test_every_digest_goes_once_over_one_connection(engine: Engine) -> None:
    addresses = ["ada@example.org", "grace@example.org", "edsger@example.org"]
    ids = queue_digests(engine, addresses)
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        result = send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=Clock(T0))
        again = send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=Clock(T0))
    assert (result.sent, result.failed, result.retried, result.stopped) == (3, 0, 0, None)
    assert again.sent == 0
    assert mailbox.recipients() == addresses
    assert len({r.peer for r in mailbox.received}) == 1
    with engine.connect() as conn:
        for got, row in zip(mailbox.received, rows(engine), strict=True):
            assert got.content == row.message and got.message_id == ids[got.recipient]
            assert row.status == "sent" and row.sent_at == T0
            assert outbox.get_outbox_row(conn, row.id) == row
    assert statuses(engine) == {"sent": 3}


@SQLITE_ONLY
def test_a_refused_address_fails_for_good_and_the_others_arrive(engine: Engine) -> None:
    queue_digests(engine, ["a@example.org", "gone@example.org", "c@example.org"])
    mailbox = Mailbox()
    mailbox.refuse["gone@example.org"] = "550 5.1.1 <gone@example.org>: no such user"
    with smtp_server(mailbox) as port:
        result = send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=Clock(T0))
        later = Clock(T0 + dt.timedelta(days=1))
        assert send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=later).sent == 0
    assert (result.sent, result.failed) == (2, 1)
    assert mailbox.recipients() == ["a@example.org", "c@example.org"]
    failed = next(r for r in rows(engine) if r.status == "failed")
    assert failed.error is not None and failed.error.startswith("550 5.1.1")


def test_a_temporary_refusal_waits_then_goes_once(engine: Engine) -> None:
    queue_digests(engine, ["a@example.org", "busy@example.org"])
    mailbox = Mailbox()
    mailbox.replies["busy@example.org"] = ["451 4.3.0 try again later"]
    clock = Clock(T0)
    with smtp_server(mailbox) as port:
        first = send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=clock)
        assert (first.sent, first.retried) == (1, 1)
        busy = next(r for r in rows(engine) if r.status == "pending")
        assert busy.error == "451 4.3.0 try again later" and busy.attempts == 1
        clock.now = T0 + dt.timedelta(seconds=59)  # the first retry waits a minute
        assert send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=clock).sent == 0
        clock.now = T0 + dt.timedelta(minutes=1)
        assert send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=clock).sent == 1
    assert sorted(mailbox.recipients()) == ["a@example.org", "busy@example.org"]
    assert statuses(engine) == {"sent": 2}


@SQLITE_ONLY
def test_temporary_failures_give_up_after_the_last_try(engine: Engine) -> None:
    queue_digests(engine, ["busy@example.org"])
    mailbox = Mailbox()
    mailbox.refuse["busy@example.org"] = "452 4.2.2 mailbox full"
    policy = SendPolicy(rate=None, max_attempts=3)
    clock = Clock(T0)
    with smtp_server(mailbox) as port:
        for _ in range(3):
            send_due(engine, transport(port), sender=SENDER, policy=policy, clock=clock)
            clock.now += dt.timedelta(hours=1)
    (row,) = rows(engine)
    assert row.status == "failed" and row.attempts == 3
    assert row.error == "gave up after 3 tries: 452 4.2.2 mailbox full"


@SQLITE_ONLY
def test_a_dropped_connection_is_opened_again_and_nothing_is_lost(engine: Engine) -> None:
    addresses = [f"r{n}@example.org" for n in range(4)]
    queue_digests(engine, addresses)
    mailbox = Mailbox()
    mailbox.hang_ups = {"r1@example.org": 1, "r2@example.org": 5}
    clock = Clock(T0)
    with smtp_server(mailbox) as port:
        first = send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=clock)
        # r1 went on a fresh connection at once; r2's fresh try failed too and waits.
        assert (first.sent, first.retried) == (3, 1)
        mailbox.hang_ups.clear()
        clock.now += dt.timedelta(minutes=1)
        assert send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=clock).sent == 1
    assert sorted(mailbox.recipients()) == addresses
    assert statuses(engine) == {"sent": 4}


@contextmanager
def hang_up_mid_message(after_bytes: int = 4096) -> Iterator[int]:
    """A server that takes MAIL, RCPT and DATA, reads the start of the message, and resets."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        lines = conn.makefile("rb")
        conn.sendall(b"220 halfway\r\n")
        for line in lines:
            if line[:4].upper() == b"DATA":
                conn.sendall(b"354 go on\r\n")
                lines.read(after_bytes)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            conn.sendall(b"250 ok\r\n")

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                serve_one(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@SQLITE_ONLY
def test_a_connection_reset_mid_message_is_retried(engine: Engine) -> None:
    with engine.begin() as conn:
        sub = add_subscriber(conn, "big@example.org", T0)
        confirm_subscriber(conn, sub.id, T0)
        message = EmailMessage()
        message["Message-ID"] = "<big@lab.org>"
        message.set_content("A long digest line.\n" * 60_000)  # ~1 MB: more than one buffer
        data = message.as_bytes(policy=email.policy.SMTP)
        outbox.enqueue_digest(conn, sub.id, PERIOD, T0, papers_until=T0, paper_ids=[],
                              message_id="<big@lab.org>", message=data)  # fmt: skip
    clock = Clock(T0)
    with hang_up_mid_message() as port:
        cut = send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=clock)
    (row,) = rows(engine)
    assert (
        cut.retried == 1
        and row.status == "pending"
        and "closed the connection" in (row.error or "")
    )
    mailbox = Mailbox()
    clock.now += dt.timedelta(minutes=1)
    with smtp_server(mailbox) as port:
        assert send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=clock).sent == 1
    assert [(r.message_id, r.content) for r in mailbox.received] == [("<big@lab.org>", data)]


@SQLITE_ONLY
def test_a_server_that_is_down_stops_the_run_and_loses_nothing(engine: Engine) -> None:
    addresses = ["a@example.org", "b@example.org"]
    ids = queue_digests(engine, addresses)
    port = free_port()  # nothing listens there yet
    clock = Clock(T0)
    down = send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=clock)
    assert down.sent == 0 and down.retried == 1
    assert down.stopped is not None and "cannot connect" in down.stopped
    assert statuses(engine) == {"pending": 2}
    mailbox = Mailbox()
    clock.now += dt.timedelta(minutes=1)
    with smtp_server(mailbox, port):
        assert send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=clock).sent == 2
    assert sorted((r.recipient, r.message_id) for r in mailbox.received) == sorted(ids.items())


@SQLITE_ONLY
def test_a_timeout_is_retried_with_the_same_message_id(engine: Engine) -> None:
    ids = queue_digests(engine, ["slow@example.org"])
    mailbox = Mailbox()
    mailbox.delay = 1.5  # keeps the message, answers too late
    clock = Clock(T0)
    with smtp_server(mailbox) as port:
        first = send_due(engine, transport(port, 0.5), sender=SENDER, policy=FAST, clock=clock)
        assert first.retried == 1 and "timed out" in (rows(engine)[0].error or "")
        mailbox.delay = 0
        clock.now += dt.timedelta(minutes=1)
        assert send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=clock).sent == 1
    # The server had kept the first one: the copy is the same mail, deduplicated by its id.
    assert [r.message_id for r in mailbox.received] == [ids["slow@example.org"]] * 2


def test_who_unsubscribed_after_queueing_gets_nothing(engine: Engine) -> None:
    queue_digests(engine, ["stays@example.org", "left@example.org"])
    with engine.begin() as conn:
        left = outbox.get_outbox_row(conn, 2)
        assert left is not None
        unsubscribe(conn, left.subscriber_id, T0)
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        result = send_due(engine, transport(port), sender=SENDER, policy=FAST, clock=Clock(T0))
    assert (result.sent, result.unsubscribed, result.failed) == (1, 1, 0)
    assert mailbox.recipients() == ["stays@example.org"]
    assert [(r.status, r.error) for r in rows(engine)] == [
        ("sent", None),
        ("unsubscribed", None),
    ]


@SQLITE_ONLY
def test_the_rate_spaces_the_sends(engine: Engine) -> None:
    queue_digests(engine, [f"r{n}@example.org" for n in range(4)])
    slept: list[float] = []
    ticks = iter([0.0, 0.1, 0.6, 5.0, 9.0])  # the last: before finding the queue empty
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        send_due(engine, transport(port), sender=SENDER, policy=SendPolicy(rate=2.0),
                 clock=Clock(T0), sleep=slept.append, monotonic=lambda: next(ticks))  # fmt: skip
    assert len(mailbox.received) == 4
    assert slept == pytest.approx([0.4, 0.4])  # 0.5 s apart; the fourth was late already


@SQLITE_ONLY
def test_wrong_smtp_settings_stop_the_run_and_keep_the_digest(engine: Engine) -> None:
    queue_digests(engine, ["a@example.org"])

    def refuse_login(*_: Any) -> AuthResult:
        return AuthResult(success=False, handled=False)

    with smtp_server(Mailbox(), auth_require_tls=False, authenticator=refuse_login) as port:
        login = SmtpTransport("127.0.0.1", port, security="none", user="u", password="p", timeout=5)
        with pytest.raises(SmtpSetupError, match="refused the login of 'u'"):
            send_due(engine, login, sender=SENDER, policy=FAST, clock=Clock(T0))
        starttls = SmtpTransport("127.0.0.1", port, security="starttls", timeout=5)
        with pytest.raises(SmtpSetupError, match="STARTTLS"):
            send_due(engine, starttls, sender=SENDER, policy=FAST, clock=Clock(T0))
    (row,) = rows(engine)
    assert row.status == "pending" and row.attempts == 2


def test_a_plan_lists_what_would_go_and_changes_nothing(engine: Engine) -> None:
    queue_digests(engine, ["a@example.org", "left@example.org"])
    with engine.begin() as conn:
        unsubscribe(conn, 2, T0)
    before = rows(engine)
    with engine.connect() as conn, conn.begin() as transaction:
        planned = plan_due(conn, T0)
        transaction.rollback()
    assert [(p.recipient, p.subject, p.skip) for p in planned] == [
        ("a@example.org", f"Your papers for {PERIOD}", None),
        ("left@example.org", f"Your papers for {PERIOD}", "unsubscribed"),
    ]
    assert rows(engine) == before


def test_retries_back_off_by_doubling_up_to_a_cap() -> None:
    policy = SendPolicy()
    waits = [policy.retry_delay(n) for n in (1, 2, 3, 7, 8, 100)]
    assert waits == [dt.timedelta(minutes=m) for m in (1, 2, 4, 64, 120, 120)]
