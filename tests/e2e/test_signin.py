"""Signing in through the link that a real mail server delivers."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Site, Watch

pytestmark = pytest.mark.e2e


def test_sign_in_through_the_emailed_link_returns_to_the_paper(page: Page, site: Site) -> None:
    key = site.keys[0]
    page.goto(f"/papers/{key}")
    page.get_by_role("link", name="Sign in to vote").click()
    page.get_by_label("Email").fill("Reader@Example.org")
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.locator("main strong")).to_have_text("reader@example.org")

    link = site.inbox.sign_in_link("reader@example.org", site.url)
    page.goto(link)
    expect(page.locator("header nav a[href='/signin']")).to_be_visible()  # not signed in yet
    page.get_by_role("button", name="Continue to paperroute").click()

    expect(page).to_have_url(f"{site.url}/papers/{key}")
    account = page.locator("header nav a[href='/account']")
    expect(account).to_have_attribute("title", "reader@example.org")
    expect(page.locator("header nav a[href='/signin']")).to_have_count(0)
    account.click()
    expect(page.locator("main")).to_contain_text("Signed in as reader@example.org")


def test_a_sign_in_link_works_once(page: Page, site: Site, watch: Watch) -> None:
    site.sign_in(page, "once@example.org")
    link = site.inbox.sign_in_link("once@example.org", site.url)
    watch.expect_failure(link.removeprefix(site.url))
    page.context.clear_cookies()
    page.goto(link)
    page.get_by_role("button", name="Continue to paperroute").click()
    expect(page.locator("main")).to_contain_text("invalid, already used or expired")
