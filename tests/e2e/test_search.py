"""Searching from the box in the header: highlighted results, and a page for no results."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Site

pytestmark = pytest.mark.e2e


def test_search_from_the_header_and_open_a_result(page: Page, site: Site) -> None:
    page.goto("/")
    box = page.locator("header form.searchbox input[type=search]")
    box.fill("language models")
    box.press("Enter")
    expect(page).to_have_url(f"{site.url}/search?q=language+models")

    results = page.locator("main article.paper")
    expect(results.first).to_be_visible()
    assert results.count() > 3
    for n in range(3):  # the best results show where the words matched
        expect(results.nth(n).locator("b").first).to_be_visible()
    best = results.first
    key = best.get_attribute("data-key")
    title = best.locator("h2 a").inner_text()
    best.locator("h2 a").click()

    expect(page).to_have_url(f"{site.url}/papers/{key}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def test_words_that_match_nothing_show_no_papers_found(page: Page, site: Site) -> None:
    page.goto("/search?q=qzxvw+plorbnik&mode=lexical")
    expect(page.get_by_role("heading", name="No papers found")).to_be_visible()
    expect(page.locator("main article.paper")).to_have_count(0)
    notice = page.locator("main section.notice")
    expect(notice).to_contain_text("Nothing matches qzxvw plorbnik")
    notice.get_by_role("link", name="Search by meaning").click()
    expect(page).to_have_url(f"{site.url}/search?q=qzxvw%20plorbnik&mode=semantic")


def test_search_again_from_the_form_on_the_search_page(page: Page, site: Site) -> None:
    page.goto("/search?q=language+models")
    form = page.locator("main form.search")
    form.get_by_role("searchbox").fill("image segmentation")
    with page.expect_navigation() as arrived:
        form.get_by_role("button", name="Search").click()
    response = arrived.value
    assert response is not None and response.status == 200, response and response.url
    expect(page.locator("main article.paper").first).to_be_visible()


def test_nonsense_in_the_header_box_shows_no_papers_found(page: Page, site: Site) -> None:
    page.goto("/")
    box = page.locator("header form.searchbox input[type=search]")
    box.fill("qzxvw plorbnik")
    with page.expect_navigation():
        box.press("Enter")
    listed = page.locator("main article.paper").count()
    assert page.get_by_role("heading", name="No papers found").count() == 1, f"{listed} papers"
