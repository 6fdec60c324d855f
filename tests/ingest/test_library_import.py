"""A reader's library from Zotero and friends: read in each format, matched to papers here by
arXiv id, DOI and title, filed in a collection; what is not here is kept and listed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine

from paperroute.bibtex import bibtex_entries
from paperroute.citations import csl_items, ris_text
from paperroute.domain import Paper, Rejected
from paperroute.ingest.library_import import import_library
from paperroute.ingest.normalize import build_paper
from paperroute.ingest.sources.jsonl import read_json_file
from paperroute.ingest.sources.library import LibraryFormatError, read_library, read_library_file
from paperroute.store import collections as collection_store
from paperroute.store.interests import list_interests
from paperroute.store.papers import upsert_papers
from paperroute.store.users import add_user
from tests.conftest import FIXTURES

NOW = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
LIBRARY = FIXTURES / "library"


def _corpus() -> list[Paper]:
    papers = [p for p in read_json_file(FIXTURES / "papers-slice.jsonl") if isinstance(p, Paper)]
    extra = [
        build_paper(source="t", title="A Journal Paper Known Here by Its DOI", abstract="x",
                    doi="10.1000/known.doi", authors=["Ada Lovelace"]),
        build_paper(source="t", title="A paper known here only by its title, written differently",
                    abstract="y", authors=["Alan Turing"]),
    ]  # fmt: skip
    return papers + extra


@pytest.fixture
def reader(engine: Engine) -> int:
    with engine.begin() as conn:
        upsert_papers(conn, _corpus(), NOW)
        return add_user(conn, "reader@example.org", NOW).id


@pytest.mark.parametrize("name", ["zotero.ris", "zotero.json", "better-bibtex.bib"])
def test_each_format_is_matched_by_id_doi_and_title(engine: Engine, reader: int, name: str) -> None:
    items = read_library_file(LIBRARY / name)
    with engine.begin() as conn:
        report = import_library(conn, reader, items, NOW, collection_name="My library")
        in_collection = collection_store.paper_ids_in(conn, report.collection_id)
        interests = list_interests(conn, reader)
    expected = 3 if name != "better-bibtex.bib" else 2  # the .bib has no title-only entry
    assert report.matched == report.added == len(in_collection) == expected
    assert [p.title for p in report.unmatched] == ["A Book That Is Not on This Site"]
    assert [p.title for p in interests.texts.values()] == ["A Book That Is Not on This Site"]
    if name != "zotero.ris":  # an item without a title / a broken entry: listed, not lost
        assert len(report.rejected) == 1 and isinstance(report.rejected[0], Rejected)


def test_importing_again_adds_nothing_twice(engine: Engine, reader: int) -> None:
    items = read_library_file(LIBRARY / "zotero.ris")
    with engine.begin() as conn:
        first = import_library(conn, reader, items, NOW, collection_name="Lib")
        again = import_library(conn, reader, items, NOW, collection_name="Lib")
        interests = list_interests(conn, reader)
    assert again.collection_id == first.collection_id and again.added == 0
    assert len(interests.texts) == 1


@pytest.mark.parametrize("fmt", ["bib", "ris", "csl.json"])
def test_our_own_exports_come_back_whole(engine: Engine, reader: int, fmt: str) -> None:
    corpus = _corpus()
    exported = {"bib": lambda: bibtex_entries(corpus), "ris": lambda: ris_text(corpus),
                "csl.json": lambda: orjson.dumps(csl_items(corpus)).decode()}[fmt]()  # fmt: skip
    items = read_library(exported.encode(), f"library.{fmt}")
    with engine.begin() as conn:
        report = import_library(conn, reader, items, NOW, collection_name="Round trip")
    assert report.entries == len(corpus) and not report.rejected
    assert report.matched == len(corpus) and not report.unmatched


def test_files_that_are_no_library_get_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LibraryFormatError, match="not BibTeX, RIS or CSL-JSON"):
        read_library(b"just some words", "notes.txt")
    with pytest.raises(LibraryFormatError, match="not UTF-8"):
        read_library("Zoë".encode("utf-16"), "library.bib")
    with pytest.raises(LibraryFormatError, match="export CSL JSON again"):
        read_library(b"[{broken", "library.json")
    with pytest.raises(LibraryFormatError, match="cannot read"):
        read_library_file(tmp_path / "missing.bib")
