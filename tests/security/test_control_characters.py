"""NUL and other control characters are refused at the edge (a 404 in the address, a 400
naming the parameter or field), never passed to PostgreSQL, which cannot store a NUL and
answered with a 500. Run on both databases: the answer is the same."""

from __future__ import annotations

import pytest

from paperroute.store import users as user_store
from paperroute.store.api_tokens import create_api_token
from tests.security.conftest import Site


@pytest.mark.parametrize(
    "path", ["/c/a%00b", "/papers/a%00b", "/feeds/c/a%00b.rss", "/authors/a%00b", "/c/a%0Ab"]
)
def test_a_control_character_in_the_address_is_a_404(site: Site, path: str) -> None:
    response = site.client.get(path)
    assert response.status_code == 404
    assert "control character" in response.text
    assert "Traceback" not in response.text


def test_a_nul_in_the_query_names_the_parameter(site: Site) -> None:
    response = site.client.get("/", params={"category": "cs\x00LG"})
    assert response.status_code == 400
    assert "category" in response.text and "control character" in response.text
    # The API answers for its own parameters, as its schema says (here, a pattern).
    api = site.client.get("/api/v1/papers", params={"category": "a\x00"})
    assert api.status_code == 422
    assert "category" in api.json()["error"]
    # Tabs and line breaks are text, and pass.
    assert site.client.get("/search", params={"q": "graph\tneural\r\nnetworks"}).status_code in (
        200,
        503,  # no search index in these tests
    )
    site.sign_in("a@example.org")
    form = {"csrf": site.csrf("/collections"), "papers": "2503.00001\r\n2503.00002\n"}
    added = site.client.post("/for-you/interests", data=form, follow_redirects=False)
    assert added.status_code == 303


def test_a_nul_in_a_collection_name_is_refused_by_the_site_and_the_api(site: Site) -> None:
    site.sign_in("a@example.org")
    form = {"csrf": site.csrf("/collections"), "name": "Reading\x00group"}
    response = site.client.post("/collections", data=form, follow_redirects=False)
    assert response.status_code == 400
    assert "name" in response.text and "control character" in response.text
    assert "Reading" not in site.client.get("/collections").text
    with site.engine.begin() as conn:
        user = user_store.get_user_by_email(conn, "a@example.org")
        assert user is not None
        token = create_api_token(conn, user.id, "t", site.clock())
    auth = {"authorization": f"Bearer {token}"}
    created = site.client.post("/api/v1/collections", json={"name": "a\x00b"}, headers=auth)
    assert created.status_code == 422
    assert "name" in created.json()["error"]
    raw = b'{"name": "a\\u0000b"}'
    sent = site.client.post(
        "/api/v1/collections", content=raw, headers=auth | {"content-type": "application/json"}
    )
    assert sent.status_code == 422
    assert "name" in sent.json()["error"]


def test_a_nul_in_a_token_name_is_refused(site: Site) -> None:
    site.sign_in("a@example.org")
    form = {"csrf": site.csrf("/account"), "name": "laptop\x00"}
    response = site.client.post("/account/tokens", data=form)
    assert response.status_code == 400
    assert "name" in response.text and "control character" in response.text


@pytest.mark.parametrize("path", ["/signin", "/digest/subscribe"])
def test_a_nul_in_an_email_is_refused(site: Site, path: str) -> None:
    form = {"csrf": site.csrf(path), "email": "a\x00b@example.org"}
    response = site.client.post(path, data=form)
    assert response.status_code == 400
    assert "email" in response.text
    assert not site.mailbox.messages


def test_a_nul_in_a_multipart_form_field_is_refused(site: Site) -> None:
    response = site.client.post(
        "/signin",
        data={"csrf": site.csrf("/signin"), "email": "a\x00b@example.org"},
        files={"unused": ("x.txt", b"x")},
    )
    assert response.status_code == 400
    assert "email: holds a control character" in response.text
    assert not site.mailbox.messages
    # A file is bytes, NULs and all (a UTF-16 export): only its form fields are checked.
    site.sign_in("a@example.org")
    upload = site.client.post(
        "/for-you/library",
        data={"csrf": site.csrf("/collections"), "collection": "Mine"},
        files={"library": ("utf16.bib", "@article{k, title={T}}".encode("utf-16"))},
    )
    assert "control character" not in upload.text
