"""Two nodes on one PostgreSQL, each with its own index, site and follower: real processes.

A paper ingested through node 1 must be found by node 2's search within 10
seconds (the promise in docs/deploy.md), timed from the moment the ingest has
stored it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from paperroute.cli import app
from paperroute.ingest.pipeline import run_ingest
from paperroute.ingest.sources.jsonl import read_json_file
from paperroute.store.db import make_engine
from paperroute.store.papers import ids_for_refs
from tests.conftest import FIXTURES
from tests.support import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PROMISE = 10.0  # seconds from stored on one node to searchable on every node
SLICE = FIXTURES / "papers-slice.jsonl"
FIRST = range(0, 4)  # the slice's papers there from the start
LATER = 10  # 2507.12215, "Xiangqi-R1 ... Chinese Chess": ingested while the nodes run


@dataclass
class Node:
    home: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[str]] = field(default_factory=list[subprocess.Popen[str]])

    def start(self, name: str, *args: str) -> subprocess.Popen[str]:
        """`paperroute ARGS` in the background, its output in a file of the node's home."""
        with (self.home / f"{name}.log").open("w") as log:
            process = subprocess.Popen([sys.executable, "-m", "paperroute", *args], env=self.env,
                                       stdout=log, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in sorted(self.home.glob("*.log")))

    def found(self, query: str, arxiv_id: str) -> bool:
        """Whether the node's search answers `query` with that paper (words only: no neighbours)."""
        for process in self.processes:
            assert process.poll() is None, f"{process.args} ended early:\n{self.logs()}"
        params = urllib.parse.urlencode({"q": query, "mode": "lexical"})
        url = f"http://127.0.0.1:{self.port}/api/v1/search?{params}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                hits = json.load(response)["hits"]
        except OSError:  # not listening yet, no index yet (503), or slow to answer
            return False
        return arxiv_id in [h["paper"]["arxiv_id"] for h in hits]


def stop_all(nodes: list[Node]) -> None:
    """SIGTERM everything still running, then SIGKILL what has not stopped after 20 s."""
    running = [p for node in nodes for p in node.processes if p.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for process in running:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_found(
    nodes: list[Node], query: str, arxiv_id: str, within: float, since: float | None = None
) -> float:
    """Seconds from `since` (now by default) until every node's search finds the paper;
    fails once `within` seconds have passed."""
    since = time.monotonic() if since is None else since
    waiting = list(nodes)
    while waiting:
        waiting = [node for node in waiting if not node.found(query, arxiv_id)]
        elapsed = time.monotonic() - since
        assert elapsed < within or not waiting, (
            f"{arxiv_id} not found in {within:.0f} s on {[n.home.name for n in waiting]}:\n"
            + "\n".join(n.logs() for n in waiting)
        )
        time.sleep(0.05)
    return time.monotonic() - since


@pytest.fixture
def nodes(db_url: str, tmp_path: Path) -> Iterator[list[Node]]:
    """Two nodes sharing the database, each with its own home (and so its own index)."""
    made = []
    for name in ("node1", "node2"):
        home = tmp_path / name
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERROUTE_")}
        env |= {"PAPERROUTE_HOME": str(home), "PAPERROUTE_DATABASE_URL": db_url}
        made.append(Node(home, env))
    with ExitStack() as cleanup:
        cleanup.callback(stop_all, made)
        yield made


def write_papers(path: Path, numbers: range | list[int]) -> Path:
    lines = SLICE.read_text().splitlines()
    path.write_text("".join(lines[n] + "\n" for n in numbers))
    return path


def stored_within(engine: Engine, arxiv_id: str, seconds: float) -> float:
    """The moment (monotonic clock) the paper is first seen in the database."""
    deadline = time.monotonic() + seconds
    while True:
        with engine.connect() as conn:
            if ids_for_refs(conn, [arxiv_id]):
                return time.monotonic()
        assert time.monotonic() < deadline, f"{arxiv_id} was never stored"
        time.sleep(0.02)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_paper_ingested_on_one_node_is_searchable_on_every_node_in_10_s(
    nodes: list[Node], db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for node in nodes:
        node.start("serve", "serve", "--port", str(node.port))
        node.start("follow", "index", "sync", "--follow")
    engine = make_engine(db_url)
    try:
        first = write_papers(tmp_path / "first.jsonl", FIRST)
        run_ingest(engine, "file", str(first), read_json_file(first))
        # Start-up (imports, the model loaded by each follower and each site) is not timed.
        up = wait_until_found(nodes, "Topology Enhanced MARL", "2507.12110", within=90)

        later = write_papers(tmp_path / "later.jsonl", [LATER])
        ingest = subprocess.Popen([sys.executable, "-m", "paperroute", "ingest", "file", str(later)],
                                  env=nodes[0].env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)  # fmt: skip
        try:
            stored = stored_within(engine, "2507.12215", seconds=60)
        finally:
            output = ingest.communicate(timeout=60)[0]
        assert ingest.returncode == 0, output
        seconds = wait_until_found(
            nodes, "Xiangqi Chinese Chess", "2507.12215", within=PROMISE, since=stored
        )
    finally:
        engine.dispose()
    with capsys.disabled():
        print(f"\nfound on both nodes {seconds:.1f} s after the ingest stored the paper "
              f"(start-up took {up:.1f} s)")  # fmt: skip

    for node in nodes:  # in this process: the nodes' own processes keep running meanwhile
        check = CliRunner().invoke(app, ["index", "check"], env=node.env | {"COLUMNS": "200"})
        out = " ".join(check.output.split())
        assert check.exit_code == 0, out + node.logs()
        assert "5 papers in the database, 5 in the index" in out, out
        assert "0 papers changed in the database since (its lag)" in out, out
        assert "last sync: never" not in out and " s ago)" in out, out

    stop_all(nodes)
    for node in nodes:
        log = (node.home / "follow.log").read_text()
        assert node.processes[1].returncode == 0 and "Stopped." in log, log
        assert "Traceback" not in node.logs(), node.logs()
