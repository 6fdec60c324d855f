"""Hugging Face daily papers, fetched through the real PoliteClient from a local server."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from paperroute.domain import Checkpoint, Paper, Rejected, SourceItem
from paperroute.ingest.http import PoliteClient
from paperroute.ingest.sources.errors import SourceError
from paperroute.ingest.sources.hf_daily import fetch_hf_daily

FIXTURES = Path(__file__).parents[2] / "fixtures" / "hf-daily"
DAY1, DAY2 = dt.date(2025, 3, 18), dt.date(2025, 3, 19)
PATH = "/api/daily_papers"


def _fixture(day: dt.date) -> bytes:
    return (FIXTURES / f"daily_papers-{day.isoformat()}.json").read_bytes()


def _serve(httpserver: HTTPServer, day: dt.date, body: bytes | None = None) -> None:
    httpserver.expect_request(PATH, query_string={"date": day.isoformat()}).respond_with_data(
        _fixture(day) if body is None else body, content_type="application/json"
    )


def _fetch(httpserver: HTTPServer, client: PoliteClient, *days: dt.date) -> list[SourceItem]:
    base = httpserver.url_for("/").rstrip("/")
    return list(fetch_hf_daily(client, base_url=base, days=days))


def _url(httpserver: HTTPServer, day: dt.date) -> str:
    return httpserver.url_for(PATH) + f"?date={day.isoformat()}"


def _one_item(**paper: Any) -> bytes:
    fields: dict[str, Any] = {"id": "2503.11731", "title": "A title", "summary": "An abstract."}
    fields.update(paper)
    return json.dumps([{"paper": fields, "publishedAt": "2025-03-18T02:11:40.512Z"}]).encode()


def test_two_days_with_a_checkpoint_after_each(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    _serve(httpserver, DAY1)
    _serve(httpserver, DAY2)
    items = _fetch(httpserver, client, DAY1, DAY2)
    kinds = [type(item).__name__ for item in items]
    assert kinds == [
        "Paper", "Paper", "Paper", "Checkpoint",
        "Paper", "Rejected", "Rejected", "Paper", "Checkpoint",
    ]  # fmt: skip
    assert items[3] == Checkpoint("2025-03-18")
    assert items[-1] == Checkpoint("2025-03-19")


def test_fields_are_mapped(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve(httpserver, DAY1)
    paper = _fetch(httpserver, client, DAY1)[0]
    assert isinstance(paper, Paper)
    assert paper.source == "hf-daily"
    assert paper.arxiv_id == "2503.11731"
    assert paper.title.startswith("Industrial-Grade Sensor Simulation via Gaussian Splatting")
    assert paper.abstract.startswith("Sensor simulation is pivotal for scalable validation")
    assert "\n" not in paper.abstract
    assert len(paper.authors) == 16
    assert paper.authors[:2] == ("Xianming Zeng", "Sicong Du")
    assert paper.submitted == dt.date(2025, 3, 14)  # paper.publishedAt: on arXiv
    assert paper.announced == DAY1  # the day asked for, the day it was on the list
    assert paper.upvotes == 27
    assert paper.github_stars == 143
    assert paper.code_url == "https://github.com/example-org/gs-sensor-sim"
    assert paper.project_url == "https://example-org.github.io/gs-sensor-sim/"
    assert paper.versions == ()


def test_hidden_authors_are_still_authors(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve(httpserver, DAY1)
    paper = _fetch(httpserver, client, DAY1)[1]
    assert isinstance(paper, Paper)
    assert paper.authors[:3] == ("Moreno D'Incà", "Elia Peruzzo", "Xingqian Xu")
    assert paper.code_url is None and paper.project_url is None and paper.github_stars is None


def test_malformed_items_are_rejected_and_the_rest_goes_on(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    _serve(httpserver, DAY2)
    items = _fetch(httpserver, client, DAY2)
    url = _url(httpserver, DAY2)
    assert items[1] == Rejected(f"{url} item 2", "no `paper` object")
    assert items[2] == Rejected(f"{url} item 3", "no paper.id (the arXiv id)")
    assert isinstance(items[3], Paper) and items[3].arxiv_id == "2503.13652"


def test_javascript_project_page_is_dropped(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve(httpserver, DAY2)
    paper = _fetch(httpserver, client, DAY2)[3]
    assert isinstance(paper, Paper)
    assert paper.project_url is None
    assert paper.code_url == "https://github.com/example-org/web-artifact-attacks"


def test_a_503_is_retried(httpserver: HTTPServer, client: PoliteClient) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data("busy", status=503)
    _serve(httpserver, DAY1)
    items = _fetch(httpserver, client, DAY1)
    assert len([item for item in items if isinstance(item, Paper)]) == 3
    assert len(httpserver.log) == 2


def test_non_json_page_stops_after_the_last_complete_day(
    httpserver: HTTPServer, client: PoliteClient
) -> None:
    _serve(httpserver, DAY1)
    _serve(httpserver, DAY2, b"<!doctype html><title>Hugging Face is down</title>")
    items: list[SourceItem] = []
    with pytest.raises(SourceError, match="did not answer JSON"):
        items.extend(fetch_hf_daily(client, base_url=httpserver.url_for("/"), days=[DAY1, DAY2]))
    assert items[-1] == Checkpoint("2025-03-18")


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b'{"error": "Invalid date"}', "not a list of papers"),
        (400, b'{"error": "Invalid date"}', "answered HTTP 400"),
    ],
)
def test_wrong_page_shape_stops_the_source(
    httpserver: HTTPServer, client: PoliteClient, status: int, body: bytes, message: str
) -> None:
    httpserver.expect_request(PATH).respond_with_data(body, status=status)
    with pytest.raises(SourceError, match=message):
        _fetch(httpserver, client, DAY1)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[42]", "not a JSON object"),
        (b'[{"paper": "2503.11731"}]', "no `paper` object"),
        (_one_item(authors="Ada Lovelace"), "paper.authors is not a list"),
        (_one_item(title=None), "missing title"),
        (_one_item(summary=["not", "text"]), "abstract is not text"),
        (_one_item(id="not an id"), "'not an id' is not an arXiv id"),
        (_one_item(publishedAt="yesterday"), "date 'yesterday' is not an ISO date (YYYY-MM-DD)"),
        (_one_item(title="x" * 1200), "title is 1,200 characters (limit 1,000)"),
    ],
)
def test_bad_items_become_rejections(
    httpserver: HTTPServer, client: PoliteClient, body: bytes, reason: str
) -> None:
    _serve(httpserver, DAY1, body)
    items = _fetch(httpserver, client, DAY1)
    assert items == [Rejected(f"{_url(httpserver, DAY1)} item 1", reason), Checkpoint("2025-03-18")]


def test_implausible_counts_are_ignored(httpserver: HTTPServer, client: PoliteClient) -> None:
    body = _one_item(upvotes="12", githubStars=-3, authors=[{"name": "A"}, {"_id": "x"}, "B"])
    _serve(httpserver, DAY1, body)
    paper = _fetch(httpserver, client, DAY1)[0]
    assert isinstance(paper, Paper)
    assert (paper.upvotes, paper.github_stars, paper.authors) == (None, None, ("A",))


def test_empty_day_only_checkpoints(httpserver: HTTPServer, client: PoliteClient) -> None:
    _serve(httpserver, DAY1, b"[]")
    assert _fetch(httpserver, client, DAY1) == [Checkpoint("2025-03-18")]
