"""Finding 1: links in mail never come from a request's Host, and a sign-in link works only
in the browser that asked for it (or by its code, typed there)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.store.schema import login_tokens
from paperroute.store.sign_ins import MAX_FAILED_CODES
from tests.web.conftest import Clock, Mailbox, Site

SITE = "https://papers.example.org"


def _elsewhere(site: Site) -> TestClient:
    """Another browser on the same site: no cookies. (Not entered: the site's lifespan
    already runs for the first client.)"""
    return TestClient(site.client.app, base_url="http://testserver")


@contextmanager
def _site(db_url: str, home: Path, host: str = "127.0.0.1", **settings: object) -> Iterator[Site]:
    from sqlalchemy import create_engine

    mailbox, clock = Mailbox(), Clock()
    app = create_app(
        Settings(home=home, database_url=db_url, **settings),  # type: ignore[arg-type]
        clock=clock,
        mailer=mailbox,
    )
    engine = create_engine(db_url)
    try:
        with TestClient(app, base_url=f"http://{host}") as client:
            yield Site(client, mailbox, clock, engine)
    finally:
        engine.dispose()


def _ask(site: Site, email: str, **headers: str) -> int:
    data = {"email": email, "csrf": site.csrf("/signin")}
    return site.client.post("/signin", data=data, headers=headers).status_code


def _mail_text(site: Site) -> str:
    body = site.mailbox.messages[-1].get_body(("plain",))
    assert body is not None
    return body.get_content()


def _code(site: Site) -> str:
    found = re.search(r"\b([A-Z2-9]{4}-[A-Z2-9]{4})\b", _mail_text(site))
    assert found, _mail_text(site)
    return found.group(1)


def _redeem(client: TestClient, link: str) -> int:
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    page = client.get(path)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post(path, data={"csrf": token.group(1)}, follow_redirects=False).status_code


def test_a_forged_host_is_refused_before_anything_is_mailed(site: Site) -> None:
    csrf = site.csrf("/signin")
    forged = site.client.post(
        "/signin", data={"email": "victim@example.org", "csrf": csrf},
        headers={"host": "evil.example"},
    )  # fmt: skip
    assert forged.status_code == 400 and "PAPERROUTE_BASE_URL" in forged.text
    assert site.mailbox.messages == []
    for path in ("/", "/api/daily_papers", "/feeds/daily.rss"):
        assert site.client.get(path, headers={"host": "evil.example:80"}).status_code == 400


def test_links_use_the_configured_address_whatever_the_host(db_url: str, tmp_path: Path) -> None:
    with _site(db_url, tmp_path, host="127.0.0.1:9999", base_url=SITE + "/") as site:
        assert _ask(site, "reader@example.org") == 200
        assert site.mailbox.last_link("reader@example.org").startswith(f"{SITE}/signin/")
        subscribe = {"email": "reader@example.org", "csrf": site.csrf("/digest/subscribe")}
        assert site.client.post("/digest/subscribe", data=subscribe).status_code == 200
        confirm = re.search(rf"{re.escape(SITE)}(/digest/confirm/\S+)", _mail_text(site))
        assert confirm, _mail_text(site)
        path = confirm.group(1)
        assert site.client.post(path, data={"csrf": site.csrf(path)}).status_code == 200
        # Already subscribed: the reminder's manage and unsubscribe links, from configuration too.
        subscribe["csrf"] = site.csrf("/digest/subscribe")
        assert site.client.post("/digest/subscribe", data=subscribe).status_code == 200
        reminder = _mail_text(site)
        assert f"{SITE}/digest/manage/" in reminder and f"{SITE}/digest/unsubscribe/" in reminder
        assert "127.0.0.1" not in reminder


def test_without_a_site_address_no_link_is_mailed(db_url: str, tmp_path: Path) -> None:
    with _site(db_url, tmp_path) as site:
        page = site.client.post(
            "/signin", data={"email": "reader@example.org", "csrf": site.csrf("/signin")}
        )
        assert page.status_code == 503 and "PAPERROUTE_BASE_URL" in page.text
        subscribe = {"email": "reader@example.org", "csrf": site.csrf("/digest/subscribe")}
        assert site.client.post("/digest/subscribe", data=subscribe).status_code == 503
        assert site.mailbox.messages == []
        with site.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(login_tokens)).scalar() == 0


def test_serving_on_loopback_links_to_that_address(db_url: str, tmp_path: Path) -> None:
    listen = "http://127.0.0.1:8123"
    with _site(db_url, tmp_path, host="localhost:5000", listen_url=listen) as site:
        assert _ask(site, "me@example.org") == 200
        assert site.mailbox.last_link("me@example.org").startswith(f"{listen}/signin/")
    # Listening on every address is not loopback: the Host could be anything.
    with _site(db_url, tmp_path, listen_url="http://0.0.0.0:8000") as site:
        assert _ask(site, "me@example.org") == 503


def test_other_hosts_are_trusted_only_when_configured(db_url: str, tmp_path: Path) -> None:
    with _site(db_url, tmp_path, host="papers.internal", base_url=SITE) as site:
        assert site.client.get("/").status_code == 400
    with _site(db_url, tmp_path, host="papers.internal", trusted_hosts=["papers.internal"]) as site:
        assert site.client.get("/").status_code == 200


def test_a_site_address_that_is_not_a_web_address_is_refused() -> None:
    with pytest.raises(ValidationError, match="PAPERROUTE_BASE_URL"):
        Settings(base_url="papers.example.org")


def test_a_link_works_only_in_the_browser_that_asked(site: Site) -> None:
    assert _ask(site, "reader@example.org") == 200
    link = site.mailbox.last_link("reader@example.org")
    elsewhere = _elsewhere(site)
    assert _redeem(elsewhere, link) == 400
    assert elsewhere.get("/account", follow_redirects=False).status_code == 303
    assert _redeem(site.client, link) == 303  # not spent by the attempt elsewhere
    assert "reader@example.org" in site.client.get("/account").text


def test_the_code_finishes_sign_in_in_the_browser_that_asked(site: Site) -> None:
    assert _ask(site, "reader@example.org") == 200
    code = _code(site)
    elsewhere = _elsewhere(site)
    csrf = re.search(r'name="csrf" value="([^"]+)"', elsewhere.get("/signin").text)
    assert csrf
    typed = elsewhere.post("/signin/code", data={"code": code, "csrf": csrf.group(1)})
    assert typed.status_code == 400 and "browser where you asked" in typed.text
    typed = site.client.post(
        "/signin/code", data={"code": code.lower().replace("-", " "), "csrf": site.csrf("/signin")},
        follow_redirects=False,
    )  # fmt: skip
    assert typed.status_code == 303
    assert "reader@example.org" in site.client.get("/account").text


def test_wrong_codes_revoke_the_link(site: Site) -> None:
    assert _ask(site, "reader@example.org") == 200
    code, link = _code(site), site.mailbox.last_link("reader@example.org")
    for _ in range(MAX_FAILED_CODES):
        wrong = site.client.post(
            "/signin/code", data={"code": "AAAA-AAAA", "csrf": site.csrf("/signin")}
        )
        assert wrong.status_code == 400 and "not right" in wrong.text
    right = site.client.post("/signin/code", data={"code": code, "csrf": site.csrf("/signin")})
    assert right.status_code == 400
    assert _redeem(site.client, link) == 400


def test_using_a_link_revokes_every_other_link_of_the_address(site: Site) -> None:
    assert _ask(site, "reader@example.org") == 200
    older = site.mailbox.last_link("reader@example.org")
    assert _ask(site, "reader@example.org") == 200
    newer = site.mailbox.last_link("reader@example.org")
    browser = site.client.cookies.get("pr_signin")
    assert browser
    assert _redeem(site.client, newer) == 303
    site.client.cookies.delete("pr_session")
    site.client.cookies.set("pr_signin", browser)  # the same browser, the older mail
    path = "/" + older.split("://", 1)[1].split("/", 1)[1]
    page = site.client.post(path, data={"csrf": site.csrf(path)}, follow_redirects=False)
    assert page.status_code == 400 and "already used" in page.text
