"""The main pages at desktop and phone widths: saved as PNG files for people to look at,
and checked for what a machine can see (no sideways scrolling, no other origins, no errors)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, OpenTab, Site, Watch

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots"
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}


def pages_to_shoot(page: Page, site: Site) -> dict[str, str]:
    """Name and path of each main page, for a reader with one collection."""
    key = site.keys[2]
    page.goto(f"/papers/{key}")
    page.get_by_placeholder("New collection").fill("Good reads")
    page.get_by_role("button", name="Add").click()
    expect(page.locator("form.js-collect button")).to_have_attribute("aria-pressed", "true")
    page.goto("/collections")
    collection = page.get_by_role("link", name="Good reads").get_attribute("href")
    return {
        "front": "/",
        "paper": f"/papers/{key}",
        "paper-math": "/papers/2507.11941",  # TeX in its abstract
        "search": "/search?q=language+models",
        "search-typo": "/search?q=langauge+modles+trasnformer",
        "collections": "/collections",
        "collection": str(collection),
        "for-you": "/for-you",
        "private-feeds": "/account/feeds",
        "account": "/account",
        "no-results": "/search?q=qzxvw+plorbnik&mode=lexical",
    }


def test_main_pages_at_desktop_and_phone_widths(
    open_tab: OpenTab, site: Site, watch: Watch
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    first = open_tab(DESKTOP)
    site.sign_in(first, "looker@example.org")
    paths = pages_to_shoot(first, site)
    signed_in = first.context.storage_state()
    for width, viewport in WIDTHS.items():
        page = open_tab(viewport, storage_state=signed_in)
        for name, path in paths.items():
            page.goto(path)
            expect(page.locator("header nav a[href='/account']")).to_be_visible()
            page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} at {width} width scrolls sideways by {overflow} px"
    assert not watch.foreign, f"requests to other origins: {watch.foreign}"
    assert not watch.errors, f"errors on the pages: {watch.errors}"
