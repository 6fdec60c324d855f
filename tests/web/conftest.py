"""A site over a real database with a few papers, a mailbox that keeps what it is sent,
and a clock the tests move."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.domain import Paper
from paperroute.ingest.normalize import build_paper
from paperroute.store.papers import upsert_papers
from paperroute.store.users import add_user

NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)


def make_paper(n: int, day: str, cats: list[str], **fields: object) -> Paper:
    record: dict[str, object] = {
        "title": f"Paper number {n}",
        "abstract": f"Abstract of paper {n} about graph neural networks.",
        "authors": ["Ada Lovelace", "Alan Turing"],
    }
    return build_paper(source="t", arxiv_id=f"2503.{n:05d}", categories=cats, announced=day,
                       **(record | fields))  # type: ignore[arg-type]  # fmt: skip


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list[EmailMessage])

    def send(self, message: EmailMessage) -> None:
        self.messages.append(message)

    def last_link(self, to: str) -> str:
        for message in reversed(self.messages):
            if message["To"] == to.lower():
                body = message.get_body(("plain",))
                assert body is not None
                found = re.search(r"https?://\S+/signin/\S+", body.get_content())
                assert found, body.get_content()
                return found.group(0)
        raise AssertionError(f"no mail to {to}")


@dataclass
class Clock:
    now: dt.datetime = NOW

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class Site:
    client: TestClient
    mailbox: Mailbox
    clock: Clock
    engine: Engine

    def csrf(self, path: str = "/signin") -> str:
        page = self.client.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text) or re.search(
            r'data-csrf="([^"]+)"', page.text
        )
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def sign_in(self, email: str, *, admin: bool = False) -> None:
        """The whole flow: ask for a link, open it from the mail, confirm."""
        if admin:
            with self.engine.begin() as conn:
                add_user(conn, email, self.clock(), is_admin=True)
        sent = self.client.post("/signin", data={"email": email, "csrf": self.csrf("/signin")})
        assert sent.status_code == 200, sent.text
        link = self.mailbox.last_link(email)
        path = link.split("://", 1)[1].split("/", 1)[1]
        confirm = self.client.get("/" + path)
        token = re.search(r'name="csrf" value="([^"]+)"', confirm.text)
        assert token
        done = self.client.post("/" + path, data={"csrf": token.group(1)}, follow_redirects=False)
        assert done.status_code == 303, done.text


def seed_papers() -> list[Paper]:
    return [
        make_paper(1, "2026-03-18", ["cs.LG"]),
        make_paper(2, "2026-03-19", ["cs.CV", "cs.LG"], code_url="https://github.com/a/b"),
        make_paper(3, "2026-03-20", ["cs.CL"]),
        make_paper(4, "2026-03-20", ["cs.LG"], upvotes=7),
    ]


@pytest.fixture
def site(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Site]:
    with engine.begin() as conn:
        upsert_papers(conn, seed_papers(), NOW - dt.timedelta(days=1))
    mailbox, clock = Mailbox(), Clock()
    settings = Settings(home=tmp_path, database_url=db_url, base_url="http://testserver")
    app = create_app(settings, clock=clock, mailer=mailbox)
    with TestClient(app, base_url="http://testserver") as client:
        yield Site(client, mailbox, clock, engine)
