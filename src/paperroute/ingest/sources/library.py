"""A reader's library as reference managers export it: BibTeX, RIS or CSL-JSON.

Zotero (and Better BibTeX), Mendeley, JabRef and Paperpile write these three.
Each entry becomes a `Paper` carrying what identifies it (arXiv id, DOI, title);
an entry that cannot be one becomes `Rejected` with its place in the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import rispy

from paperroute.domain import Paper, Rejected, SourceItem
from paperroute.ingest.normalize import RecordError, build_paper
from paperroute.ingest.sources.bibtex import arxiv_id_in_text, clean_doi, read_bibtex_text

__all__ = ["LibraryFormatError", "read_library", "read_library_file"]

SOURCE = "library"
MAX_LIBRARY_BYTES = 50_000_000  # a reader's whole library, with abstracts: tens of MB at most


class LibraryFormatError(ValueError):
    """A file that is none of the formats read here; the message says what to export."""


def _first(record: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = record.get(key)
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _arxiv_id(*texts: object) -> str | None:
    for text in texts:
        values = text if isinstance(text, list) else [text]
        for value in values:
            if isinstance(value, str) and (found := arxiv_id_in_text(value)):
                return found
    return None


def _ris_paper(record: dict[str, Any]) -> Paper:
    authors = record.get("authors") or record.get("first_authors") or []
    names = [" ".join(reversed([p.strip() for p in a.split(",", 1)])) for a in authors]
    year = _first(record, "year", "publication_year", "date")[:4]
    return build_paper(
        source=SOURCE,
        title=_first(record, "title", "primary_title", "translated_title"),
        abstract=_first(record, "abstract", "notes_abstract"),
        arxiv_id=_arxiv_id(
            record.get("urls"),
            record.get("doi"),
            record.get("accession_number"),
            record.get("notes"),
            record.get("journal_name"),
            record.get("note"),
        ),
        authors=[n for n in names if n],
        submitted=dt.date(int(year), 1, 1) if year.isdigit() else None,
        journal_ref=_first(record, "journal_name", "secondary_title") or None,
        doi=clean_doi(record.get("doi")),
    )


def read_ris_text(text: str, where: str) -> Iterator[SourceItem]:
    for n, record in enumerate(rispy.loads(text, skip_unknown_tags=True), 1):
        try:
            yield _ris_paper(record)
        except RecordError as exc:
            yield Rejected(f"{where}: record {n}", str(exc))


def _csl_name(person: object) -> str:
    if not isinstance(person, dict):
        return ""
    if literal := person.get("literal"):
        return str(literal)
    return " ".join(str(person.get(k) or "") for k in ("given", "family")).strip()


def _csl_day(item: dict[str, Any]) -> dt.date | None:
    try:
        parts = item["issued"]["date-parts"][0]
        return dt.date(int(parts[0]), int(parts[1]) if len(parts) > 1 else 1, 1)
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _csl_paper(item: object) -> Paper:
    if not isinstance(item, dict):
        raise RecordError("not a CSL-JSON item (an object with a title)")
    authors = item.get("author") if isinstance(item.get("author"), list) else []
    return build_paper(
        source=SOURCE,
        title=item.get("title"),
        abstract=item.get("abstract") if isinstance(item.get("abstract"), str) else "",
        arxiv_id=_arxiv_id(
            item.get("URL"),
            item.get("DOI"),
            item.get("number"),
            item.get("archive_location"),
            item.get("note"),
        ),
        authors=[n for n in map(_csl_name, authors or []) if n],
        submitted=_csl_day(item),
        journal_ref=item.get("container-title") or None,
        doi=clean_doi(item.get("DOI")),
    )


def read_csl_json_text(text: str, where: str) -> Iterator[SourceItem]:
    try:
        items = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise LibraryFormatError(
            f"{where} is not valid JSON ({exc}); export CSL JSON again"
        ) from None
    if isinstance(items, dict) and isinstance(items.get("items"), list):
        items = items["items"]
    if not isinstance(items, list):
        raise LibraryFormatError(f"{where}: CSL-JSON is a list of items; this is not one")
    for n, item in enumerate(items, 1):
        try:
            yield _csl_paper(item)
        except RecordError as exc:
            yield Rejected(f"{where}: item {n}", str(exc))


def _check_size(name: str, size: int) -> None:
    if size > MAX_LIBRARY_BYTES:
        raise LibraryFormatError(
            f"{name} is {size / 1e6:.0f} MB; the limit is {MAX_LIBRARY_BYTES / 1e6:.0f} MB: "
            "export it in parts (a collection at a time)"
        )


def read_library(data: bytes, name: str) -> list[SourceItem]:
    """The entries of a library file, whichever of the three formats it is in."""
    _check_size(name, len(data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LibraryFormatError(f"{name} is not UTF-8 text: export it as UTF-8") from None
    head = text.lstrip()[:200]
    if head.startswith(("[", "{")):
        return list(read_csl_json_text(text, name))
    if head.startswith("TY  -") or "\nTY  -" in text[:5000]:
        return list(read_ris_text(text, name))
    if "@" in text[:100_000]:
        return list(read_bibtex_text(text, name))
    raise LibraryFormatError(
        f"{name} is not BibTeX, RIS or CSL-JSON: export the library in one of those formats"
    )


def read_library_file(path: Path) -> list[SourceItem]:
    try:
        _check_size(path.name, path.stat().st_size)
        return read_library(path.read_bytes(), path.name)
    except OSError as exc:
        raise LibraryFormatError(f"cannot read {path}: {exc.strerror}") from None
