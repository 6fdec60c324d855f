"""Every page number, offset and id in an address is bounded: a huge one is a 400 or 404
with a sentence, never a 500 (OverflowError on SQLite, bigint out of range on PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.security.conftest import Site

HUGE = [2**63, 10**30]
ROUTES = [
    "/?page={n}",
    "/c/cs.LG?page={n}",
    "/authors/Ada%20Lovelace?page={n}",
    "/added?page={n}",
    "/search?q=graph&page={n}",
    "/collections/1?page={n}",
    "/api/v1/papers?offset={n}",
    "/api/v1/collections/1?offset={n}",
    "/api/daily_papers?p={n}",
]


@pytest.mark.parametrize("n", HUGE)
@pytest.mark.parametrize("route", ROUTES)
def test_a_huge_page_is_refused_with_a_sentence(site: Site, route: str, n: int) -> None:
    name = route.rsplit("?", 1)[1].split("&")[-1].split("=")[0]
    response = site.client.get(route.format(n=n))
    assert response.status_code in (400, 404, 422), response.text
    if route.startswith("/api/"):
        assert name in response.json()["error"]
    else:
        assert f"{name}: " in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/collections/{n}",
        "/collections/{n}/bibtex",
        "/api/v1/collections/{n}",
        "/feeds/collections/{n}.rss",
    ],
)
def test_a_huge_collection_id_is_not_found(site: Site, path: str) -> None:
    response = site.client.get(path.format(n=10**30))
    assert response.status_code in (400, 404, 422), response.text


def test_the_last_page_still_answers(site: Site) -> None:
    for route in ("/c/cs.LG?page=10000", "/authors/Ada%20Lovelace?page=10000", "/added?page=10000"):
        assert site.client.get(route).status_code == 200
