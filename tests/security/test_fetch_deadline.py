"""A network source has a deadline for the whole request, not only for each read.

A server that sends a byte every little while never trips the per-read
timeout: a body trickled over 54 s was accepted with a 5 s timeout. Here a
real server on 127.0.0.1 trickles its body, or its headers, and the request
ends at the deadline with a message that says what to do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from paperroute.config import Settings
from paperroute.ingest.http import FetchError, FetchPolicy, PoliteClient

TRICKLE = 0.1  # seconds between bytes: well within the read timeout
READ_TIMEOUT = 0.5
DEADLINE = 1.0


class _Trickler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        try:
            if self.path == "/slow-headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for _ in range(200):
                    self.wfile.write(b"X-Pad: y\r\n")
                    self.wfile.flush()
                    time.sleep(TRICKLE)
                return
            body = b"<feed/>" * 40
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            pause = TRICKLE if self.path == "/slow-body" else 0.0
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(pause)
        except OSError:  # the client hung up at its deadline
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def trickler() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _client(slept: list[float]) -> PoliteClient:
    policy = FetchPolicy(delay=0, timeout=READ_TIMEOUT, deadline=DEADLINE, retries=2)
    return PoliteClient(policy, sleep=slept.append)


@pytest.mark.parametrize("path", ["/slow-body", "/slow-headers"])
def test_a_trickled_answer_ends_at_the_deadline(trickler: str, path: str) -> None:
    slept: list[float] = []
    started = time.monotonic()
    with _client(slept) as client, pytest.raises(FetchError) as failed:
        client.get(f"{trickler}{path}")
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + 1.0, f"took {elapsed:.1f} s"  # the trickle would take 28 s
    message = str(failed.value)
    assert f"127.0.0.1:{trickler.rsplit(':', 1)[1]}{path}" in message
    assert "within 1 s" in message and "PAPERROUTE_REQUEST_DEADLINE" in message
    assert slept == []  # the same server would trickle again: no retry


def test_a_prompt_answer_is_read_whole(trickler: str) -> None:
    with _client([]) as client:
        response = client.get(f"{trickler}/fast")
        again = client.get(f"{trickler}/fast")  # the kept-alive connection, watched again
    assert response.content == again.content == b"<feed/>" * 40


def test_the_deadline_is_a_setting_with_a_sane_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert FetchPolicy().deadline == 60.0
    assert Settings().request_deadline == 60.0
    monkeypatch.setenv("PAPERROUTE_REQUEST_DEADLINE", "5")
    assert Settings().request_deadline == 5.0
