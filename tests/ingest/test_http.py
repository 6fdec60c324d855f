"""The polite client against a real local server: compression, size cap, bad redirects."""

from __future__ import annotations

import gzip

import pytest
from pytest_httpserver import HTTPServer

from paperroute.ingest.http import FetchError, FetchPolicy, PoliteClient


def test_compressed_bodies_are_decoded(httpserver: HTTPServer) -> None:
    body = gzip.compress(b"<feed/>" * 100)
    httpserver.expect_request("/feed").respond_with_data(body, headers={"Content-Encoding": "gzip"})
    with PoliteClient(FetchPolicy(delay=0)) as client:
        response = client.get(httpserver.url_for("/feed"))
    assert response.content == b"<feed/>" * 100


def test_a_runaway_body_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    with (
        PoliteClient(FetchPolicy(delay=0, max_bytes=1000)) as client,
        pytest.raises(FetchError, match="more than 1,000 bytes"),
    ):
        client.get(httpserver.url_for("/big"))


def test_a_redirect_loop_fails_at_once_with_the_url(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/loop").respond_with_data(
        "", status=302, headers={"Location": "/loop"}
    )
    slept: list[float] = []
    with (
        PoliteClient(FetchPolicy(delay=0), sleep=slept.append) as client,
        pytest.raises(FetchError, match=r"/loop\?page=2 failed: TooManyRedirects"),
    ):
        client.get(httpserver.url_for("/loop"), params={"page": 2})
    assert slept == []  # no retries: waiting would not help


def test_unreachable_server_names_the_url(httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/gone")
    httpserver.stop()
    slept: list[float] = []
    with (
        PoliteClient(FetchPolicy(delay=0, retries=2, backoff=1), sleep=slept.append) as client,
        pytest.raises(FetchError, match="could not connect"),
    ):
        client.get(url)
    assert slept == [1, 2]  # backoff doubles
    httpserver.start()
