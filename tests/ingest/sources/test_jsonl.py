"""JSON Lines / JSON files in the shared corpus format."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from paperroute.domain import Paper, Rejected
from paperroute.ingest.sources.jsonl import read_json_file

GOOD = {
    "id": "2503.11742",
    "title": "Safe Vision-Language Models\n via Unsafe Weights Manipulation",
    "summary": "Vision-language models (VLMs) often\ninherit the biases.",
    "authors": ["Moreno D'Incà", "Elia Peruzzo"],
    "categories": ["cs.CV", "cs.AI"],
    "comment": "Work in progress",
    "announced": "2025-03-18",
}


def test_reads_gzipped_jsonl_and_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "papers.jsonl.gz"
    lines = [orjson.dumps(GOOD), b"{not json", b"", orjson.dumps({"id": "x1", "title": "T"}),
             orjson.dumps({**GOOD, "id": "2503.11743", "title": ""}), orjson.dumps([1, 2])]  # fmt: skip
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    items = list(read_json_file(path))
    paper = items[0]
    assert isinstance(paper, Paper)
    assert paper.title == "Safe Vision-Language Models via Unsafe Weights Manipulation"
    assert paper.abstract == "Vision-language models (VLMs) often inherit the biases."
    assert paper.categories == ("cs.CV", "cs.AI")
    assert items[1:] == [
        Rejected("papers.jsonl.gz:2", "invalid JSON (unexpected character, expected a string key)"),
        Rejected("papers.jsonl.gz:4", "'x1' is not an arXiv id"),
        Rejected("papers.jsonl.gz:5", "empty title"),
        Rejected("papers.jsonl.gz:6", "not a JSON object"),
    ]


def test_reads_a_json_array(tmp_path: Path) -> None:
    path = tmp_path / "papers.json"
    path.write_bytes(orjson.dumps([GOOD, {"title": None}]))
    items = list(read_json_file(path))
    assert isinstance(items[0], Paper)
    assert items[1] == Rejected("papers.json[1]", "missing title")


def test_wrong_encoding_is_rejected_per_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(orjson.dumps(GOOD) + b"\n" + '{"title": "Caf\xe9"}'.encode("latin-1"))
    items = list(read_json_file(path))
    assert isinstance(items[0], Paper)
    assert isinstance(items[1], Rejected) and items[1].location == "latin1.jsonl:2"
