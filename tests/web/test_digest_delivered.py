"""A digest as a reader gets it: made, sent through a real SMTP server, its links followed."""

from __future__ import annotations

import datetime as dt
import email.policy
import re
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import cast
from urllib.parse import urlsplit

from paperroute.config import Settings
from paperroute.digest.build import build_digests
from paperroute.digest.links import subscriber_links
from paperroute.digest.send import SendPolicy, SmtpTransport, send_due
from paperroute.store.subscribers import (
    Preferences,
    Subscriber,
    add_subscriber,
    confirm_subscriber,
    get_subscriber,
)
from paperroute.store.users import signing_secret
from tests.digest.test_send import Mailbox, smtp_server
from tests.web.conftest import NOW, Site

BASE = "http://testserver"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value for name, value in attrs if tag == "a" and name == "href" and value]


def _deliver_digest(site: Site) -> tuple[Subscriber, EmailMessage]:
    """A confirmed reader following cs.LG, their digest made and sent over SMTP."""
    with site.engine.begin() as conn:
        joined = NOW - dt.timedelta(hours=2)  # a first digest has the day before joining
        reader = add_subscriber(conn, "reader@example.org", joined,
                                preferences=Preferences(categories=("cs.LG",)))  # fmt: skip
        confirm_subscriber(conn, reader.id, joined)
        secret = signing_secret(conn)

    def links(subscriber: Subscriber) -> tuple[str, str]:
        return subscriber_links(secret, BASE, subscriber.id, subscriber.email, NOW)

    settings = Settings(mail_from="Papers <digest@example.org>")
    counts = build_digests(site.engine, None, settings, NOW, links=links, base_url=BASE)
    assert counts.queued == 1
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        result = send_due(site.engine, SmtpTransport("127.0.0.1", port, security="none"),
                          sender="digest@example.org", policy=SendPolicy(rate=None))  # fmt: skip
    assert result.sent == 1 and mailbox.recipients() == ["reader@example.org"]
    parsed = email.message_from_bytes(mailbox.received[0].content, policy=email.policy.default)
    return reader, cast(EmailMessage, parsed)


def _part(message: EmailMessage, kind: str) -> str:
    body = message.get_body((kind,))
    assert body is not None
    return cast(EmailMessage, body).get_content()


def test_every_link_of_a_delivered_digest_works_on_the_running_site(site: Site) -> None:
    reader, message = _deliver_digest(site)
    parser = _Links()
    parser.feed(_part(message, "html"))
    site_links = [h for h in parser.hrefs if h.startswith(BASE)]
    text_links = set(re.findall(rf"{BASE}/\S+", _part(message, "plain")))
    papers = [h for h in site_links if "/papers/" in h]
    assert len(papers) >= 2 and set(papers) <= text_links  # the plain-text part has them too
    assert all(urlsplit(h).scheme in ("http", "https") for h in parser.hrefs)

    site.client.cookies.clear()  # a reader opens the mail anywhere, signed in or not
    for link in site_links:
        page = site.client.get(link)
        assert page.status_code == 200, link
    for link in papers:
        assert "Paper number" in site.client.get(link).text

    manage = next(h for h in site_links if "/digest/manage/" in h)
    assert "reader@example.org" in site.client.get(manage).text

    # The header link, as a mail client posts it (RFC 8058): no session, no form token.
    header = str(message["List-Unsubscribe"])
    unsubscribe = re.search(r"<(https?://[^>]+)>", header)
    assert unsubscribe and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    out = site.client.post(unsubscribe.group(1), content=b"List-Unsubscribe=One-Click",
                           headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert out.status_code == 200 and "You are unsubscribed" in out.text
    with site.engine.connect() as conn:
        left = get_subscriber(conn, reader.id)
    assert left is not None and not left.active
