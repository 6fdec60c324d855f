"""The JSON API against its own OpenAPI schema, by schemathesis: requests generated from the
schema for every operation (valid and invalid ones, one after another as a client would),
each answer checked against what the schema documents: status, content type, headers, body.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.engine import events, from_schema
from schemathesis.engine.statistic import Statistic
from sqlalchemy import Engine

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.domain import Paper
from paperroute.index.sync import rebuild_index
from paperroute.ingest.normalize import build_paper
from paperroute.ingest.sources.jsonl import read_json_file
from paperroute.store import collections as collection_store
from paperroute.store import users as user_store
from paperroute.store import votes as vote_store
from paperroute.store.papers import ids_for_refs, set_hidden, upsert_papers
from tests.conftest import FIXTURES
from tests.support import WordHashEmbedder
from tests.web.conftest import Site

NOW = dt.datetime(2025, 7, 18, 12, tzinfo=dt.UTC)  # the day after the slice's newest papers
MIN_CASES = 1_000
MAX_EXAMPLES = 50  # per operation and phase: about 1,800 cases in all
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis's default


def accepting(name: str, *statuses: str) -> dict[str, Any]:
    """An operation whose schema-valid requests may also get `statuses`."""
    expected = {"expected-statuses": [*ACCEPTED, *statuses]}
    return {"include-name": name, "checks": {"positive_data_acceptance": expected}}


# A request can follow the schema and still ask for nothing: rules between parameters, and
# the calendar, are beyond what OpenAPI can state. Each rule has its own test.
OPERATION_RULES = [
    accepting("GET /api/v1/papers", "400"),  # since after until
    accepting("GET /api/v1/search", "400", "422"),  # since after until; no words, category or date
    accepting("GET /api/daily_papers", "400", "422"),  # date and week; a week 53 the year lacks
]


def old_style_paper() -> Paper:
    """A paper with an arXiv id from before 2007: a slash in its paths."""
    return build_paper(source="t", arxiv_id="quant-ph/0201082", title="Quantum error correction",
                       abstract="Codes that protect qubits.", authors=["Ada Lovelace"],
                       categories=["quant-ph"], announced="2002-01-16")  # fmt: skip


def seed_papers() -> list[Paper]:
    """The real slice, an old-style id, and a paper to hide."""
    papers = [p for p in read_json_file(FIXTURES / "papers-slice.jsonl") if isinstance(p, Paper)]
    hidden = build_paper(source="t", arxiv_id="2507.99999", title="Hidden spam",
                         abstract="Spam.", authors=["Spammer"], categories=["cs.LG"],
                         announced="2025-07-18")  # fmt: skip
    return [*papers, old_style_paper(), hidden]


def seed_site(engine: Engine) -> str:
    """Papers, and a reader with a vote and a public collection; the reader's API token."""
    with engine.begin() as conn:
        upsert_papers(conn, seed_papers(), NOW)
        set_hidden(conn, ids_for_refs(conn, ["2507.99999"])["2507.99999"], NOW)
        user = user_store.add_user(conn, "reader@example.org", NOW)
        liked = ids_for_refs(conn, ["2507.11851"])["2507.11851"]
        vote_store.vote(conn, user.id, liked, NOW)
        shelf = collection_store.create_collection(conn, user.id, "Reading", NOW, is_public=True)
        collection_store.add_paper(conn, shelf.id, liked, NOW)
        return user_store.create_api_token(conn, user.id, "conformance", NOW)


@dataclass
class Outcome:
    cases: int = 0
    problems: list[str] = field(default_factory=list[str])


def run_schemathesis(app: FastAPI, token: str) -> Outcome:
    """Every phase of `schemathesis run` (examples, coverage, fuzzing, stateful), in process
    (ASGI); what it found.

    The engine behind `schemathesis run`, not its pytest plugin: one test that can count its
    cases, and the plugin's schemas from fixtures fail under pytest 9.2 (`Node._nodeid`).
    """
    config = schemathesis.Config.from_dict({
        "cache": {"enabled": False},  # no .schemathesis folder
        "generation": {"database": "none", "max-examples": MAX_EXAMPLES},
        "auth": {"openapi": {"ApiToken": {"bearer": token}}},
        "operations": OPERATION_RULES,
    })  # fmt: skip
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    statistic, outcome = Statistic(), Outcome()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            statistic.on_scenario_finished(event.recorder)
        elif isinstance(event, events.NonFatalError):
            outcome.problems.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            outcome.problems.append(f"schemathesis stopped: {event.exception!r}")
    outcome.cases = statistic.total_cases
    for label, groups in statistic.failures.items():
        for group in groups.values():
            found = "\n".join(f"  {f.title}: {f.message}" for f in group.failures)
            outcome.problems.append(f"{label}\n  {group.code_sample}\n{found}")
    if outcome.problems:
        outcome.problems.append(f'(to replay: add `"seed": {schema.config.seed}` to the config)')
    return outcome


@pytest.fixture
def hypothesis_home(tmp_path: Path) -> Iterator[None]:
    """Hypothesis's own caches in a temporary folder, not a .hypothesis folder in the tree."""
    set_hypothesis_home_dir(tmp_path / "hypothesis")
    yield
    set_hypothesis_home_dir(None)


