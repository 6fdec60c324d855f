"""`POST /for-you/interests`: a pasted BibTeX cannot flood the log or the CPU, nor can posts."""

from __future__ import annotations

import logging

import pytest

from paperroute.web.for_you import MAX_BIBTEX, POSTS_PER_USER
from tests.security.conftest import Site


def _paste(site: Site, **fields: str) -> tuple[int, str]:
    form = {"csrf": site.csrf("/collections"), **fields}
    response = site.client.post("/for-you/interests", data=form, follow_redirects=False)
    return response.status_code, response.text


def test_broken_bibtex_writes_no_log_lines(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    site.sign_in("a@example.org")
    caplog.set_level(logging.DEBUG)  # everything that reaches the root logger
    caplog.clear()
    status, _ = _paste(site, bibtex="@a{" * 200)  # 200 broken entries: within the limits
    assert status == 303
    lines = sum(r.getMessage().count("\n") + 1 for r in caplog.records)
    assert lines < 5, [r.name for r in caplog.records][:5]


def test_the_flooding_paste_is_refused_with_the_limit(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    site.sign_in("a@example.org")
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    status, page = _paste(site, bibtex="@a{" * 66666)
    assert status == 400
    assert "66,666 entries" in page and "at most 200 entries" in page
    assert "Paste fewer entries at a time" in page
    assert len(caplog.records) < 5


def test_a_paste_over_the_character_limit_is_refused(site: Site) -> None:
    site.sign_in("a@example.org")
    entry = "@article{k, title={%s}}" % ("x" * MAX_BIBTEX)
    status, page = _paste(site, bibtex=entry)
    assert status == 400
    assert f"{MAX_BIBTEX:,} characters" in page
    assert "Your own papers as BibTeX" in page  # the form is there to paste again


def test_posts_past_the_rate_limit_are_refused(site: Site) -> None:
    site.sign_in("a@example.org")
    for _ in range(POSTS_PER_USER):
        assert _paste(site, categories="cs.LG")[0] == 303
    status, page = _paste(site, categories="cs.LG")
    assert status == 429
    assert "wait" in page
