"""Outgoing mail: SMTP when configured, else the log (a laptop needs no mail server)."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from paperroute.config import Settings

__all__ = ["LogMailer", "Mailer", "SmtpMailer", "make_mailer", "plain_message", "valid_email"]

log = logging.getLogger("paperroute.mail")

_EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def valid_email(text: str) -> str | None:
    """The address, trimmed and lower-cased, or None when it cannot be an address."""
    email = text.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        return None
    return email


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def plain_message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    """A text mail with the headers every mail needs; newlines in headers are refused."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to  # the email package rejects CR/LF in header values
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
