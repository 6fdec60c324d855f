"""The whole site in Debian's Chromium: a real server on loopback, a real SMTP server for the
sign-in mails, a database and a search index over recorded papers.

Built once for this folder and stopped after it: Playwright's sync API runs an event loop
on the main thread, and another test that starts its own must not find this one still
running. Each test signs in as its own reader, so tests do not see each other's votes or
collections.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.domain import Paper
from paperroute.index.sync import rebuild_index
from paperroute.ingest.sources.jsonl import read_json_file
from paperroute.store.db import make_engine, upgrade_schema
from paperroute.store.papers import upsert_papers
from paperroute.web.security import SESSION_COOKIE
from tests.conftest import FIXTURES, require_or_skip
from tests.support import WordHashEmbedder, serve_app

# Debian's package; another system can point to its own build.
CHROMIUM = Path(os.environ.get("PAPERROUTE_TEST_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium calls Google's services at start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message it is sent, parsed."""

    messages: list[EmailMessage] = field(default_factory=list[EmailMessage])
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def sign_in_link(self, to: str, base_url: str, timeout: float = 10.0) -> str:
        """The link in the newest sign-in mail to `to`, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for message in reversed(self.messages):
                    if message["To"] == to:
                        body = message.get_body(("plain",))
                        assert body is not None, message
                        text = body.get_content()
                        found = re.search(rf"{re.escape(base_url)}/signin/\S+", text)
                        assert found, f"no link to {base_url} in the mail:\n{text}"
                        return found.group(0)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no mail to {to} within {timeout} s")
                self.arrived.wait(left)


@pytest.fixture(scope="package")
def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
    """A real SMTP server on 127.0.0.1 that records what it receives."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def fixture_papers() -> list[Paper]:
    papers = list(read_json_file(FIXTURES / "papers-tiny.jsonl"))
    assert all(isinstance(p, Paper) for p in papers), papers
    return [p for p in papers if isinstance(p, Paper)]


@dataclass
class Site:
    url: str
    inbox: Inbox
    papers: list[Paper]

    @property
    def keys(self) -> list[str]:
        """The papers' keys on the site: their arXiv ids."""
        return [str(p.arxiv_id) for p in self.papers]

    def sign_in(self, page: Page, address: str) -> None:
        """Sign the page's browser in as `address` by the mailed link, without its clicks.

        The same requests a browser makes, over HTTP: quicker, and test_signin.py
        already walks the pages themselves.
        """
        with httpx.Client(base_url=self.url) as client:
            sent = client.post("/signin", data={"email": address, "csrf": _csrf(client, "/signin")})
            assert sent.status_code == 200, sent.text
            link = self.inbox.sign_in_link(address, self.url)
            done = client.post(link, data={"csrf": _csrf(client, link)})
            assert done.status_code == 303, done.text
        session = done.cookies[SESSION_COOKIE]
        page.context.add_cookies(
            [{"name": SESSION_COOKIE, "value": session, "url": self.url, "httpOnly": True,
              "sameSite": "Lax"}]
        )  # fmt: skip


def _csrf(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, f"no form with a CSRF token at {path}"
    return found.group(1)


@pytest.fixture(scope="package")
def site(
    smtp_server: tuple[Controller, Inbox], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The site over SQLite with a few dozen papers and a search index, sending real mail."""
    controller, inbox = smtp_server
    home = tmp_path_factory.mktemp("site")
    settings = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'paperroute.db'}",
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_security="none",
    )
    papers = fixture_papers()
    engine = make_engine(settings.db_url)
    upgrade_schema(engine)
    with engine.begin() as conn:
        upsert_papers(conn, papers, dt.datetime.now(dt.UTC))
    rebuild_index(engine, settings.index_root, WordHashEmbedder())
    engine.dispose()
    app = create_app(settings, embedder=WordHashEmbedder())
    with serve_app(app) as url:
        # serve_app chooses the port, so the public address for mails is known only now.
        app.state.settings = settings.model_copy(update={"base_url": url})
        yield Site(url, inbox, papers)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright cannot download its own browser here."""
    if not CHROMIUM.exists():
        require_or_skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
        except PlaywrightError as exc:
            first_line = str(exc).strip().splitlines()[0]  # the rest is the browser's log
            require_or_skip(f"Chromium at {CHROMIUM} does not start: {first_line}")
        yield browser
        browser.close()


@dataclass
class Watch:
    """What a clean page never does: ask another origin for anything, or log an error."""

    origin: str
    foreign: list[str] = field(default_factory=list[str])
    errors: list[str] = field(default_factory=list[str])
    expected: set[str] = field(default_factory=set[str])  # URLs a test means to fail

    def expect_failure(self, path: str) -> None:
        """Let the page at `path` answer with an error status, which Chromium logs."""
        self.expected.add(self.origin + path)

    def attach(self, context: BrowserContext) -> None:
        context.on("request", self._on_request)
        # Noted above, then stopped here: nothing leaves the machine, whatever a page asks.
        context.route(lambda url: not self._is_own(url), lambda route: route.abort())
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self.errors.append(f"{error.error}"))

    def _is_own(self, url: str) -> bool:
        return url == self.origin or url.startswith(self.origin + "/")

    def _on_request(self, request: Request) -> None:
        if not self._is_own(request.url):
            self.foreign.append(request.url)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        # The site has no icon yet; Chromium asks for one on its own and logs the 404.
        if where != f"{self.origin}/favicon.ico" and where not in self.expected:
            self.errors.append(f"{message.text} ({where})")


OpenTab = Callable[..., Page]


@pytest.fixture
def watch(site: Site) -> Watch:
    return Watch(site.url)


@pytest.fixture
def open_tab(browser: Browser, site: Site, watch: Watch) -> Iterator[OpenTab]:
    """Opens pages in fresh browser contexts (own cookies); each is watched, then closed.

    At the end, any request to another origin or any error on a page fails the test.
    """
    contexts: list[BrowserContext] = []

    def open_tab(viewport: dict[str, int] = DESKTOP, **options: Any) -> Page:
        context = browser.new_context(
            base_url=site.url, viewport=viewport, color_scheme="light", **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        watch.attach(context)
        contexts.append(context)
        return context.new_page()

    yield open_tab
    for context in contexts:
        context.close()
    assert not watch.foreign, f"requests to other origins: {watch.foreign}"
    assert not watch.errors, f"errors on the pages: {watch.errors}"


@pytest.fixture
def page(open_tab: OpenTab) -> Page:
    """A desktop-sized tab with its own cookies."""
    return open_tab()
