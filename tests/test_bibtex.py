"""BibTeX export: TeX in a title is kept once, and every sample title reads back the same."""

from __future__ import annotations

import gzip
import json
from importlib import resources

import bibtexparser
import pytest
from pylatexenc.latex2text import LatexNodes2Text

from paperroute.bibtex import bibtex_entries, bibtex_entry
from paperroute.ingest.normalize import build_paper

DECODE = LatexNodes2Text(math_mode="verbatim")


def _paper(title: str, n: int = 1):
    return build_paper(source="t", arxiv_id=f"2503.{n:05d}", title=title, abstract="a",
                       authors=["Ada Lovelace"], categories=["cs.LG"], announced="2026-03-20")  # fmt: skip


def _sample_titles() -> list[str]:
    sample = resources.files("paperroute") / "sample" / "papers.jsonl.gz"
    with resources.as_file(sample) as path, gzip.open(path, "rt") as lines:
        return [json.loads(line)["title"] for line in lines]


def _read_back(text: str) -> list[str]:
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks
    return [entry["title"] for entry in library.entries]


def _normal(text: str) -> str:
    # pylatexenc reads \textasciicircum{} (a literal ^ in LaTeX) as U+02C6, a modifier letter.
    return " ".join(text.replace("\u02c6", "^").split())


def test_tex_in_a_title_is_kept_once() -> None:
    title = r"$D^3$-RSMDE: 40$\times$ Faster and High-Fidelity Depth"
    entry = bibtex_entry(_paper(title))
    assert "title = {$D^3$-RSMDE: 40$\\times$ Faster and High-Fidelity Depth}" in entry
    assert r"\textbackslash" not in entry and r"\$" not in entry


@pytest.mark.parametrize(
    ("title", "field"),
    [
        ("R&D: 50% of AIRA_2 #1 M^3", r"R\&D: 50\% of AIRA\_2 \#1 M\textasciicircum{}3"),
        (r"Counting Without Numbers \& Finding", r"Counting Without Numbers \& Finding"),
        (r"Learning $\mathcal{A}$ fast", r"Learning $\mathcal{A}$ fast"),
        ("Unbalanced {brace", r"Unbalanced \{brace"),
    ],
)
def test_bare_specials_are_escaped_and_commands_kept(title: str, field: str) -> None:
    assert f"title = {{{field}}}" in bibtex_entry(_paper(title))


def test_every_sample_title_round_trips() -> None:
    """Export, parse with bibtexparser, decode with pylatexenc: the title as a reader reads it."""
    papers = [_paper(title, n) for n, title in enumerate(_sample_titles(), 1)]
    titles = [paper.title for paper in papers]  # as stored, which is what gets exported
    read = _read_back(bibtex_entries(papers))
    assert len(read) == len(titles) > 3000
    with_tex = 0
    for title, field in zip(titles, read, strict=True):
        if any(mark in title for mark in ("$", "\\", "--", "``")):  # TeX: both decode alike
            with_tex += 1
            assert _normal(DECODE.latex_to_text(field)) == _normal(DECODE.latex_to_text(title))
        else:  # plain text: decodes to exactly itself
            assert _normal(DECODE.latex_to_text(field)) == _normal(title), (title, field)
    assert with_tex >= 20
