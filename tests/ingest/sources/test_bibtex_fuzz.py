"""The BibTeX reader against any text: papers or rejects naming the line, never a crash."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperroute.domain import Paper, Rejected
from paperroute.ingest.sources.bibtex import read_bibtex_text
from tests.ingest.sources.fuzzing import (
    FIXTURES,
    check_item,
    fuzz_settings,
    mutated_text,
    outcome,
    tricky_text,
)

WHERE = "refs.bib"
FILES = [
    path.read_bytes().decode("utf-8", errors="replace")
    for path in sorted((FIXTURES / "bibtex").glob("*.bib"))
]
BIBTEX_PIECES = [
    "@article{", "@misc{key,", "@string{s = {x}}", "@comment{", "@preamble{", " = ", ",\n",
    "author = {", "title = {", "{" * 8, "}" * 8, "\\\\", " and others", "von ", "{\\'{}}", " # ",
    "month = ", "year = {2025}", "eprint = {2503.11731}", "archivePrefix = {arXiv}", '"', "@",
    "=", "\\url{https://github.com/a/b}", "doi = {10.48550/arXiv.2503.1}", "date = {2025-02-30}",
    "\\begin{", "\\end{", "$$", "\\(", "~", "--", "\\newcommand", "\\def\\a{\\a}", "{\\",
]  # fmt: skip
FIELD_VALUE = re.compile(r"=\s*\{([^{}]*)\}")
VALUES = tricky_text(BIBTEX_PIECES)
FIELDS = ["title", "author", "year", "month", "date", "eprint", "archivePrefix", "eprinttype",
          "primaryClass", "url", "doi", "journal", "booktitle", "note", "volume", "abstract"]  # fmt: skip
KINDS = ["article", "misc", "INPROCEEDINGS", "string", "comment", "preamble", "", "a b"]


@st.composite
def entries(draw: st.DrawFn) -> str:
    """Entries written field by field, every value tricky, in braces, quotes or bare."""
    kind, key = draw(st.sampled_from(KINDS)), draw(tricky_text(max_size=4))
    fields = st.tuples(st.sampled_from(FIELDS), VALUES, st.sampled_from(["{}", '""', "  "]))
    body = ",\n".join(
        f"  {name} = {quotes[0]}{value}{quotes[1]}"
        for name, value, quotes in draw(st.lists(fields, max_size=6))
    )
    return f"@{kind}{{{key},\n{body}\n}}\n"


TEXTS = st.one_of(
    mutated_text(FILES, VALUES, FIELD_VALUE),
    st.lists(entries(), max_size=3).map("".join),
    tricky_text(BIBTEX_PIECES, max_size=60),
)


@fuzz_settings
@given(text=TEXTS)
def test_any_text_reads_quickly_and_sanely(text: str) -> None:
    items = outcome(lambda: list(read_bibtex_text(text, WHERE)))
    assert isinstance(items, list)  # BibTeX has no SourceError: every entry stands alone
    for item in items:
        check_item(item, WHERE)


# --- inputs fuzzing found --------------------------------------------------------


@pytest.mark.parametrize("month", ["\u00b2", "1" * 5_000, "13", "0"])
def test_a_month_int_cannot_read_is_no_month(month: str) -> None:
    text = f"@article{{a, title={{T}}, year={{2020}}, month={{{month}}}}}"
    (paper,) = read_bibtex_text(text, WHERE)
    assert isinstance(paper, Paper) and paper.submitted is None


def test_a_numeric_month_still_counts() -> None:
    (paper,) = read_bibtex_text("@article{a, title={T}, year={2020}, month={03}}", WHERE)
    assert isinstance(paper, Paper) and str(paper.submitted) == "2020-03-01"


def test_a_page_long_entry_key_is_cut_short_in_the_reason() -> None:
    (rejected,) = read_bibtex_text("@article{" + "k" * 5_000 + ", author = {A. Author}}", WHERE)
    assert isinstance(rejected, Rejected)
    assert rejected.reason == f"entry {'k' * 60 + '...'!r}: missing title"


def test_a_page_long_syntax_error_is_cut_short_in_the_reason() -> None:
    text = "@misc{key,\n  title = {T},\n  9" + "9" * 5_000 + " {A. Author}\n}\n"
    (rejected,) = read_bibtex_text(text, WHERE)
    assert isinstance(rejected, Rejected)
    assert rejected.reason.startswith("entry 'key': not valid BibTeX (Expected a `=`")
    assert len(rejected.reason) < 300
