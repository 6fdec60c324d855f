"""Network ingest commands end to end: real client, local HTTP server, real database."""

from __future__ import annotations

from pathlib import Path

import orjson
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.cli.conftest import Invoke

FIXTURES = Path(__file__).parents[1] / "fixtures"
OAI = FIXTURES / "oai-pmh"
ARXIV = FIXTURES / "arxiv-api"


def _urls(httpserver: HTTPServer) -> dict[str, str]:
    base = httpserver.url_for("").rstrip("/")
    return {
        "PAPERROUTE_ARXIV_API_URL": base,
        "PAPERROUTE_ARXIV_OAI_URL": base,
        "PAPERROUTE_ARXIV_RSS_URL": base,
        "PAPERROUTE_HF_URL": base,
    }


def test_oai_harvest_interrupted_then_resumed_from_its_token(
    invoke: Invoke, httpserver: HTTPServer
) -> None:
    page1 = (OAI / "listrecords_arxivraw_page1.xml").read_bytes()
    page2 = (OAI / "listrecords_arxivraw_page2.xml").read_bytes()
    seen: list[dict[str, str]] = []
    server_up = {"page2": False}

    def oai(request: Request) -> Response:
        seen.append(dict(request.args))
        if "resumptionToken" not in request.args:
            return Response(page1, content_type="text/xml")
        if not server_up["page2"]:
            return Response("overloaded", status=503, headers={"Retry-After": "0"})
        return Response(page2, content_type="text/xml")

    httpserver.expect_request("/oai").respond_with_handler(oai)
    env = _urls(httpserver)
    invoke("init")
    failed = invoke("ingest", "oai", "--set", "cs", "--since", "2025-03-18", expect=1, env=env)
    assert failed.exit_code == 1
    listed = orjson.loads(invoke("papers", "list", "--json", env=env).output)
    assert listed["total"] == 3  # page 1 was committed with its token
    server_up["page2"] = True
    seen.clear()
    invoke("ingest", "oai", "--set", "cs", env=env)
    assert seen[0]["resumptionToken"] == "7311982|1001" and "from" not in seen[0]
    total = orjson.loads(invoke("papers", "list", "--json", env=env).output)["total"]
    assert total == 5  # page 2 adds three records, one of them deleted
    seen.clear()
    invoke("ingest", "oai", "--set", "cs", env=env)  # the next run is incremental
    assert "resumptionToken" not in seen[0] and seen[0]["from"] >= "2025-03-18"


def test_arxiv_ids_and_old_style_papers(invoke: Invoke, httpserver: HTTPServer) -> None:
    feed = next(ARXIV.glob("id_quant-ph_0201082v1_*.xml")).read_bytes()
    httpserver.expect_request("/api/query").respond_with_data(
        feed, content_type="application/atom+xml"
    )
    invoke("init")
    invoke("ingest", "arxiv", "--id", "quant-ph/0201082v1", env=_urls(httpserver))
    paper = orjson.loads(invoke("papers", "show", "quant-ph/0201082", "--json").output)
    assert paper["title"].startswith("Quantum Computers and Quantum Computer Languages")
    assert paper["versions"][0]["number"] == 1 and paper["primary_category"] == "quant-ph"


def test_arxiv_error_feed_is_one_clear_line(invoke: Invoke, httpserver: HTTPServer) -> None:
    feed = next(ARXIV.glob("id_abc_*.xml")).read_bytes()
    httpserver.expect_request("/api/query").respond_with_data(
        feed, status=400, content_type="application/atom+xml"
    )
    invoke("init")
    result = invoke("ingest", "arxiv", "--id", "2503.11731", env=_urls(httpserver), expect=1)
    assert "incorrect id format for abc" in result.output.lower()


def test_hf_days_then_next_run_continues_after_the_last_day(
    invoke: Invoke, httpserver: HTTPServer
) -> None:
    for day in ("2025-03-18", "2025-03-19"):
        body = (FIXTURES / "hf-daily" / f"daily_papers-{day}.json").read_bytes()
        httpserver.expect_request(
            "/api/daily_papers", query_string={"date": day}
        ).respond_with_data(body, content_type="application/json")
    env = _urls(httpserver)
    invoke("init")
    invoke("ingest", "hf", "--since", "2025-03-18", "--until", "2025-03-19", env=env)
    stored = orjson.loads(invoke("papers", "list", "--json", "--limit", "100").output)
    assert stored["total"] > 0
    assert any(p["upvotes"] for p in stored["papers"])
    httpserver.clear_log()
    invoke("ingest", "hf", "--until", "2025-03-19", env=env)  # the last day again: it grows
    assert [r.args["date"] for r, _ in httpserver.log] == ["2025-03-19"]
    assert "Nothing to fetch" in invoke("ingest", "hf", "--until", "2025-03-18", env=env).output


def test_rss_new_and_replacements(invoke: Invoke, httpserver: HTTPServer) -> None:
    feed = (FIXTURES / "arxiv-rss" / "cs-2025-03-25.xml").read_bytes()
    httpserver.expect_request("/rss/cs").respond_with_data(feed, content_type="application/rss+xml")
    invoke("init")
    out = invoke("ingest", "rss", "--category", "cs", env=_urls(httpserver)).output
    assert "completed" in out
    listed = orjson.loads(invoke("papers", "list", "--json", "--limit", "50").output)
    assert listed["total"] > 0
    assert any(len(p["versions"]) and p["versions"][-1]["number"] > 1 for p in listed["papers"])


def test_bibtex_file(invoke: Invoke) -> None:
    invoke("init")
    invoke("ingest", "bibtex", str(FIXTURES / "bibtex" / "arxiv-export.bib"))
    listed = orjson.loads(invoke("papers", "list", "--json").output)
    assert listed["total"] > 0 and all(p["title"] for p in listed["papers"])
