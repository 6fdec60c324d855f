"""A reader's library brought in: its papers found here go into a collection (which makes
them what the reader saved, for recommendations); the others become stated interests
and are listed, so nothing in the file is lost."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Connection

from paperroute.domain import Paper, Rejected, SourceItem
from paperroute.store import collections as collection_store
from paperroute.store.interests import add_interests
from paperroute.store.references import match_references

__all__ = ["MAX_TEXT_INTERESTS", "LibraryImport", "import_library"]

# Entries not here become interests, the newest first, up to this many: enough to say
# what a reader works on, few enough for the reader model to stay fast.
MAX_TEXT_INTERESTS = 200


@dataclass(slots=True)
class LibraryImport:
    collection_id: int
    collection_name: str
    entries: int = 0
    matched: int = 0
    added: int = 0  # matched papers new to the collection
    unmatched: list[Paper] = field(default_factory=list[Paper])  # every one, for the report
    kept: int = 0  # of the unmatched, how many became new interests
    rejected: list[Rejected] = field(default_factory=list[Rejected])


def _collection(conn: Connection, user_id: int, name: str, now: dt.datetime) -> tuple[int, str]:
    for collection in collection_store.list_collections(conn, user_id):
        if collection.name == name:
            return collection.id, collection.name
    created = collection_store.create_collection(conn, user_id, name, now)
    return created.id, created.name


def import_library(
    conn: Connection,
    user_id: int,
    items: list[SourceItem],
    now: dt.datetime,
    *,
    collection_name: str,
) -> LibraryImport:
    """Match each entry by arXiv id, DOI, then title; file the matches, keep the rest."""
    entries = [item for item in items if isinstance(item, Paper)]
    collection_id, name = _collection(conn, user_id, collection_name, now)
    report = LibraryImport(collection_id, name, entries=len(entries))
    report.rejected = [item for item in items if isinstance(item, Rejected)]
    matched = match_references(conn, entries)
    for entry, paper_id in zip(entries, matched, strict=True):
        if paper_id is None:
            report.unmatched.append(entry)
            continue
        report.matched += 1
        report.added += collection_store.add_paper(conn, collection_id, paper_id, now)
    newest = sorted(report.unmatched, key=lambda p: p.submitted or dt.date.min, reverse=True)
    report.kept = add_interests(conn, user_id, now, texts=newest[:MAX_TEXT_INTERESTS])
    return report
