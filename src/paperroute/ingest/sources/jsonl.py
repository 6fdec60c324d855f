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
from paperroute.ingest.sources.json_array import CHUNK as _CHUNK
from paperroute.ingest.sources.json_array import MAX_RECORD_BYTES, ArrayError, array_elements

__all__ = ["MAX_RECORD_BYTES", "read_json_array", "read_json_file", "record_to_paper"]

SOURCE = "file"
_TOO_LONG = (
    f"the record is longer than {MAX_RECORD_BYTES:,} bytes, far more than any paper needs; "
    "skipped (is it one record, or a file with its line breaks lost?)"
)


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

    JSON Lines and JSON arrays are both streamed, so a corpus of any size reads
    in constant memory; a line or array element over MAX_RECORD_BYTES is
    rejected unread, wherever it is. A damaged or cut-short gzip file raises
    SourceError where the damage starts.
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
            yield from read_json_array(path.name, handle)
            return
        for number, line in _lines(handle):
            where = f"{path.name}:{number}"
            if line is None:
                yield Rejected(where, _TOO_LONG)
            elif line.strip():
                yield _record(where, line)


def _lines(handle: io.BufferedIOBase) -> Iterator[tuple[int, bytes | None]]:
    """(number, line) for each line; None for a line too long to hold, which is skipped."""
    number = 0
    while line := handle.readline(MAX_RECORD_BYTES + 1):
        number += 1
        if len(line) <= MAX_RECORD_BYTES or line.endswith(b"\n"):
            yield number, line
            continue
        while (rest := handle.readline(_CHUNK)) and not rest.endswith(b"\n"):
            pass  # the rest of the long line, a piece at a time
        yield number, None


def _record(where: str, text: bytes | str) -> SourceItem:
    try:
        return record_to_paper(orjson.loads(text))
    except orjson.JSONDecodeError as exc:
        return Rejected(where, f"invalid JSON ({exc.msg})")
    except RecordError as exc:
        return Rejected(where, str(exc))


def read_json_array(name: str, handle: io.BufferedIOBase) -> Iterator[SourceItem]:
    """Papers from a JSON array, one element at a time; `name` is the file's, for messages."""
    try:
        for index, text in enumerate(array_elements(handle)):
            where = f"{name}[{index}]"
            yield Rejected(where, _TOO_LONG) if text is None else _record(where, text)
    except ArrayError as exc:
        yield Rejected(name, f"invalid JSON array: {exc}; nothing after that was read")