@pytest.mark.slow
@pytest.mark.usefixtures("hypothesis_home")
def test_every_operation_answers_as_its_schema_says(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path, database_url=db_url, trusted_hosts=["testserver"])
    token = seed_site(engine)
    rebuild_index(engine, settings.index_root, WordHashEmbedder())
    app = create_app(settings, clock=lambda: NOW, embedder=WordHashEmbedder())
    started = time.monotonic()
    outcome = run_schemathesis(app, token)
    print(f"schemathesis: {outcome.cases} cases in {time.monotonic() - started:.0f} s")
    assert not outcome.problems, "\n\n".join(outcome.problems)
    assert outcome.cases >= MIN_CASES, f"only {outcome.cases} cases ran"


# --- what earlier runs found, each pinned down --------------------------------------


def api_token(site: Site) -> dict[str, str]:
    """Headers with a reader's API token; the old-style paper joins the site's papers."""
    with site.engine.begin() as conn:
        upsert_papers(conn, [old_style_paper()], site.clock())
        user = user_store.add_user(conn, "reader@example.org", site.clock())
        token = user_store.create_api_token(conn, user.id, "t", site.clock())
    return {"authorization": f"Bearer {token}"}


def test_a_405_names_every_method_of_the_path(site: Site) -> None:
    for method, path, allowed in [
        ("PUT", "/api/v1/papers/2503.00001/vote", "POST, DELETE"),
        ("GET", "/api/v1/papers/2503.00001/vote", "POST, DELETE"),  # not the paper "…/vote"
        ("OPTIONS", "/api/v1/collections", "GET, POST"),
        ("POST", "/api/v1/collections/1", "GET, PATCH, DELETE"),
        ("PUT", "/signin", "GET, POST"),  # pages too
    ]:
        response = site.client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == allowed, (method, path)
    assert "use POST or DELETE" in site.client.put("/api/v1/papers/2503.00001/vote").text


def test_old_style_ids_have_a_slash_and_sub_paths_are_not_ids(site: Site) -> None:
    headers, get = api_token(site), site.client.get
    assert get("/api/v1/papers/quant-ph/0201082").json()["id"] == "quant-ph/0201082"
    assert get("/api/v1/papers/quant-ph%2F0201082v2").json()["id"] == "quant-ph/0201082"
    assert get("/api/papers/quant-ph/0201082").json()["id"] == "quant-ph/0201082"
    assert get("/papers/quant-ph/0201082").status_code == 200
    assert get("/papers/quant-ph/0201082.bib").text.startswith("@")
    voted = site.client.post("/api/v1/papers/quant-ph/0201082/vote", headers=headers).json()
    assert voted == {"paper_id": "quant-ph/0201082", "voted": True, "votes": 1}
    for path in ("/api/v1/papers/2503.00001/votes", "/api/v1/papers/a/b", "/papers/a/b"):
        assert get(path).status_code == 404, path


def test_api_dates_are_yyyy_mm_dd_and_never_empty(site: Site) -> None:
    get = site.client.get
    for path in (
        "/api/v1/papers?since=",
        "/api/v1/papers?until=0",  # pydantic alone reads a Unix time
        "/api/v1/search?q=graph&since=1742428800",
        "/api/daily_papers?date=2026-03-20T00:00",
    ):
        response = get(path)
        assert response.status_code == 422, path
        assert "write the date as YYYY-MM-DD, or leave the parameter out" in response.text, path
    assert get("/api/v1/papers?since=2026-03-19").json()["total"] == 3
    # The site's own forms send empty fields: its pages take them as "no date".
    assert get("/?date=").status_code == 200
    assert get("/search?q=graph&since=&until=").status_code not in (400, 422)


def test_parameters_follow_their_documented_patterns(site: Site) -> None:
    get = site.client.get
    assert get("/api/v1/papers?category=").json()["total"] == 4  # empty: all
    assert get("/api/v1/papers?category=CS.lg").json()["total"] == 3
    assert get("/api/v1/papers?category=%20cs.LG").status_code == 422
    assert get("/api/daily_papers?week=2026-W12").status_code == 200
    assert get("/api/daily_papers?week=").status_code == 200  # empty: no choice
    assert get("/api/daily_papers?week=2025-W53").status_code == 422  # 2025 has 52 weeks
    assert get("/api/daily_papers?month=٢٠٢٦-03").status_code == 422  # digits are 0-9


def test_collection_bodies_are_json_as_the_schema_says(site: Site) -> None:
    client, headers = site.client, api_token(site)
    made = client.post("/api/v1/collections", json={"name": "  Reading "}, headers=headers)
    assert made.status_code == 201 and made.json()["name"] == "Reading"
    url = f"/api/v1/collections/{made.json()['id']}"
    for body, message in [
        ({"public": 0}, "public"),
        ({"public": "yes"}, "public"),
        ({"name": None}, "leave it out"),
        ({"name": "\tReading"}, "name"),
        ({}, "give a new `name`"),
    ]:
        response = client.patch(url, json=body, headers=headers)
        assert response.status_code == 422 and message in response.json()["error"], body
    not_text = client.post(
        "/api/v1/collections",
        content=b"\xc3\x28",
        headers=headers | {"content-type": "application/json"},
    )
    assert not_text.status_code == 400
    assert not_text.json() == {"error": "body: this is not text; send the JSON encoded as UTF-8"}


def test_the_schema_documents_these_answers(site: Site) -> None:
    paths = site.client.get("/openapi.json").json()["paths"]
    assert "400" in paths["/api/v1/collections"]["post"]["responses"]
    assert "400" in paths["/api/v1/collections/{collection_id}"]["patch"]["responses"]
    # Anyone may read a public collection: the token is optional there.
    assert {} in paths["/api/v1/collections/{collection_id}"]["get"]["security"]
    assert {} not in paths["/api/v1/collections"]["get"]["security"]
