"""`paperroute serve --workers 2`: every worker takes connections; a taken port is an error."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import free_port

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def _cli(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERROUTE_")}
    env["PAPERROUTE_HOME"] = str(home)
    return subprocess.Popen([sys.executable, "-m", "paperroute", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/static/site.css")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextmanager
def _serving(home: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    init = _cli(home, "init")
    init.communicate(timeout=60)
    assert init.returncode == 0
    server = _cli(home, "serve", "--workers", "2", "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while len(_sockets(port, LISTEN)) < 2 or not _answers(port):  # both workers listen
            assert server.poll() is None and time.monotonic() < deadline, server.stderr
            time.sleep(0.2)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found += [int(c) for c in children]
    return found


ESTABLISHED, LISTEN = "01", "0A"


def _sockets(port: int, state: str) -> set[str]:
    """Inodes of the IPv4 sockets on this local port in this TCP state."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == state:
            inodes.add(fields[9])
    return inodes


def _sockets_of(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


@pytest.mark.slow  # separate processes, killed or served: seconds each
def test_connections_are_spread_over_both_workers(tmp_path: Path) -> None:
    port = free_port()
    with _serving(tmp_path, port) as server:
        # Kept-alive connections, as a proxy or a benchmark holds them.
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(16)]
        try:
            for connection in connections:
                connection.request("GET", "/static/site.css")
                assert connection.getresponse().read()
            accepted = _sockets(port, ESTABLISHED)
            share = {pid: len(_sockets_of(pid) & accepted) for pid in _children(server.pid)}
        finally:
            for connection in connections:
                connection.close()
        serving = [n for n in share.values() if n]
        assert len(serving) == 2 and sum(serving) == 16, share
        # Whichever worker answers /metrics counts the requests both served.
        scrape = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        scrape.request("GET", "/metrics")
        text = scrape.getresponse().read().decode()
        scrape.close()
        found = re.search(
            r'request_seconds_count\{method="GET",route="static",status="200"\} (\S+)', text
        )
        assert found and float(found.group(1)) >= 16, text[:2000]

        taken = _cli(tmp_path, "serve", "--workers", "2", "--port", str(port))
        _, stderr = taken.communicate(timeout=60)
        assert taken.returncode == 1 and "Traceback" not in stderr
        assert f"cannot listen on 127.0.0.1:{port}" in stderr and "--port" in stderr
    assert server.returncode == 0
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in share):  # no worker outlives the server
        assert time.monotonic() < deadline, share
        time.sleep(0.1)
