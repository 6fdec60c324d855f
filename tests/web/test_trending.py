"""Trending on the site: views counted once per visitor and day, the feed's and the APIs' order."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from paperroute.store.collections import add_paper, create_collection
from paperroute.store.papers import ids_for_refs
from paperroute.store.signals import signals_for
from paperroute.store.users import add_user
from paperroute.store.votes import vote
from paperroute.web.views import ViewRecorder
from tests.web.conftest import NOW, Site

BROWSER = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}


def _views(site: Site, ref: str) -> int:
    recorder: ViewRecorder = site.client.app.state.views  # type: ignore[attr-defined]
    recorder.flush()
    with site.engine.connect() as conn:
        paper_id = ids_for_refs(conn, [ref])[ref]
        return signals_for(conn, [paper_id])[paper_id].views


def _favour(site: Site, ref: str, readers: int) -> None:
    """`readers` accounts each vote for the paper and save it."""
    with site.engine.begin() as conn:
        paper_id = ids_for_refs(conn, [ref])[ref]
        for n in range(readers):
            user = add_user(conn, f"reader{n}@example.org", NOW)
            vote(conn, user.id, paper_id, NOW)
            add_paper(conn, create_collection(conn, user.id, "mine", NOW).id, paper_id, NOW)


def _order(html: str) -> list[str]:
    return re.findall(r'<article class="paper" data-key="([^"]+)"', html)


def test_a_visitor_counts_once_a_day_however_often_the_page_is_opened(site: Site) -> None:
    for _ in range(3):  # the second and third come from the page cache: counted all the same
        assert site.client.get("/papers/2503.00003", headers=BROWSER).status_code == 200
    assert _views(site, "2503.00003") == 1
    other = {"user-agent": "Mozilla/5.0 (Macintosh) Safari/605"}
    site.client.get("/papers/2503.00003", headers=other)
    assert _views(site, "2503.00003") == 1  # another browser, the same address: the same visitor
    elsewhere = TestClient(site.client.app, client=("198.51.100.7", 50000))  # the app is running
    elsewhere.get("/papers/2503.00003", headers=BROWSER)
    site.client.get("/papers/2503.00003", headers={"user-agent": "Googlebot/2.1"})
    site.client.get("/papers/2503.00003.bib", headers={"user-agent": "Mozilla/5.0 Edge"})
    assert _views(site, "2503.00003") == 2  # robots and BibTeX downloads are not views
    site.clock.advance(days=1)
    site.client.get("/papers/2503.00003", headers=BROWSER)
    assert _views(site, "2503.00003") == 3  # a new day, a new view
    site.client.get("/papers/2503.99999", headers=BROWSER)  # no such paper: nothing to count
    assert _views(site, "2503.00003") == 3


def test_the_feed_and_both_apis_sort_by_trending(site: Site) -> None:
    # Paper 4 has 7 upvotes elsewhere; paper 3, on the same day, gets 3 votes and 3 saves (9).
    _favour(site, "2503.00003", 3)
    newest = _order(site.client.get("/?date=2026-03-20").text)
    trending = _order(site.client.get("/?date=2026-03-20&sort=trending").text)
    assert set(newest) == set(trending) == {"2503.00003", "2503.00004"}
    assert trending == ["2503.00003", "2503.00004"]
    page = site.client.get("/?date=2026-03-20&view=week&sort=trending&category=cs.LG").text
    assert _order(page) == ["2503.00004", "2503.00002", "2503.00001"]  # paper 3 is cs.CL
    assert "how trending works" in page

    api = site.client.get("/api/v1/papers", params={"sort": "trending", "since": "2026-03-18"})
    assert [p["id"] for p in api.json()["papers"]][:2] == ["2503.00003", "2503.00004"]
    hf = site.client.get("/api/daily_papers", params={"date": "2026-03-20", "sort": "trending"})
    assert [item["paper"]["id"] for item in hf.json()] == ["2503.00003", "2503.00004"]


def test_the_formula_is_on_the_site(site: Site) -> None:
    page = site.client.get("/about/trending")
    assert page.status_code == 200 and "points = 1.0 * votes + 2.0 * saves" in page.text
    category = site.client.get("/c/cs.LG").text
    assert "/?view=week&amp;sort=trending&amp;category=cs.LG" in category
