"""What signed-in readers do: vote, dismiss, collect, submit; what admins do: hide."""

from __future__ import annotations

import re

from fastapi import FastAPI
from pytest_httpserver import HTTPServer

from paperroute.config import Settings
from tests.conftest import FIXTURES
from tests.web.conftest import Site


def _post(site: Site, path: str, page: str = "/signin", **data: str) -> int:
    response = site.client.post(
        path, data={"csrf": site.csrf(page), **data}, follow_redirects=False
    )
    return response.status_code


def _votes_shown(site: Site, key: str) -> int:
    page = site.client.get(f"/papers/{key}").text
    found = re.search(r'class="votebtn[^"]*"[^>]*>▲ <span class="n">(\d+)</span>', page)
    assert found, page
    return int(found.group(1))


def test_one_vote_per_reader_and_undo(site: Site) -> None:
    site.sign_in("a@example.org")
    for _ in range(3):
        assert _post(site, "/papers/2503.00003/vote") == 303
    assert _votes_shown(site, "2503.00003") == 1
    site.client.cookies.clear()
    site.sign_in("b@example.org")
    assert _post(site, "/papers/2503.00003/vote") == 303
    assert _votes_shown(site, "2503.00003") == 2
    assert _post(site, "/papers/2503.00003/vote", undo="true") == 303
    assert _votes_shown(site, "2503.00003") == 1


def test_vote_answers_json_to_the_page_script(site: Site) -> None:
    site.sign_in("a@example.org")
    response = site.client.post(
        "/papers/2503.00004/vote",
        data={"csrf": site.csrf()},
        headers={"accept": "application/json"},
    )
    assert response.json() == {"voted": True, "votes": 8}  # 7 outside upvotes + this one


def test_voting_needs_a_session_and_a_token(site: Site) -> None:
    assert _post(site, "/papers/2503.00003/vote") in (401, 303)
    site.sign_in("a@example.org")
    forged = site.client.post("/papers/2503.00003/vote", data={"csrf": "x"})
    assert forged.status_code == 403
    assert _votes_shown(site, "2503.00003") == 0


def test_trending_sort_puts_voted_papers_first(site: Site) -> None:
    site.sign_in("a@example.org")
    _post(site, "/papers/2503.00001/vote")
    page = site.client.get("/?view=month&sort=trending").text
    order = re.findall(r'data-key="(2503\.\d+)"', page)
    assert order[:2] == ["2503.00004", "2503.00001"]  # 7 upvotes, then 1 vote


def test_not_interested_leaves_the_readers_lists(site: Site) -> None:
    site.sign_in("a@example.org")
    assert "Paper number 3" in site.client.get("/").text
    _post(site, "/papers/2503.00003/dismiss")
    assert "Paper number 3" not in site.client.get("/").text
    _post(site, "/papers/2503.00003/dismiss", undo="true")
    assert "Paper number 3" in site.client.get("/").text


def test_collections_create_rename_export_delete(site: Site) -> None:
    site.sign_in("a@example.org")
    assert _post(site, "/collections", name="Reading group", paper="2503.00002") == 303
    listing = site.client.get("/collections").text
    collection_id = re.search(r'href="/collections/(\d+)">Reading group', listing)
    assert collection_id, listing
    cid = collection_id.group(1)
    assert "Paper number 2" in site.client.get(f"/collections/{cid}").text
    assert _post(site, f"/collections/{cid}/papers", paper="2503.00003") == 303
    bib = site.client.get(f"/collections/{cid}/bibtex")
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert bib.text.count("@misc{") == 2 and "eprint = {2503.00002}" in bib.text
    assert _post(site, f"/collections/{cid}/edit", name="Group") == 303
    assert ">Group</a>" in site.client.get("/collections").text
    assert _post(site, f"/collections/{cid}/papers", paper="2503.00003", remove="true") == 303
    assert "Paper number 3" not in site.client.get(f"/collections/{cid}").text
    assert _post(site, f"/collections/{cid}/delete") == 303
    assert site.client.get(f"/collections/{cid}").status_code == 404


