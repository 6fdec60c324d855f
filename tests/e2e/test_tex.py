"""Chromium renders the server's MathML: TeX in an abstract is typeset, not shown as $...$."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import Site

pytestmark = pytest.mark.e2e


def test_math_in_an_abstract_is_typeset(page: Page, site: Site) -> None:
    page.goto("/papers/2507.11941")  # its abstract says $O(n \log n)$
    abstract = page.locator("main p.abstract").first
    assert "$" not in abstract.inner_text()
    formulas = abstract.locator("math")
    assert formulas.count() >= 3
    # Laid out by the browser's MathML engine: real boxes, and "log" set as one operator
    # word in the formula's line, not as raw markup.
    box = formulas.first.bounding_box()
    assert box is not None and box["width"] > 20 and 5 < box["height"] < 60
    display = formulas.first.evaluate("el => getComputedStyle(el).display")
    assert display in ("inline math", "math", "inline")
    assert "log" in (formulas.first.text_content() or "")
