"""What a reader does on the lists and paper pages: vote, collect, move by keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import Site

pytestmark = pytest.mark.e2e


def count_of(button: Locator) -> int:
    return int(button.locator("span.n").inner_text())


def test_vote_on_the_front_page_in_place_then_take_it_back(page: Page, site: Site) -> None:
    site.sign_in(page, "voter@example.org")
    page.goto("/")
    key = page.locator("main article.paper").first.get_attribute("data-key")
    button = page.locator(f'main article.paper[data-key="{key}"] form.js-vote button.votebtn')
    before = count_of(button)
    expect(button).to_have_attribute("aria-pressed", "false")
    page.evaluate("window.stillHere = true")  # gone if the vote reloaded the page

    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button.locator("span.n")).to_have_text(str(before + 1))
    expect(button).to_have_class(re.compile(r"\bon\b"))
    assert page.evaluate("window.stillHere") is True

    page.reload()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button.locator("span.n")).to_have_text(str(before + 1))

    button.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(button.locator("span.n")).to_have_text(str(before))
    expect(button).not_to_have_class(re.compile(r"\bon\b"))
    page.reload()
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(button.locator("span.n")).to_have_text(str(before))


def test_collect_a_paper_into_a_new_collection(page: Page, site: Site) -> None:
    key, title = site.keys[1], site.papers[1].title
    site.sign_in(page, "collector@example.org")
    page.goto(f"/papers/{key}")
    section = page.locator("section.collect")
    section.get_by_placeholder("New collection").fill("Reading list")
    section.get_by_role("button", name="Add").click()
    chip = section.locator("form.js-collect button")
    expect(chip).to_have_text("✓ Reading list")
    expect(chip).to_have_attribute("aria-pressed", "true")

    page.locator("header nav").get_by_role("link", name="Collections").click()
    expect(page).to_have_url(f"{site.url}/collections")
    entry = page.locator("ul.collections li", has_text="Reading list")
    expect(entry).to_contain_text(re.compile(r"\b1 papers?\b"))
    entry.get_by_role("link", name="Reading list").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reading list")
    paper = page.locator(f'main article.paper[data-key="{key}"]')
    expect(paper.locator("h2")).to_have_text(title)

    # Out again with the chip, in place, and the collection is empty.
    paper.locator("h2 a").click()
    chip.click()
    expect(chip).to_have_text("+ Reading list")
    expect(chip).to_have_attribute("aria-pressed", "false")
    page.goto("/collections")
    expect(page.locator("ul.collections li", has_text="Reading list")).to_contain_text("0 papers")


def test_keys_move_down_the_list_and_open_a_paper(page: Page, site: Site) -> None:
    page.goto("/")
    keys = page.locator("main article.paper[data-key]").evaluate_all(
        "papers => papers.map(p => p.dataset.key)"
    )
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator("main article.paper.focused")).to_have_attribute("data-key", keys[1])
    page.keyboard.press("o")
    expect(page).to_have_url(f"{site.url}/papers/{keys[1]}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
