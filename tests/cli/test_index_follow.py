"""`paperroute index sync --follow` as a process: follows new papers, stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paperroute.index.sync import index_in_use, last_sync
from tests.cli.conftest import Invoke

SLICE = Path(__file__).parents[1] / "fixtures" / "papers-slice.jsonl"

pytestmark = pytest.mark.slow


@pytest.fixture
def db_url(sqlite_db_url: str) -> str:
    """SQLite, the one-machine shape; the follower itself is tested on both stores."""
    return sqlite_db_url


def test_follow_takes_in_new_papers_and_stops_on_ctrl_c(
    invoke: Invoke, cli_env: dict[str, str], tmp_path: Path
) -> None:
    papers = tmp_path / "three.jsonl"
    papers.write_text("".join(SLICE.read_text().splitlines(keepends=True)[:3]))
    root = Path(cli_env["PAPERROUTE_HOME"]) / "index"
    follower = subprocess.Popen(
        [sys.executable, "-m", "paperroute", "index", "sync", "--follow", "--every", "0.2"],
        env=os.environ | cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        invoke("ingest", "file", str(papers))
        deadline = time.monotonic() + 60
        while index_in_use(root) is None or last_sync(root) is None:  # saved, and synced
            assert follower.poll() is None and time.monotonic() < deadline, follower.stdout
            time.sleep(0.05)
        checked = " ".join(invoke("index", "check").output.split())
        assert "3 papers in the database, 3 in the index" in checked, checked
        assert "0 papers changed in the database since (its lag)" in checked, checked
        assert "last sync: never" not in checked and " s ago)" in checked, checked
        doctor = invoke("doctor", env={"PAPERROUTE_BASE_URL": "https://papers.example.org"}).output
        assert re.search(r"search index\s*│ ok .*\(last sync \d+ s ago\)", doctor), doctor
        follower.send_signal(signal.SIGINT)
        output = follower.communicate(timeout=30)[0]
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.communicate()
    assert follower.returncode == 0, output
    assert "Stopped." in output and "Traceback" not in output, output
    assert "3 papers taken in" in output, output
