"""A reader's collection to Zotero and a Zotero collection here, through the Web API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection

from paperroute.domain import Paper
from paperroute.ingest.library_import import LibraryImport, import_library
from paperroute.store import collections as collection_store
from paperroute.store.papers import title_hash
from paperroute.zotero import ZoteroClient, ZoteroError, item_for_paper, zotero_papers

__all__ = ["PushReport", "pull_collection", "push_collection"]


@dataclass(frozen=True, slots=True)
class PushReport:
    zotero_collection: str
    sent: int
    already_there: int


def push_collection(
    conn: Connection, client: ZoteroClient, collection_id: int, zotero_name: str
) -> PushReport:
    """Every paper of the collection into the Zotero collection (made if needed), once."""
    papers = collection_store.shown_papers_in(conn, collection_id)
    key = client.ensure_collection(zotero_name)
    there = [p for p in zotero_papers(client.items(key)) if isinstance(p, Paper)]
    known = {p.arxiv_id for p in there if p.arxiv_id}
    known_titles = {title_hash(p.title) for p in there}
    new = [p for p in papers if p.arxiv_id not in known and title_hash(p.title) not in known_titles]
    sent = client.add_items([item_for_paper(p, key) for p in new])
    return PushReport(zotero_name, sent, len(papers) - len(new))


def pull_collection(
    conn: Connection,
    client: ZoteroClient,
    user_id: int,
    zotero_name: str,
    now: dt.datetime,
    *,
    into: str,
) -> LibraryImport:
    """The Zotero collection's items into the reader's collection `into`, as an import."""
    key = client.collections().get(zotero_name)
    if key is None:
        raise ZoteroError(f'There is no collection "{zotero_name}" in your Zotero library')
    return import_library(
        conn, user_id, zotero_papers(client.items(key)), now, collection_name=into
    )
