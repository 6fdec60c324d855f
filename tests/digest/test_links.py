"""Signed digest links: bound to purpose, subscriber and address; expiring, except unsubscribe."""

from __future__ import annotations

import datetime as dt

import pytest

from paperroute.digest.links import (
    CONFIRM_TTL,
    MANAGE_TTL,
    LinkError,
    confirm_url,
    make_token,
    subscriber_links,
    token_subscriber_id,
    verify_token,
)

SECRET = "s3cret-for-tests"
NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)


def test_a_token_verifies_for_its_purpose_subscriber_and_address() -> None:
    token = make_token(SECRET, "manage", 42, "Reader@Example.org", NOW)
    assert token_subscriber_id(token) == 42
    assert verify_token(SECRET, "manage", token, email="reader@example.org", now=NOW) == 42


@pytest.mark.parametrize(
    ("purpose", "email", "secret"),
    [
        ("unsubscribe", "reader@example.org", SECRET),  # another purpose
        ("confirm", "reader@example.org", SECRET),
        ("manage", "other@example.org", SECRET),  # the id now belongs to someone else
        ("manage", "reader@example.org", "another-site"),
    ],
)
def test_a_token_is_refused_for_anything_else(purpose: str, email: str, secret: str) -> None:
    token = make_token(SECRET, "manage", 42, "reader@example.org", NOW)
    with pytest.raises(LinkError) as caught:
        verify_token(secret, purpose, token, email=email, now=NOW)  # type: ignore[arg-type]
    assert not caught.value.expired and "not valid" in str(caught.value)


def test_tampered_tokens_are_refused() -> None:
    token = make_token(SECRET, "unsubscribe", 42, "reader@example.org", NOW)
    sid, expires, mac = token.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    longer = str(int(expires) + 10**9)
    for bad in [
        f"43.{expires}.{mac}",  # someone else's id
        f"{sid}.{longer}.{mac}",  # a later expiry
        f"{sid}.{expires}.{flipped}",
        f"042.{expires}.{mac}",  # another spelling of the same id
        f"+42.{expires}.{mac}",
        f"{sid}.{expires}.{mac}=",
        f"\u0664\u0662.{expires}.{mac}",  # Arabic-Indic digits that int() would accept
        "",
        "x" * 500,
        token + "\n",
    ]:
        with pytest.raises(LinkError):
            verify_token(SECRET, "unsubscribe", bad, email="reader@example.org", now=NOW)


def test_confirm_and_manage_links_expire_and_unsubscribe_links_never_do() -> None:
    confirm = make_token(SECRET, "confirm", 7, "a@b.org", NOW)
    manage = make_token(SECRET, "manage", 7, "a@b.org", NOW)
    unsubscribe = make_token(SECRET, "unsubscribe", 7, "a@b.org", NOW)
    just_before = NOW + CONFIRM_TTL - dt.timedelta(seconds=1)
    assert verify_token(SECRET, "confirm", confirm, email="a@b.org", now=just_before) == 7
    with pytest.raises(LinkError) as caught:
        verify_token(SECRET, "confirm", confirm, email="a@b.org", now=NOW + CONFIRM_TTL)
    assert caught.value.expired and "expired" in str(caught.value)
    later = NOW + MANAGE_TTL - dt.timedelta(days=1)
    assert verify_token(SECRET, "manage", manage, email="a@b.org", now=later) == 7
    with pytest.raises(LinkError):
        verify_token(SECRET, "manage", manage, email="a@b.org", now=NOW + MANAGE_TTL)
    decades = NOW + dt.timedelta(days=365 * 30)
    assert verify_token(SECRET, "unsubscribe", unsubscribe, email="a@b.org", now=decades) == 7


def test_urls_for_the_renderer() -> None:
    links = subscriber_links(SECRET, "https://papers.example.org/", 5, "a@b.org", NOW)
    unsubscribe_url, manage_url = links
    assert unsubscribe_url.startswith("https://papers.example.org/digest/unsubscribe/5.0.")
    assert manage_url.startswith("https://papers.example.org/digest/manage/5.")
    token = manage_url.rsplit("/", 1)[1]
    assert verify_token(SECRET, "manage", token, email="a@b.org", now=NOW) == 5
    url = confirm_url(SECRET, "http://localhost:8000", 5, "a@b.org", NOW)
    assert url.startswith("http://localhost:8000/digest/confirm/5.")
    # Links are made fresh for each digest; the same inputs give the same link.
    assert subscriber_links(SECRET, "https://papers.example.org", 5, "a@b.org", NOW) == links
