"""Request bodies over the limit are refused unread, by their Content-Length or while they
stream in chunked; an API body without a valid token gets its 401 before it is read.

Against a real server on a loopback port: a body the app would wait for is a body the
test never sends, so an app that reads it does not answer before the socket's timeout.
"""

from __future__ import annotations

import datetime as dt
import http.client
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
from sqlalchemy import Engine

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.store import api_tokens as token_store
from paperroute.store import users as user_store
from tests.security.conftest import Site
from tests.support import serve_app

LIMIT = Settings().max_body_bytes
ANSWER_WITHIN = 5.0  # seconds: the server answers at once, or it is waiting for the body


@pytest.fixture
def server(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[str]:
    settings = Settings(home=tmp_path, database_url=db_url)
    with serve_app(create_app(settings)) as url:
        yield url


@pytest.fixture
def token(engine: Engine) -> str:
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        user = user_store.add_user(conn, "a@example.org", now)
        return token_store.create_api_token(conn, user.id, "t", now)


def _exchange(url: str, head: dict[str, str], body: Iterable[bytes]) -> tuple[int, bytes]:
    """Send a POST's head and these body bytes (never more), and read the answer."""
    address = urlsplit(url)
    assert address.hostname and address.port
    with socket.create_connection((address.hostname, address.port), timeout=ANSWER_WITHIN) as sock:
        lines = ["POST /api/v1/collections HTTP/1.1", f"Host: {address.netloc}"]
        lines += [f"{k}: {v}" for k, v in head.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        for part in body:
            try:
                sock.sendall(part)
            except OSError:  # the server has answered and closed: read what it said
                break
        answer = http.client.HTTPResponse(sock)
        try:
            answer.begin()
        except TimeoutError:
            pytest.fail("no answer: the server is reading (or waiting for) the whole body")
        return answer.status, answer.read()


def _chunked(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """`total` bytes of a JSON string as chunks, never the last chunk that ends the body."""
    yield b"%x\r\n%s\r\n" % (len(b'{"name": "'), b'{"name": "')
    sent = 0
    while sent < total:
        yield b"%x\r\n%s\r\n" % (size, b"x" * size)
        sent += size


def test_an_announced_100_mb_body_is_refused_unread(server: str, token: str) -> None:
    head = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
            "Content-Length": str(100_000_000)}  # fmt: skip
    status, body = _exchange(server, head, [b'{"name": "'])
    assert status == 413
    assert f"{LIMIT:,} bytes" in orjson.loads(body)["error"]


def test_a_chunked_body_is_cut_off_at_the_limit(server: str, token: str) -> None:
    head = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
            "Transfer-Encoding": "chunked"}  # fmt: skip
    status, body = _exchange(server, head, _chunked(LIMIT + 64 * 1024))
    assert status == 413
    assert "limit" in orjson.loads(body)["error"]
    # Within the limit, chunked or not, a body goes through.
    name = b'{"name": "Reading group"}'
    chunks = [b"%x\r\n%s\r\n" % (len(name), name), b"0\r\n\r\n"]
    assert _exchange(server, head, chunks)[0] == 201
    del head["Transfer-Encoding"]
    assert _exchange(server, head | {"Content-Length": str(len(name))}, [name])[0] == 201


def test_an_api_body_without_a_token_gets_its_401_unread(server: str) -> None:
    head = {"Content-Type": "application/json", "Content-Length": str(LIMIT // 2)}
    status, body = _exchange(server, head, [])
    assert status == 401
    assert "token is needed" in orjson.loads(body)["error"]


def test_an_api_body_with_a_revoked_token_gets_its_401_unread(
    server: str, token: str, engine: Engine
) -> None:
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        user = user_store.get_user_by_email(conn, "a@example.org")
        assert user is not None
        (made,) = token_store.list_api_tokens(conn, user.id)
        token_store.revoke_api_token(conn, user.id, made.id, now)
    head = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
            "Content-Length": str(LIMIT // 2)}  # fmt: skip
    status, body = _exchange(server, head, [])
    assert status == 401
    assert "revoked" in orjson.loads(body)["error"]


def test_an_oversized_form_gets_a_page_saying_the_limit(site: Site) -> None:
    response = site.client.post(
        "/signin", data={"csrf": site.csrf("/signin"), "email": "x" * (LIMIT + 1)}
    )
    assert response.status_code == 413
    assert f"{LIMIT:,} bytes" in response.text and "<!doctype html>" in response.text
