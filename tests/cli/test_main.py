"""The commands a user runs first: init, file ingest, papers, stats, and errors."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.cli.conftest import Invoke, run_cli

FIXTURES = Path(__file__).parents[1] / "fixtures"
SEED = Path(__file__).parents[2] / "src/paperroute/sample/trending-listing.txt"
SLICE = FIXTURES / "papers-slice.jsonl"


def test_ingest_list_show_and_stats(invoke: Invoke) -> None:
    invoke("init")
    first = invoke("ingest", "file", str(SLICE))
    assert "200" in first.output and "new" in first.output
    again = invoke("ingest", "file", str(SLICE))
    assert "│   0 │       0 │       200 │" in again.output
    listed = orjson.loads(
        invoke("papers", "list", "--category", "cs.CL", "--limit", "5", "--json").output
    )
    assert listed["total"] > 5 and len(listed["papers"]) == 5
    assert all("cs.CL" in p["categories"] for p in listed["papers"])
    first_id = listed["papers"][0]["arxiv_id"]
    shown = orjson.loads(invoke("papers", "show", first_id, "--json").output)
    assert shown["arxiv_id"] == first_id and shown["abs_url"].endswith(first_id)
    assert "papers" in invoke("stats").output


def test_listing_and_runs(invoke: Invoke) -> None:
    invoke("init")
    out = invoke("ingest", "listing", str(SEED)).output
    assert "74" in out
    runs = invoke("runs", "list").output
    assert "listing" in runs and "completed" in runs


def test_rejects_are_listed_with_locations(invoke: Invoke, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "2503.00001", "title": "Fine"}\n{"id": "2503.00002", "title": ""}\n')
    invoke("init")
    assert "1 records were skipped" in invoke("ingest", "file", str(bad)).output
    assert "bad.jsonl:2: empty title" in invoke("runs", "show", "1").output


@pytest.mark.slow  # separate processes, killed or served: seconds each
def test_user_mistakes_get_one_line_not_a_traceback(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    missing = run_cli(
        "papers", "list", env=cli_env | {"PAPERROUTE_DATABASE_URL": f"sqlite:///{tmp_path}/new.db"}
    )
    assert missing.returncode == 1
    assert "run `paperroute init`" in missing.stderr and "Traceback" not in missing.stderr
    run_cli("init", env=cli_env)
    for args, message in [
        (["ingest", "file", str(tmp_path / "nope.jsonl")], "is not a file"),
        (["papers", "show", "2503.99999"], "no paper '2503.99999'"),
        (["ingest", "arxiv"], "give --query or --id, one of the two"),
    ]:
        result = run_cli(*args, env=cli_env)
        assert result.returncode == 1, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow  # a real serve process
def test_serve_refuses_a_stale_schema(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(
        "serve",
        "--port",
        "8765",
        env=cli_env | {"PAPERROUTE_DATABASE_URL": f"sqlite:///{tmp_path}/old.db"},
    )
    assert result.returncode == 1
    assert "paperroute init" in result.stderr


def test_every_command_has_help_with_an_example(invoke: Invoke) -> None:
    commands = [["init"], ["stats"], ["serve"], ["demo"], ["ingest", "file"], ["ingest", "bibtex"],
                ["ingest", "listing"], ["ingest", "arxiv"], ["ingest", "oai"], ["ingest", "rss"],
                ["ingest", "hf"], ["papers", "show"], ["papers", "list"], ["runs", "list"],
                ["runs", "show"], ["index", "sync"], ["index", "rebuild"], ["index", "check"],
                ["search"], ["similar"], ["eval", "beir"]]  # fmt: skip
    for command in commands:
        assert "Example:" in invoke(*command, "--help").output, command
