"""API tokens expire when chosen, show their last use, are listed and revoked on the account
page; an expired or revoked token gets a 401 whose JSON says which."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from paperroute.cli import app
from paperroute.store.api_tokens import check_api_token
from paperroute.store.schema import api_tokens
from paperroute.store.users import add_user
from tests.security.conftest import Site


def _create(site: Site, expires: str, name: str = "laptop") -> str:
    form = {"csrf": site.csrf("/account"), "name": name, "expires": expires}
    page = site.client.post("/account/tokens", data=form)
    assert page.status_code == 200, page.text
    found = re.search(r'<code id="token">(pr_[^<]+)</code>', page.text)
    assert found, page.text
    return found.group(1)


def _get(site: Site, token: str) -> tuple[int, dict[str, object] | list[object]]:
    # Without the session cookie: only the token speaks for the caller.
    response = site.client.get(
        "/api/v1/collections", headers={"authorization": f"Bearer {token}", "cookie": ""}
    )
    return response.status_code, response.json()


def _last_used(site: Site) -> list[dt.datetime | None]:
    with site.engine.connect() as conn:
        return list(conn.execute(select(api_tokens.c.last_used_at)).scalars())


def test_a_token_expires_after_the_chosen_days(site: Site) -> None:
    site.sign_in("a@example.org")
    token = _create(site, "30")
    assert "expires 2026-04-19 09:00 UTC" in site.client.get("/account").text
    assert _get(site, token)[0] == 200
    site.clock.advance(days=30)
    status, body = _get(site, token)
    assert status == 401
    assert isinstance(body, dict)
    assert "expired on 2026-04-19" in str(body["error"]) and "account page" in str(body["error"])
    site.sign_in("a@example.org")  # the session has run out meanwhile
    assert "expired 2026-04-19 09:00 UTC" in site.client.get("/account").text


def test_a_token_made_to_last_never_expires(site: Site) -> None:
    site.sign_in("a@example.org")
    token = _create(site, "never")
    assert "never expires" in site.client.get("/account").text
    site.clock.advance(days=3650)
    assert _get(site, token)[0] == 200
    site.sign_in("a@example.org")
    assert "never expires" in site.client.get("/account").text


def test_tokens_are_listed_and_revoked_on_the_account_page(site: Site) -> None:
    site.sign_in("a@example.org")
    kept = _create(site, "90", "kept")
    site.clock.advance(minutes=1)
    revoked = _create(site, "90", "lost")
    page = site.client.get("/account").text
    assert "<strong>kept</strong>" in page and "<strong>lost</strong>" in page
    ids = re.findall(r'name="token" value="([0-9a-f]{64})"', page)
    assert len(ids) == 2  # newest first: "lost", then "kept"
    form = {"csrf": site.csrf("/account"), "token": ids[0]}
    done = site.client.post("/account/tokens/revoke", data=form, follow_redirects=False)
    assert done.status_code == 303
    status, body = _get(site, revoked)
    assert status == 401 and isinstance(body, dict)
    assert "revoked on 2026-03-20 09:01 UTC" in str(body["error"])
    assert _get(site, kept)[0] == 200
    assert "revoked 2026-03-20 09:01 UTC" in site.client.get("/account").text


def test_only_the_owner_revokes_a_token(site: Site) -> None:
    site.sign_in("a@example.org")
    token = _create(site, "90")
    ids = re.findall(r'name="token" value="([0-9a-f]{64})"', site.client.get("/account").text)
    site.client.cookies.clear()
    site.sign_in("b@example.org")
    form = {"csrf": site.csrf("/account"), "token": ids[0]}
    assert site.client.post("/account/tokens/revoke", data=form).status_code == 404
    assert _get(site, token)[0] == 200


def test_the_last_use_is_shown_and_written_at_most_once_a_minute(site: Site) -> None:
    site.sign_in("a@example.org")
    token = _create(site, "90")
    assert "never used" in site.client.get("/account").text
    _get(site, token)
    first = _last_used(site)
    assert first[0] is not None
    site.clock.advance(seconds=30)
    _get(site, token)
    assert _last_used(site) == first  # within the minute: no write
    site.clock.advance(seconds=31)
    _get(site, token)
    assert _last_used(site) != first
    assert "last used 2026-03-20 09:01 UTC" in site.client.get("/account").text


def test_the_cli_makes_tokens_that_expire(engine: Engine, db_url: str, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        add_user(conn, "a@example.org", now)
    env = {"PAPERROUTE_HOME": str(tmp_path), "PAPERROUTE_DATABASE_URL": db_url}
    made = CliRunner().invoke(app, ["user", "token", "a@example.org", "--days", "30"], env=env)
    assert made.exit_code == 0, made.output
    with engine.begin() as conn:
        assert check_api_token(conn, made.output.strip(), now).problem is None
        later = check_api_token(conn, made.output.strip(), now + dt.timedelta(days=31))
    assert later.problem == "expired"
