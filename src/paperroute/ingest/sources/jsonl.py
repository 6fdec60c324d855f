"""JSON Lines and JSON files in the shared corpus format (optionally gzipped).

    {"id": "2503.11731", "title": "...", "summary": "...", "authors": [...],
     "categories": ["cs.CV", ...], "comment": null, "announced": "2025-03-18"}

Also reads the optional fields `abstract`, `doi`, `journal_ref`, `submitted`,
`updated`, `code_url`, `project_url` when present.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from paperroute.domain import Paper, Rejected, SourceItem
from paperroute.ingest.normalize import RecordError, build_paper
from paperroute.ingest.sources.errors import SourceError

__all__ = ["read_json_file", "record_to_paper"]

SOURCE = "file"


def record_to_paper(record: Any, source: str = SOURCE) -> Paper:
    if not isinstance(record, dict):
        raise RecordError("not a JSON object")
    authors = record.get("authors") or []
    categories = record.get("categories") or []
    if not isinstance(authors, list) or not isinstance(categories, list):
        raise RecordError("authors and categories must be lists")
    return build_paper(
        source=source,
        arxiv_id=record.get("id") or record.get("arxiv_id"),
        title=record.get("title"),
        abstract=record.get("summary", record.get("abstract", "")),
        authors=[_author_name(a) for a in authors],
        categories=[c for c in categories if isinstance(c, str)],  # others are no category
        comment=record.get("comment"),
        journal_ref=record.get("journal_ref"),
        doi=record.get("doi"),
        submitted=record.get("submitted"),
        updated=record.get("updated"),
        announced=record.get("announced"),
        code_url=record.get("code_url"),
        project_url=record.get("project_url"),
    )


def _author_name(author: object) -> str:
    if isinstance(author, str):
        return author
    if isinstance(author, dict) and isinstance(author.get("name"), str):
        return author["name"]
    if isinstance(author, int | float):
        shown = repr(author)[:40]
    else:  # not str(): a deeply nested list overflows the stack
        shown = f"of type {type(author).__name__}"
    raise RecordError(f"author {shown} is neither a name nor an object with a name")


def _open(path: Path) -> io.BufferedIOBase:
    with path.open("rb") as raw:
        magic = raw.read(2)
    return gzip.GzipFile(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")


def read_json_file(path: Path) -> Iterator[SourceItem]:
    """Papers from a .jsonl/.json file (gzip allowed); bad lines become `Rejected`.

    JSON Lines are streamed, so a corpus of any size reads in constant memory.
    A damaged or cut-short gzip file raises SourceError where the damage starts.
    """
    try:
        yield from _read_json_file(path)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise SourceError(
            f"{path.name}: the gzip data is damaged or cut short ({exc}); "
            "copy or download the file again"
        ) from None


def _read_json_file(path: Path) -> Iterator[SourceItem]:
    with _open(path) as handle:
        first = handle.read(1024)
        handle.seek(0)
        if first.lstrip()[:1] == b"[":
            yield from _read_json_array(path, handle.read())
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                yield record_to_paper(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                yield Rejected(where, f"invalid JSON ({exc.msg})")
            except RecordError as exc:
                yield Rejected(where, str(exc))


def _read_json_array(path: Path, data: bytes) -> Iterator[SourceItem]:
    try:
        records = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        yield Rejected(path.name, f"invalid JSON ({exc.msg}, line {exc.lineno})")
        return
    for index, record in enumerate(records):
        try:
            yield record_to_paper(record)
        except RecordError as exc:
            yield Rejected(f"{path.name}[{index}]", str(exc))