def test_private_collections_stay_private(site: Site) -> None:
    site.sign_in("owner@example.org")
    _post(site, "/collections", name="Secret plans", paper="2503.00001")
    cid = re.search(r'/collections/(\d+)">Secret', site.client.get("/collections").text)
    assert cid
    path = f"/collections/{cid.group(1)}"
    site.client.cookies.clear()
    for probe in (path, path + "/bibtex"):
        response = site.client.get(probe)
        assert response.status_code == 404 and "Secret plans" not in response.text
    site.sign_in("other@example.org")
    assert site.client.get(path).status_code == 404
    for action, data in (("/edit", {"name": "Mine now"}), ("/delete", {}),
                         ("/papers", {"paper": "2503.00002"})):  # fmt: skip
        assert _post(site, path + action, **data) == 404
    site.client.cookies.clear()
    site.sign_in("owner@example.org")
    assert ">Secret plans</a>" in site.client.get("/collections").text
    _post(site, path + "/edit", name="Secret plans", public="true")
    site.client.cookies.clear()
    assert site.client.get(path).status_code == 200


def test_only_admins_hide_papers(site: Site) -> None:
    site.sign_in("reader@example.org")
    assert _post(site, "/papers/2503.00003/hide") == 403
    site.client.cookies.clear()
    site.sign_in("admin@example.org", admin=True)
    assert _post(site, "/papers/2503.00003/hide") == 303
    assert "Paper number 3" not in site.client.get("/").text
    assert "Hidden by an admin" in site.client.get("/papers/2503.00003").text
    site.client.cookies.clear()
    assert site.client.get("/papers/2503.00003").status_code == 404
    assert "Paper number 3" not in site.client.get("/c/cs.CL").text


def test_papers_stored_since_the_last_visit_are_marked_new(site: Site) -> None:
    from paperroute.store.papers import upsert_papers
    from tests.web.conftest import make_paper

    site.sign_in("a@example.org")
    assert 'class="new"' not in site.client.get("/").text
    site.clock.advance(hours=2)
    with site.engine.begin() as conn:
        upsert_papers(conn, [make_paper(9, "2026-03-20", ["cs.LG"])], site.clock())
    site.clock.advance(hours=2)  # a new visit: what came after the last one is new
    page = site.client.get("/").text
    marked = re.findall(
        r'data-key="(2503\.\d+)"[^<]*<div class="vote">.*?<h2>(.*?)</h2>', page, re.S
    )
    new = [key for key, heading in marked if 'class="new"' in heading]
    assert new == ["2503.00009"]


def test_submit_fetches_a_paper_from_arxiv(site: Site, httpserver: HTTPServer) -> None:
    feed = FIXTURES / "arxiv-api" / "id_quant-ph_0201082v1_s0_m100_86989fe779ef.xml"
    httpserver.expect_request("/api/query").respond_with_data(
        feed.read_bytes(), content_type="application/atom+xml"
    )
    app: FastAPI = site.client.app  # type: ignore[assignment]
    settings: Settings = app.state.settings
    app.state.settings = settings.model_copy(
        update={"arxiv_api_url": httpserver.url_for("").rstrip("/")}
    )
    site.sign_in("a@example.org")
    done = site.client.post(
        "/submit",
        data={"csrf": site.csrf("/submit"), "paper": "https://arxiv.org/abs/quant-ph/0201082v1"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/papers/quant-ph/0201082"
    assert site.client.get("/papers/quant-ph/0201082").status_code == 200
    bad = site.client.post("/submit", data={"csrf": site.csrf("/submit"), "paper": "hello"})
    assert bad.status_code == 400 and "is not an arXiv id" in bad.text


def test_paper_bibtex_downloads(site: Site) -> None:
    response = site.client.get("/papers/2503.00002.bib")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.startswith("@misc{lovelace2026paper,")


def test_a_day_whose_papers_are_all_hidden_is_not_the_newest_day(site: Site) -> None:
    site.sign_in("admin@example.org", admin=True)
    for key in ("2503.00003", "2503.00004"):  # all of March 20
        assert _post(site, f"/papers/{key}/hide") == 303
    site.client.cookies.clear()
    page = site.client.get("/").text
    assert "Thursday, March 19, 2026" in page and "Paper number 2" in page
