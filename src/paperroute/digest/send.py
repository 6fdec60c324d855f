"""Deliver queued digests: outbox rows over one reused SMTP connection, each sent exactly once.

SMTP leaves a window in which a sender that dies cannot know whether a
message went through: after the final "." of its data, until it has recorded
the server's reply. A server takes the message on the "." (RFC 5321 4.1.1.4:
one that cannot answer keeps it anyway), so a row marked sent only after the
reply is sent twice if the sender dies in between, and that window is the
length of a commit. Instead the whole message goes to the server except the
final ".", the row is marked sent and committed, and only then is the "."
written. A sender killed before that commit leaves an unfinished message,
which the server throws away when the connection drops, and a row still
claimed, which the next run sends once. A sender killed after it has handed
the message over. A refusal or a lost connection after the "." puts the row
back to be retried, as before. What is left is the instant between the
commit's return and the write of "." (a digest lost, not doubled), and a
connection that breaks after the "." before the reply: the server may have
the message, and the retry sends it again with the same Message-ID, so a
receiver that deduplicates by Message-ID shows it once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import parseaddr
from typing import Protocol

from sqlalchemy import Connection, Engine

from paperroute.config import Settings
from paperroute.mailer import valid_email
from paperroute.store.outbox import (
    OutboxRow,
    claim_next,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_unsubscribed,
)
from paperroute.store.subscribers import get_subscriber

__all__ = [
    "ConnectionLost",
    "PermanentFailure",
    "PlannedDigest",
    "SendPolicy",
    "SendResult",
    "ServerUnreachable",
    "SmtpSetupError",
    "SmtpTransport",
    "TemporaryFailure",
    "Transport",
    "envelope_sender",
    "plan_due",
    "send_due",
]

UNSUBSCRIBED = "unsubscribed"


class TemporaryFailure(Exception):
    """The server did not take the message this time (4xx, timeout, lost connection)."""


class ConnectionLost(TemporaryFailure):
    """The connection broke during a message; the server did not say it accepted it."""

    def __init__(self, reason: str, *, closed_by_server: bool = False) -> None:
        super().__init__(reason)
        self.closed_by_server = closed_by_server


class ServerUnreachable(TemporaryFailure):
    """No connection to the server at all: nothing more can be sent in this run."""


class PermanentFailure(Exception):
    """The server refused the message or its recipient for good (5xx)."""


class SmtpSetupError(Exception):
    """The SMTP settings are wrong (login refused, no STARTTLS, sender refused); fix, then rerun."""


Handover = Callable[[], None]  # records a message as sent: called before its final "."


class Transport(Protocol):
    def deliver(
        self, sender: str, recipient: str, message: bytes, handover: Handover = ...
    ) -> None: ...

    def close(self) -> None: ...


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {words}".strip()


def _refusal(code: int, text: bytes | str) -> Exception:
    reason = _reply(code, text)
    return PermanentFailure(reason) if 500 <= code < 600 else TemporaryFailure(reason)


class SmtpTransport:
    """One SMTP connection, opened on first use and opened again after the server drops it."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "starttls",
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        if security not in ("starttls", "tls", "none"):
            raise SmtpSetupError(f"SMTP security {security!r}: use starttls, tls or none")
        self.host, self.port, self.security = host, port, security
        self.user, self.password, self.timeout = user, password, timeout
        self._smtp: smtplib.SMTP | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTransport:
        if not settings.smtp_host:
            raise SmtpSetupError(
                "no SMTP server is configured: set PAPERROUTE_SMTP_HOST (and _PORT, "
                "_SECURITY, _USER, _PASSWORD), or use --dry-run to see what would be sent"
            )
        return cls(settings.smtp_host, settings.smtp_port, security=settings.smtp_security,
                   user=settings.smtp_user, password=settings.smtp_password,
                   timeout=settings.smtp_timeout)  # fmt: skip

    def deliver(
        self, sender: str, recipient: str, message: bytes, handover: Handover = lambda: None
    ) -> None:
        """Hand one message to the server; returns only once the server accepted it.

        `handover` runs when the server has all of the message but its final ".";
        if it raises, the connection is dropped, so the server discards the message.
        """
        reused = self._smtp is not None
        try:
            self._send(sender, recipient, message, handover)
        except ConnectionLost as exc:
            if not (reused and exc.closed_by_server):
                raise
            # Servers close idle connections: a reused one gets one more try on a new one.
            self._send(sender, recipient, message, handover)

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _send(self, sender: str, recipient: str, message: bytes, handover: Handover) -> None:
        smtp = self._open()
        options = ["SMTPUTF8"] if not recipient.isascii() else []
        if not message.isascii() and smtp.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        try:
            _transaction(smtp, sender, recipient, message, options, handover)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self._check_closing(code, text)
            raise _refusal(code, text) from exc
        except smtplib.SMTPSenderRefused as exc:
            self._check_closing(exc.smtp_code, exc.smtp_error)
            if 500 <= exc.smtp_code < 600:
                raise SmtpSetupError(
                    f"the SMTP server refuses the sender {sender}: "
                    f"{_reply(exc.smtp_code, exc.smtp_error)}; check PAPERROUTE_MAIL_FROM"
                ) from exc
            raise TemporaryFailure(_reply(exc.smtp_code, exc.smtp_error)) from exc
        except smtplib.SMTPResponseException as exc:
            self._check_closing(exc.smtp_code, exc.smtp_error)
            raise _refusal(exc.smtp_code, exc.smtp_error) from exc
        except smtplib.SMTPNotSupportedError as exc:  # a non-ASCII address without SMTPUTF8
            raise PermanentFailure(str(exc)) from exc
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise ConnectionLost(
                f"{self.host}:{self.port} closed the connection: {exc}", closed_by_server=True
            ) from exc
        except OSError as exc:  # a timeout or a reset: the message's fate is unknown
            self._drop()
            raise ConnectionLost(f"connection to {self.host}:{self.port} lost: {exc}") from exc

    def _check_closing(self, code: int, text: bytes | str) -> None:
        """421: the server is closing the connection (often an idle one), not refusing the mail."""
        if code == 421:
            self._drop()
            raise ConnectionLost(_reply(code, text), closed_by_server=True)

    def _open(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        where = f"{self.host}:{self.port}"
        try:
            self._smtp = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            raise SmtpSetupError(
                f"the SMTP server {where} refused the login of {self.user!r}: "
                f"{_reply(exc.smtp_code, exc.smtp_error)}; check PAPERROUTE_SMTP_USER and _PASSWORD"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise SmtpSetupError(
                f"the SMTP server {where}: {exc}; check PAPERROUTE_SMTP_SECURITY (starttls, tls "
                "or none) and PAPERROUTE_SMTP_USER"
            ) from exc
        except ssl.SSLError as exc:
            raise SmtpSetupError(f"TLS with the SMTP server {where} failed: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            raise ServerUnreachable(
                f"the SMTP server {where} turned us away: {_reply(exc.smtp_code, exc.smtp_error)}"
            ) from exc
        except OSError as exc:
            raise ServerUnreachable(f"cannot connect to the SMTP server {where}: {exc}") from exc
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            context = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp


def _transaction(
    smtp: smtplib.SMTP,
    sender: str,
    recipient: str,
    message: bytes,
    options: list[str],
    handover: Handover,
) -> None:
    """MAIL, RCPT and DATA as smtplib's sendmail does them, with `handover` before the final
    "." (sendmail writes the data and its end in one go)."""
    smtp.ehlo_or_helo_if_needed()
    code, text = smtp.mail(sender, options)
    if code != 250:
        _reset(smtp, code)
        raise smtplib.SMTPSenderRefused(code, text, sender)
    code, text = smtp.rcpt(recipient)
    if code not in (250, 251):
        _reset(smtp, code)
        raise smtplib.SMTPRecipientsRefused({recipient: (code, text)})
    code, text = smtp.docmd("data")
    if code != 354:
        raise smtplib.SMTPDataError(code, text)
    data = _DOT_AT_LINE_START.sub(b"..", message)  # RFC 5321 4.5.2: a line's leading dot doubled
    smtp.send(data if data.endswith(b"\r\n") else data + b"\r\n")
    try:
        handover()
    except BaseException:
        smtp.close()  # the message never ends: the server throws it away
        raise
    smtp.send(b".\r\n")
    code, text = smtp.getreply()
    if code != 250:
        raise smtplib.SMTPDataError(code, text)


_DOT_AT_LINE_START = re.compile(rb"(?m)^\.")


def _reset(smtp: smtplib.SMTP, code: int) -> None:
    """End a refused transaction so the connection serves the next message (not after 421)."""
    if code != 421:
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            smtp.rset()


def envelope_sender(mail_from: str) -> str:
    """The bare address of a From header value, for the SMTP envelope."""
    return parseaddr(mail_from)[1] or mail_from


@dataclass(frozen=True, slots=True)
class SendPolicy:
    """How fast to send and how long to keep trying (settings: digest_rate, digest_lease, ...)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> SendPolicy:
        return cls(
            rate=settings.digest_rate or None,
            lease=dt.timedelta(seconds=settings.digest_lease),
            max_attempts=settings.digest_max_attempts,
        )

    rate: float | None = 20.0  # messages per second; None or 0 sends as fast as the server takes
    # A claim must outlive the slowest send (several SMTP timeouts); after it a
    # crashed run's digest is taken again.
    lease: dt.timedelta = dt.timedelta(minutes=10)
    max_attempts: int = 8
    first_retry: dt.timedelta = dt.timedelta(minutes=1)
    max_retry: dt.timedelta = dt.timedelta(hours=2)

    def retry_delay(self, attempts: int) -> dt.timedelta:
        """1 minute, then doubling, capped: the wait after the `attempts`-th failed try."""
        return min(self.first_retry * 2 ** min(max(attempts - 1, 0), 20), self.max_retry)


@dataclass(slots=True)
class SendResult:
    sent: int = 0
    retried: int = 0  # temporary failures, waiting for their next try
    failed: int = 0  # refused for good, or out of tries
    unsubscribed: int = 0  # left after the digest was queued: not sent
    stopped: str | None = None  # why the run ended before the queue did


def _unsendable(conn: Connection, row: OutboxRow) -> tuple[str | None, str]:
    """Why this digest must not go out (None if it may), and the address it goes to."""
    subscriber = get_subscriber(conn, row.subscriber_id)
    if subscriber is None or subscriber.unsubscribed_at is not None:
        return UNSUBSCRIBED, subscriber.email if subscriber else ""
    if subscriber.confirmed_at is None:
        return "address not confirmed", subscriber.email
    if valid_email(subscriber.email) != subscriber.email:
        return f"invalid address {subscriber.email!r}", subscriber.email
    if row.message is None:
        return "no message stored", subscriber.email
    return None, subscriber.email


class _Run:
    """One pass over the due digests; holds what every step needs."""

    def __init__(
        self,
        engine: Engine,
        transport: Transport,
        sender: str,
        policy: SendPolicy,
        clock: Callable[[], dt.datetime],
        only_subscriber: int | None,
    ) -> None:
        self.engine, self.transport, self.sender = engine, transport, sender
        self.policy, self.clock, self.result = policy, clock, SendResult()
        self.only_subscriber = only_subscriber

    def take(self) -> tuple[OutboxRow, str, bytes] | None:
        """Claim the next due digest that may go out; those that may not are closed on the way."""
        while True:
            with self.engine.begin() as conn:
                row = claim_next(
                    conn, self.clock(), lease=self.policy.lease, subscriber_id=self.only_subscriber
                )
                if row is None:
                    return None
                reason, recipient = _unsendable(conn, row)
                if reason is None and row.message is not None:
                    return row, recipient, row.message
                if reason == UNSUBSCRIBED:
                    mark_unsubscribed(conn, row.id)
                else:
                    mark_failed(conn, row.id, reason or "no message stored")
            if reason == UNSUBSCRIBED:
                self.result.unsubscribed += 1
            else:
                self.result.failed += 1

    def deliver(self, row: OutboxRow, recipient: str, message: bytes) -> bool:
        """Send one digest and record the outcome; False when the run must stop."""

        def handover() -> None:  # the server has all but the final ".": from here it is sent
            with self.engine.begin() as conn:
                mark_sent(conn, row.id, self.clock())

        try:
            self.transport.deliver(self.sender, recipient, message, handover)
        except PermanentFailure as exc:
            self.fail(row, str(exc))
        except ServerUnreachable as exc:
            # Not the digest's fault: it waits and is tried again, however long the outage.
            self.retry(row, str(exc), self.clock() + self.policy.first_retry)
            self.result.stopped = str(exc)
            return False
        except TemporaryFailure as exc:
            if row.attempts >= self.policy.max_attempts:
                self.fail(row, f"gave up after {row.attempts} tries: {exc}")
            else:
                self.retry(row, str(exc), self.clock() + self.policy.retry_delay(row.attempts))
        except SmtpSetupError as exc:
            self.retry(row, str(exc), self.clock())
            raise
        else:
            self.result.sent += 1
        return True

    def fail(self, row: OutboxRow, error: str) -> None:
        with self.engine.begin() as conn:
            mark_failed(conn, row.id, error)
        self.result.failed += 1

    def retry(self, row: OutboxRow, error: str, when: dt.datetime) -> None:
        with self.engine.begin() as conn:
            mark_retry(conn, row.id, when, error)
        self.result.retried += 1


class _Pacer:
    """At most `rate` sends a second, spaced evenly."""

    def __init__(
        self, rate: float | None, sleep: Callable[[float], None], clock: Callable[[], float]
    ) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.sleep, self.clock = sleep, clock
        self.next_at: float | None = None

    def wait(self) -> None:
        if not self.interval:
            return
        now = self.clock()
        if self.next_at is not None and now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def send_due(
    engine: Engine,
    transport: Transport,
    *,
    sender: str,
    policy: SendPolicy | None = None,
    only_subscriber: int | None = None,
    clock: Callable[[], dt.datetime] = _utc_now,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    progress: Callable[[SendResult], None] | None = None,
) -> SendResult:
    """Send every digest due now, one at a time over one connection, until none is left.

    `sender` is the envelope address (bounces go there). With
    `only_subscriber` only that subscriber's digests go. A server that cannot
    be reached ends the run early (see `SendResult.stopped`); wrong SMTP
    settings raise SmtpSetupError. The transport is closed at the end.
    `progress` sees the counts after each digest.
    """
    run = _Run(engine, transport, sender, policy or SendPolicy(), clock, only_subscriber)
    pacer = _Pacer(run.policy.rate, sleep, monotonic)
    try:
        while True:
            pacer.wait()  # before the claim: the unsubscribe check stays right before the send
            job = run.take()
            if job is None or not run.deliver(*job):
                break
            if progress is not None:
                progress(run.result)
    finally:
        transport.close()
    return run.result


@dataclass(frozen=True, slots=True)
class PlannedDigest:
    period: str
    recipient: str
    subject: str
    message_id: str | None
    skip: str | None  # why it would be closed unsent ("unsubscribed"), None if it would go out


def plan_due(
    conn: Connection, now: dt.datetime, subscriber_id: int | None = None
) -> list[PlannedDigest]:
    """What a send now would do with each due digest, in the order it would.

    It finds them by claiming them, as a send does: call it in a transaction
    and roll that back.
    """
    planned: list[PlannedDigest] = []
    parser = BytesHeaderParser(policy=default_policy)
    lease = dt.timedelta(days=1)
    while (row := claim_next(conn, now, lease=lease, subscriber_id=subscriber_id)) is not None:
        skip, recipient = _unsendable(conn, row)
        headers = parser.parsebytes(row.message or b"")
        subject = str(headers["Subject"] or "")
        planned.append(PlannedDigest(row.period, recipient, subject, row.message_id, skip))
    return planned
