"""The JSON lines / JSON file reader against any file: papers, rejects or a SourceError."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperroute.domain import Paper, Rejected
from paperroute.ingest.sources.errors import SourceError
from paperroute.ingest.sources.jsonl import read_json_file
from tests.ingest.sources.fuzzing import (
    FIXTURES,
    byte_damage,
    check_error,
    check_item,
    corrupted,
    dump_json,
    fuzz_settings,
    mutated_json,
    outcome,
)

LINES = (FIXTURES / "papers-tiny.jsonl").read_bytes().splitlines()[:12]
ARRAYS = [b"[" + b",".join(LINES[start : start + 3]) + b"]" for start in range(0, 12, 3)]
FIELDS = ["id", "arxiv_id", "title", "summary", "abstract", "authors", "name", "categories",
          "comment", "journal_ref", "doi", "submitted", "updated", "announced", "code_url",
          "project_url"]  # fmt: skip
DEEP = b"[" * 1_000 + b"]" * 1_000  # as deep as orjson reads


@st.composite
def json_files(draw: st.DrawFn) -> bytes:
    """Recorded records edited, written as lines or one array, maybe gzipped, maybe damaged."""
    layout = draw(st.integers(0, 9))
    if layout == 0:
        return draw(st.binary(max_size=300))
    records = draw(mutated_json(ARRAYS, FIELDS))
    data = dump_json(records) if layout <= 2 else b"\n".join(map(dump_json, records))
    if layout in (2, 8, 9):
        data = gzip.compress(data, mtime=0)
    return corrupted(data, draw(byte_damage))


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "papers.jsonl"


@fuzz_settings
@given(data=json_files())
def test_any_file_reads_quickly_and_sanely(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    result = outcome(lambda: list(read_json_file(path)))
    if isinstance(result, SourceError):
        check_error(result, path.name)
        return
    for item in result:
        check_item(item, path.name)


# --- inputs fuzzing found --------------------------------------------------------

GOOD = b'{"id": "2503.11742", "title": "A title", "authors": ["A. Author"]}'


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        (b'"id": DEEP', "arXiv id is not text"),
        (b'"comment": DEEP', "comment is not text"),
        (b'"doi": DEEP', "DOI is not text"),
        (b'"submitted": DEEP', "date of type list is not a string"),
        (b'"authors": [DEEP]', "author of type list is neither a name nor an object with a name"),
    ],
)
def test_a_deeply_nested_value_is_rejected(tmp_path: Path, field: bytes, reason: str) -> None:
    path = tmp_path / "papers.jsonl"
    bad = b'{"title": "Another title", ' + field.replace(b"DEEP", DEEP) + b"}"
    path.write_bytes(b"\n".join([GOOD, bad, GOOD]))
    items = list(read_json_file(path))
    assert items[1] == Rejected("papers.jsonl:2", reason)
    assert isinstance(items[0], Paper) and isinstance(items[2], Paper)


def test_deeply_nested_categories_are_no_categories(tmp_path: Path) -> None:
    path = tmp_path / "papers.json"
    path.write_bytes(b'[{"title": "A title", "categories": ["cs.LG", ' + DEEP + b"]}]")
    (paper,) = read_json_file(path)
    assert isinstance(paper, Paper) and paper.categories == ("cs.LG",)


@pytest.mark.parametrize(
    "data",
    [
        gzip.compress(b"\n".join([GOOD] * 100))[:-20],  # cut short
        b"\x1f\x8b" + b"not gzip at all",
        gzip.compress(GOOD)[:12] + b"\xff" * 40,  # damaged inside
    ],
    ids=["truncated", "bad-header", "damaged"],
)
def test_broken_gzip_stops_with_a_message_naming_the_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "papers.jsonl.gz"
    path.write_bytes(data)
    with pytest.raises(SourceError, match=r"^papers\.jsonl\.gz: the gzip data is damaged"):
        list(read_json_file(path))
