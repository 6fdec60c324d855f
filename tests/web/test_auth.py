"""Signing in by emailed link: single use, expiring, stored hashed; sessions; sign out."""

from __future__ import annotations

import re

from sqlalchemy import select

from paperroute.store.schema import login_tokens
from tests.web.conftest import Site


def test_sign_in_by_link_then_sign_out(site: Site) -> None:
    site.sign_in("Reader@Example.org")
    account = site.client.get("/account")
    assert account.status_code == 200 and "reader@example.org" in account.text
    csrf = site.csrf("/account")
    out = site.client.post("/signout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert (
        site.client.get("/account", follow_redirects=False)
        .headers["location"]
        .startswith("/signin?next=/account")
    )


def test_link_is_single_use_and_stored_hashed(site: Site) -> None:
    site.client.post("/signin", data={"email": "a@b.org", "csrf": site.csrf("/signin")})
    link = site.mailbox.last_link("a@b.org")
    token = link.rsplit("/", 1)[1]
    with site.engine.connect() as conn:
        stored = list(conn.execute(select(login_tokens.c.token_hash)).scalars())
    assert stored and token not in stored  # only a hash
    path = "/signin/" + token
    csrf = site.csrf(path)
    assert site.client.post(path, data={"csrf": csrf}, follow_redirects=False).status_code == 303
    site.client.cookies.delete("pr_session")
    again = site.client.post(path, data={"csrf": csrf}, follow_redirects=False)
    assert again.status_code == 400 and "already used or expired" in again.text


def test_link_expires_after_15_minutes(site: Site) -> None:
    site.client.post("/signin", data={"email": "late@b.org", "csrf": site.csrf("/signin")})
    path = "/signin/" + site.mailbox.last_link("late@b.org").rsplit("/", 1)[1]
    csrf = site.csrf(path)
    site.clock.advance(minutes=16)
    assert site.client.post(path, data={"csrf": csrf}).status_code == 400
    assert site.client.get("/account", follow_redirects=False).status_code == 303


def test_opening_the_link_does_not_spend_it(site: Site) -> None:
    """Mail scanners open links; only the confirming POST signs in."""
    site.client.post("/signin", data={"email": "scan@b.org", "csrf": site.csrf("/signin")})
    path = "/signin/" + site.mailbox.last_link("scan@b.org").rsplit("/", 1)[1]
    for _ in range(3):
        assert site.client.get(path).status_code == 200
    csrf = site.csrf(path)
    assert site.client.post(path, data={"csrf": csrf}, follow_redirects=False).status_code == 303


def test_bad_addresses_are_refused_with_a_clear_message(site: Site) -> None:
    for bad in ["not-an-email", "a@b", "x" * 300 + "@b.org", "a@b.org\r\nBcc: victim@c.org"]:
        page = site.client.post("/signin", data={"email": bad, "csrf": site.csrf("/signin")})
        assert page.status_code == 400 and "does not look like an email address" in page.text
    assert site.mailbox.messages == []


def test_forms_without_a_valid_csrf_token_are_refused(site: Site) -> None:
    site.client.get("/signin")
    for token in [None, "forged", ""]:
        data = {"email": "a@b.org"} | ({"csrf": token} if token is not None else {})
        page = site.client.post("/signin", data=data)
        assert page.status_code == 403
    assert site.mailbox.messages == []


def test_sign_in_mails_are_rate_limited_per_address(site: Site) -> None:
    statuses = [
        site.client.post(
            "/signin", data={"email": "victim@b.org", "csrf": site.csrf("/signin")}
        ).status_code
        for _ in range(8)
    ]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
    assert len(site.mailbox.messages) == 5
    site.clock.advance(minutes=16)  # a new window
    again = site.client.post(
        "/signin", data={"email": "victim@b.org", "csrf": site.csrf("/signin")}
    )
    assert again.status_code == 200


def test_next_path_never_leaves_the_site(site: Site) -> None:
    page = site.client.get("/signin?next=//evil.example/x")
    assert re.search(r'name="next" value="/"', page.text)


def test_forged_session_cookie_is_ignored(site: Site) -> None:
    site.client.cookies.set("pr_session", "abc.def")
    assert site.client.get("/account", follow_redirects=False).status_code == 303


def test_pages_send_security_headers(site: Site) -> None:
    response = site.client.get("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "pr_csrf=" in response.headers.get("set-cookie", "")
