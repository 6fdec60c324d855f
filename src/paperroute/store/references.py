"""Entries of a reader's library matched to papers here: by arXiv id, DOI, then title."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from paperroute.domain import Paper
from paperroute.store.papers import ids_for_refs, title_hash
from paperroute.store.schema import papers

__all__ = ["match_references"]

_CHUNK = 500  # values per IN (...): well within every database's limit


def _chunks(values: Sequence[str]) -> list[list[str]]:
    unique = list(dict.fromkeys(values))
    return [unique[i : i + _CHUNK] for i in range(0, len(unique), _CHUNK)]


def _by_doi(conn: Connection, dois: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks([d.lower() for d in dois]):
        rows = conn.execute(
            select(papers.c.id, papers.c.doi).where(func.lower(papers.c.doi).in_(chunk))
        )
        found |= {row.doi.lower(): row.id for row in rows}
    return found


def _by_title(conn: Connection, hashes: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(hashes):
        rows = conn.execute(
            select(papers.c.id, papers.c.title_hash).where(papers.c.title_hash.in_(chunk))
        )
        for row in rows:
            found.setdefault(row.title_hash, row.id)
    return found


def match_references(conn: Connection, entries: Sequence[Paper]) -> list[int | None]:
    """The paper id each entry names (its arXiv id, else its DOI, else its title), or None."""
    by_id: dict[str, int] = {}
    for chunk in _chunks([e.arxiv_id for e in entries if e.arxiv_id]):
        by_id |= ids_for_refs(conn, chunk)
    by_doi = _by_doi(conn, [e.doi for e in entries if e.doi])
    by_title = _by_title(conn, [title_hash(e.title) for e in entries])
    matched: list[int | None] = []
    for entry in entries:
        found = by_id.get(entry.arxiv_id) if entry.arxiv_id else None
        if found is None and entry.doi:
            found = by_doi.get(entry.doi.lower())
        matched.append(found if found is not None else by_title.get(title_hash(entry.title)))
    return matched
