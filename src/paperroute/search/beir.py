"""Reading a retrieval benchmark laid out as BEIR publishes it.

    FOLDER/corpus.jsonl      {"_id": "d1", "title": "...", "text": "...", ...}
    FOLDER/queries.jsonl     {"_id": "q1", "text": "...", ...}
    FOLDER/qrels/SPLIT.tsv   query-id<TAB>corpus-id<TAB>score, after one header line

Held-out benchmarks come from many hands, so the reader takes what BEIR's own
loader takes and a little more: extra fields and `metadata` objects, missing
or null titles, a UTF-8 byte order mark, CRLF line ends, blank lines, numeric
ids, qrels with extra columns or space separators, and `.jsonl.gz`/`.tsv.gz`
files in place of plain ones. What it cannot make sense of raises `BeirError`
naming the file and line, instead of silently measuring something else.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = ["BeirError", "BeirSet", "load_beir", "read_corpus", "read_qrels", "read_queries"]

_BOM = b"\xef\xbb\xbf"


class BeirError(ValueError):
    """A benchmark file that is missing or malformed; the message names file and line."""


@dataclass(frozen=True)
class BeirSet:
    """One split of a benchmark, ready to index and evaluate.

    `queries` holds only the queries judged in the split. `qrels` maps query id
    to {doc id: grade}; it may name documents absent from the corpus (they
    still count as relevant, as in BEIR). `notes` says what was tolerated,
    for the report.
    """

    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    notes: tuple[str, ...] = ()


def _resolve(path: Path) -> Path:
    """The file, or its gzipped twin; a clear error when neither exists."""
    if path.is_file():
        return path
    zipped = path.with_name(path.name + ".gz")
    if zipped.is_file():
        return zipped
    raise BeirError(f"{path}: file not found")


def _open(path: Path) -> io.BufferedIOBase:
    try:
        return gzip.GzipFile(path, "rb") if path.suffix == ".gz" else path.open("rb")
    except OSError as exc:
        raise BeirError(f"{path}: cannot open ({exc.strerror or exc})") from exc


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, content) for each non-blank line, BOM and line ends removed."""
    path = _resolve(path)
    with _open(path) as handle:
        try:
            for number, raw in enumerate(handle, start=1):
                line = raw.removeprefix(_BOM) if number == 1 else raw
                line = line.strip()
                if line:
                    yield number, line
        except (OSError, EOFError) as exc:
            # A truncated or corrupt gzip stream fails mid-read.
            raise BeirError(f"{path}: cannot read ({exc})") from exc


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in _lines(path):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise BeirError(f"{path} line {number}: not valid JSON ({exc})") from exc
        if not isinstance(record, dict):
            raise BeirError(f"{path} line {number}: expected a JSON object")
        yield number, record


def _id(record: dict[str, Any], path: Path, number: int) -> str:
    value = record.get("_id")
    # Some exports write numeric ids; qrels always hold them as text.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise BeirError(f'{path} line {number}: missing or empty "_id"')
    return value.strip()


def _text(record: dict[str, Any], key: str, path: Path, number: int) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BeirError(f'{path} line {number}: "{key}" must be a string')
    return value


def read_corpus(path: Path) -> tuple[dict[str, tuple[str, str]], int]:
    """Doc id -> (title, text), and how many repeated ids were overwritten (last wins, as in BEIR)."""
    corpus: dict[str, tuple[str, str]] = {}
    repeated = 0
    for number, record in _records(path):
        doc = _id(record, path, number)
        repeated += doc in corpus
        corpus[doc] = (_text(record, "title", path, number), _text(record, "text", path, number))
    return corpus, repeated


def read_queries(path: Path) -> dict[str, str]:
    """Query id -> text. A query without text cannot be run, so it is an error."""
    queries: dict[str, str] = {}
    for number, record in _records(path):
        query = _id(record, path, number)
        if not isinstance(record.get("text"), str):
            raise BeirError(f'{path} line {number}: query {query!r} has no "text" string')
        queries[query] = record["text"]
    return queries


def _fields(line: bytes, path: Path, number: int) -> list[str]:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BeirError(f"{path} line {number}: not UTF-8 ({exc.reason})") from exc
    fields = [field.strip() for field in text.split("\t")]
    if len(fields) < 3:
        # Hand-made qrels are sometimes space-separated; ids never contain spaces.
        fields = text.split()
    if len(fields) < 3:
        raise BeirError(
            f"{path} line {number}: expected query-id, corpus-id and score "
            f"separated by tabs, got {text!r}"
        )
    return fields


def _grade(value: str) -> int | None:
    """The integer grade in a score field ("2", "-1", "1.0"), or None if it is none."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Query id -> {doc id: grade}. The first line must be a header, as BEIR writes it.

    BEIR's loader skips the first line unread, so a file without a header
    would silently lose a judgment there: we refuse it instead.
    """
    qrels: dict[str, dict[str, int]] = {}
    lines = _lines(path)
    first = next(lines, None)
    if first is None:
        raise BeirError(f"{path}: no judgments (the file is empty)")
    number, line = first
    header = _fields(line, path, number)
    if _grade(header[2]) is not None:
        raise BeirError(
            f"{path} line {number}: missing header; the first line must be "
            f"'query-id<TAB>corpus-id<TAB>score', got {line.decode('utf-8', 'replace')!r}"
        )
    for number, line in lines:
        query, doc, score, *_ = _fields(line, path, number)
        grade = _grade(score)
        if grade is None:
            raise BeirError(f"{path} line {number}: score {score!r} is not an integer")
        qrels.setdefault(query, {})[doc] = grade
    if not qrels:
        raise BeirError(f"{path}: no judgments after the header")
    return qrels


def _split_file(folder: Path, split: str) -> Path:
    path = folder / "qrels" / f"{split}.tsv"
    if path.is_file() or path.with_name(path.name + ".gz").is_file():
        return path
    found = sorted(
        p.name.removesuffix(".gz").removesuffix(".tsv") for p in folder.glob("qrels/*.tsv*")
    )
    have = f" (qrels/ has: {', '.join(found)})" if found else ""
    raise BeirError(f"{path}: file not found{have}")


def load_beir(folder: Path, split: str = "test") -> BeirSet:
    """The corpus, the split's judged queries and its judgments, from a BEIR folder."""
    if not folder.is_dir():
        raise BeirError(f"{folder}: not a folder")
    qrels = read_qrels(_split_file(folder, split))
    corpus, repeated = read_corpus(folder / "corpus.jsonl")
    all_queries = read_queries(folder / "queries.jsonl")
    notes: list[str] = []
    if repeated:
        notes.append(f"corpus.jsonl: {repeated} repeated document ids; the last of each was kept")
    # Judgments for a query we have no text for cannot be run; scoring them
    # as zero would blame the system for the data, so they are left out.
    unknown = sorted(q for q in qrels if q not in all_queries)
    if unknown:
        notes.append(
            f"qrels/{split}.tsv: {len(unknown)} query ids not in queries.jsonl were skipped"
            f" (e.g. {unknown[0]!r})"
        )
        qrels = {q: judged for q, judged in qrels.items() if q in all_queries}
    missing_docs = sum(1 for judged in qrels.values() for doc in judged if doc not in corpus)
    if missing_docs:
        notes.append(
            f"qrels/{split}.tsv: {missing_docs} judgments name documents not in corpus.jsonl;"
            " they still count as relevant"
        )
    queries = {q: all_queries[q] for q in qrels}
    return BeirSet(corpus=corpus, queries=queries, qrels=qrels, notes=tuple(notes))
