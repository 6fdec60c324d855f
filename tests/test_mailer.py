"""Outgoing mail through a real SMTP server on loopback."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from paperroute.config import Settings
from paperroute.mailer import SmtpMailer, plain_message, valid_email
from tests.support import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_a_mail_arrives_with_its_headers(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    SmtpMailer(settings).send(
        plain_message("paperroute <noreply@lab.org>", "ada@example.org", "Hello", "Body text.\n")
    )
    (got,) = inbox.messages
    assert got["To"] == "ada@example.org" and got["Subject"] == "Hello"
    assert got["Message-ID"].endswith("@lab.org>") and got["Date"]
    body = got.get_body(("plain",))
    assert body is not None and body.get_content().strip() == "Body text."


def test_newlines_never_reach_a_header() -> None:
    with pytest.raises(ValueError):
        plain_message("a@b.org", "x@y.org\r\nBcc: victim@z.org", "Hi", "body")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" Ada@Example.ORG ", "ada@example.org"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ("no-at-sign", None),
        ("a@b", None),
        ("a@-b.org", None),
        ("a b@c.org", None),
        ("a@b.org\nBcc: c@d.org", None),
        ("x" * 65 + "@b.org", None),
        ("a@" + "b" * 260 + ".org", None),
    ],
)
def test_email_addresses(text: str, expected: str | None) -> None:
    assert valid_email(text) == expected
