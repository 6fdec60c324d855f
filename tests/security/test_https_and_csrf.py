"""Finding 15: HSTS when served over HTTPS, and a signed-in reader's forms need a token
bound to their session, not only to the CSRF cookie."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.store.users import signing_secret
from paperroute.web.security import csrf_token_for
from tests.web.conftest import Site


def test_hsts_is_sent_only_with_secure_cookies(db_url: str, tmp_path: Path) -> None:
    for secure in (True, False):
        settings = Settings(home=tmp_path, database_url=db_url, secure_cookies=secure)
        with TestClient(create_app(settings), base_url="https://127.0.0.1") as client:
            headers = client.get("/").headers
            assert ("strict-transport-security" in headers) is secure
            if secure:
                assert "max-age=31536000" in headers["strict-transport-security"]


def test_a_token_for_the_cookie_alone_does_not_pass_once_signed_in(site: Site) -> None:
    site.sign_in("reader@example.org")
    cookie = site.client.cookies.get("pr_csrf")
    assert cookie
    with site.engine.connect() as conn:
        secret = signing_secret(conn)
    # What a page fetched without the session (or a planted cookie) would carry.
    unbound = csrf_token_for(secret, cookie)
    out = site.client.post("/signout", data={"csrf": unbound}, follow_redirects=False)
    assert out.status_code == 403
    assert site.client.get("/account").status_code == 200  # still signed in
    out = site.client.post("/signout", data={"csrf": site.csrf("/account")}, follow_redirects=False)
    assert out.status_code == 303
