"""`ingest file` holds one record at a time, and never a record past the limit.

A 1 MB .gz holding a 1 GiB line took 2.3 GB of memory, and a JSON array was
read whole. Now a line or array element longer than MAX_RECORD_BYTES is
rejected with its place in the file and skipped; the records around it are read.
"""

from __future__ import annotations

import gzip
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from paperroute.cli.main import app
from paperroute.domain import Paper, Rejected, SourceItem
from paperroute.ingest.sources.jsonl import MAX_RECORD_BYTES, read_json_file
from paperroute.store.db import make_engine
from paperroute.store.papers import list_papers

HUGE = 200 * 1024 * 1024  # bytes in the one long record
FIRST = {"id": "2503.11731", "title": "Before the long record", "announced": "2025-03-18"}
LAST = {"id": "2503.11732", "title": "After the long record", "announced": "2025-03-18"}


def _write_gz(path: Path, head: bytes, filler: bytes, size: int, tail: bytes) -> None:
    """A gzip file with `size` bytes of `filler` between head and tail, written in pieces."""
    piece = filler * (1024 * 1024 // len(filler))
    with gzip.GzipFile(path, "wb", compresslevel=1, mtime=0) as out:
        out.write(head)
        for _ in range(size // len(piece)):
            out.write(piece)
        out.write(tail)


def _measured(read: Callable[[], list[SourceItem]]) -> tuple[list[SourceItem], int, float]:
    """What `read` returns, the peak of memory it allocated, and the CPU seconds it took."""
    tracemalloc.start()
    started = time.process_time()
    try:
        items = read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return items, peak, time.process_time() - started


def _check(items: list[SourceItem], peak: int, seconds: float, where: str) -> None:
    assert peak < 4 * MAX_RECORD_BYTES < HUGE // 10, f"peak {peak:,} bytes"
    assert seconds < 20, f"{seconds:.1f} s of CPU"
    first, long, last = items
    assert isinstance(first, Paper) and first.title == FIRST["title"]
    assert isinstance(long, Rejected) and long.location == where
    assert f"longer than {MAX_RECORD_BYTES:,} bytes" in long.reason
    assert isinstance(last, Paper) and last.title == LAST["title"]  # the run went on


@pytest.mark.slow
def test_a_gzipped_200_mb_line_is_rejected_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "papers.jsonl.gz"
    head = orjson.dumps(FIRST) + b'\n{"id": "2503.00001", "title": "'
    _write_gz(path, head, b"x", HUGE, b'"}\n' + orjson.dumps(LAST) + b"\n")
    assert path.stat().st_size < 2 * 1024 * 1024  # a small file, a huge line
    items, peak, seconds = _measured(lambda: list(read_json_file(path)))
    _check(items, peak, seconds, "papers.jsonl.gz:2")


@pytest.mark.slow
def test_a_json_array_is_streamed_and_a_200_mb_element_skipped(tmp_path: Path) -> None:
    path = tmp_path / "papers.json.gz"
    head = b"[" + orjson.dumps(FIRST) + b',\n{"id": "2503.00001", "title": "'
    # Escapes and brackets inside the string: the scan must not take them for structure.
    _write_gz(path, head, b'ab\\"[{,]}\\\\', HUGE, b'"},\n' + orjson.dumps(LAST) + b"]")
    items, peak, seconds = _measured(lambda: list(read_json_file(path)))
    _check(items, peak, seconds, "papers.json.gz[1]")


def test_a_long_array_holds_one_record_at_a_time(tmp_path: Path) -> None:
    """Memory does not grow with the file, as it did with orjson.loads of all of it."""
    path = tmp_path / "papers.json"
    record = {"title": "A paper", "abstract": "Words " * 50, "authors": ["A. Author"]}
    padding = "x" * 10_000  # a field no paper reads: the file is big, the papers cheap
    records = [record | {"id": f"2503.{n:05d}", "extra": padding} for n in range(3_000)]
    path.write_bytes(orjson.dumps(records))
    assert path.stat().st_size > 30_000_000
    papers = 0

    def count() -> list[SourceItem]:
        nonlocal papers
        for item in read_json_file(path):
            papers += isinstance(item, Paper)
        return []

    _, peak, _ = _measured(count)
    assert papers == 3_000
    assert peak < 4 * 1024 * 1024, f"peak {peak:,} bytes"


@pytest.mark.parametrize(
    ("data", "location", "reason"),
    [
        (b'[{"title": "A"}, {"title": ', "papers.json", "ends inside record 1"),
        (b'[{"title": "A"}, {"title": "B"} {"title": "C"}]', "papers.json[1]", "invalid JSON"),
        (b'[{"title": "A"}, 2 3]', "papers.json[1]", "invalid JSON"),
        (b'[{"title": "A"}, {"title": "B"}}]', "papers.json", "expected , or ] after record 1"),
        (b'[{"title": "A"}, {"title": tru}, {"title": "C"}]', "papers.json[1]", "invalid JSON"),
        (b'[{"title": "A"}, "x"]', "papers.json[1]", "not a JSON object"),
        (b'[{"title": "A"}] [', "papers.json", "more after the array's closing ]"),
    ],
)
def test_a_broken_array_says_where(tmp_path: Path, data: bytes, location: str, reason: str) -> None:
    path = tmp_path / "papers.json"
    path.write_bytes(data)
    items = list(read_json_file(path))
    assert isinstance(items[0], Paper) and items[0].title == "A"
    rejected = [item for item in items if isinstance(item, Rejected)]
    assert len(rejected) == 1 and rejected[0].location == location, rejected
    assert reason in rejected[0].reason


def test_the_cli_reports_the_long_line_and_stores_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "papers.jsonl"
    long = orjson.dumps({"id": "2503.00001", "title": "x" * (MAX_RECORD_BYTES + 10)})
    path.write_bytes(b"\n".join([orjson.dumps(FIRST), long, orjson.dumps(LAST)]))
    env = {"PAPERROUTE_HOME": str(tmp_path / "home")}
    runner = CliRunner()
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    result = runner.invoke(app, ["ingest", "file", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "1 records were skipped" in result.output
    shown = runner.invoke(app, ["runs", "show", "1"], env=env | {"COLUMNS": "300"})
    assert "papers.jsonl:2" in shown.output and "longer than" in shown.output, shown.output
    engine = make_engine(f"sqlite:///{tmp_path / 'home' / 'paperroute.db'}")
    with engine.connect() as conn:
        titles = {paper.title for paper in list_papers(conn).papers}
    engine.dispose()
    assert titles == {FIRST["title"], LAST["title"]}
