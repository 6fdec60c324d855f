"""Outgoing mail: SMTP when configured, else the log (a laptop needs no mail server)."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from paperroute.config import Settings

__all__ = [
    "LogMailer",
    "Mailer",
    "SmtpMailer",
    "limit_key",
    "make_mailer",
    "plain_message",
    "valid_email",
]

log = logging.getLogger("paperroute.mail")

# A plain address: a dot-atom local part (RFC 5322 atext, or letters beyond ASCII) at a
# host name. No quoted strings, comments, display names or control characters.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+"
_EMAIL = re.compile(
    rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)


def valid_email(text: str) -> str | None:
    """The address, trimmed and lower-cased, or None when it cannot be a plain address.

    RFC 2047 encoded words (`=?utf-8?q?...?=`) are refused: mail libraries decode
    them in a To: header, so one "address" could reach another inbox, or several.
    """
    email = text.strip().lower()
    local = email.rpartition("@")[0]
    if len(email) > 254 or len(local) > 64 or "=?" in email or not _EMAIL.fullmatch(email):
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in email):
        return None
    return email


def limit_key(address: str) -> str:
    """The inbox an address reaches, for rate limits: `Ann+x@ex.org` counts as `ann@ex.org`."""
    local, _, domain = address.lower().rpartition("@")
    return f"{local.split('+', 1)[0] or local}@{domain}"


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def plain_message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    """A text mail with the headers every mail needs; newlines in headers are refused."""
    message = EmailMessage()
    message["From"] = sender
    # An Address object, not a string the email package would parse (and decode) again.
    local, _, domain = to.rpartition("@")
    message["To"] = Address(username=local, domain=domain)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    message.set_content(body)
    return message


class SmtpMailer:
    """One connection per message; STARTTLS, TLS or plain, with optional login."""

    def __init__(self, settings: Settings, timeout: float = 30.0) -> None:
        assert settings.smtp_host is not None
        self.host, self.port = settings.smtp_host, settings.smtp_port
        self.security = settings.smtp_security
        self.user, self.password = settings.smtp_user, settings.smtp_password
        self.timeout = timeout

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send(self, message: EmailMessage) -> None:
        with self._connect() as smtp:
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)


class LogMailer:
    """Writes each mail to the log: the sign-in link shows in the terminal running the site."""

    def send(self, message: EmailMessage) -> None:
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        log.warning("mail to %s: %s\n%s", message["To"], message["Subject"], text)


def make_mailer(settings: Settings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else LogMailer()
