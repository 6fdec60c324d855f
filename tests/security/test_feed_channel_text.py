"""RSS channel titles and descriptions are escaped for readers that take them for HTML.

A public collection named `<img src=x onerror=alert(1)>`, or a search feed's
`q`, went into the channel escaped for XML only: a feed reader decodes the
XML, reads the text as HTML and runs the handler. Atom says its titles are
text, so there the name stays as it is.
"""

from __future__ import annotations

import datetime as dt
import html
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.index.sync import rebuild_index
from paperroute.store import collections as collection_store
from paperroute.store.papers import upsert_papers
from paperroute.store.users import add_user
from tests.support import WordHashEmbedder
from tests.web.conftest import NOW, seed_papers

ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = "<img src=x onerror=alert(1)> & <b>friends</b>"


@pytest.fixture
def client(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with engine.begin() as conn:
        upsert_papers(conn, seed_papers(), NOW - dt.timedelta(days=1))
    rebuild_index(engine, tmp_path / "index", WordHashEmbedder())
    settings = Settings(home=tmp_path, database_url=db_url, base_url="http://testserver")
    app = create_app(settings, clock=lambda: NOW, embedder=WordHashEmbedder())
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def _channel(client: TestClient, url: str) -> ET.Element:
    response = client.get(url)
    assert response.status_code == 200, response.text
    channel = ET.fromstring(response.content).find("channel")
    assert channel is not None
    return channel


def _as_a_reader_shows_it(channel: ET.Element, name: str) -> str:
    """The XML-decoded text, checked as the HTML a reader renders, then shown as text."""
    text = channel.findtext(name, "")
    assert "<img" not in text and "<b>" not in text, f"{name} is live HTML: {text!r}"
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    return html.unescape(text)


def _public_collection(engine: Engine) -> int:
    with engine.begin() as conn:
        owner = add_user(conn, "owner@example.org", NOW)
        made = collection_store.create_collection(conn, owner.id, HOSTILE, NOW, is_public=True)
    return made.id


def test_collection_feed_channel_is_text_to_an_rss_reader(
    client: TestClient, engine: Engine
) -> None:
    number = _public_collection(engine)
    channel = _channel(client, f"/feeds/collections/{number}.rss")
    assert _as_a_reader_shows_it(channel, "title") == f"paperroute — {HOSTILE}"
    assert _as_a_reader_shows_it(channel, "description") == (
        f"Papers in the public collection {HOSTILE}."
    )


def test_search_feed_channel_is_text_to_an_rss_reader(client: TestClient) -> None:
    channel = _channel(client, f"/feeds/search.rss?q={quote(HOSTILE)}")
    assert _as_a_reader_shows_it(channel, "title") == f"paperroute — search: {HOSTILE}"
    assert _as_a_reader_shows_it(channel, "description") == (
        f"The top results of a search for {HOSTILE}."
    )


def test_atom_titles_stay_text_escaped_once(client: TestClient, engine: Engine) -> None:
    number = _public_collection(engine)
    response = client.get(f"/feeds/collections/{number}.atom")
    assert response.status_code == 200, response.text
    feed = ET.fromstring(response.content)
    title = feed.find(f"{ATOM}title")
    assert title is not None and title.get("type") in (None, "text")
    assert title.text == f"paperroute — {HOSTILE}"  # a text construct: shown as written
