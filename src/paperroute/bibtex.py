"""BibTeX entries for papers: what a reader pastes into their bibliography."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from paperroute.domain import Paper

__all__ = ["bibtex_entries", "bibtex_entry", "citation_key"]

# Characters that mean something to (La)TeX inside a braced field.
_TEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_STOP = {"a", "an", "the", "on", "of", "for", "in", "to", "and", "with", "towards", "toward"}


def _escape(text: str) -> str:
    return "".join(_TEX_SPECIALS.get(ch, ch) for ch in " ".join(text.split()))


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]", "", folded).lower()


def citation_key(paper: Paper) -> str:
    """`surname` + year + first content word of the title, e.g. `vaswani2017attention`."""
    surname = _ascii_word(paper.authors[0].split()[-1]) if paper.authors else "anon"
    day = paper.submitted or paper.announced
    year = str(day.year) if day else ""
    words = [_ascii_word(w) for w in paper.title.split()]
    first = next((w for w in words if w and w not in _STOP), "")
    return f"{surname or 'anon'}{year}{first}"


def bibtex_entry(paper: Paper) -> str:
    """An @misc entry in the form arXiv itself suggests (eprint, archivePrefix, primaryClass)."""
    fields: list[tuple[str, str]] = [
        ("title", paper.title),
        ("author", " and ".join(paper.authors)),
    ]
    day = paper.submitted or paper.announced
    if day:
        fields.append(("year", str(day.year)))
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
        if paper.primary_category:
            fields.append(("primaryClass", paper.primary_category))
        fields.append(("url", f"https://arxiv.org/abs/{paper.arxiv_id}"))
    if paper.doi:
        fields.append(("doi", paper.doi))
    if paper.journal_ref:
        fields.append(("journal", paper.journal_ref))
    body = ",\n".join(f"  {name} = {{{_escape(value)}}}" for name, value in fields if value)
    return f"@misc{{{citation_key(paper)},\n{body}\n}}\n"


def bibtex_entries(papers: Iterable[Paper]) -> str:
    """Several entries; repeated keys get a, b, c... so the file stays valid."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for paper in papers:
        entry = bibtex_entry(paper)
        key = citation_key(paper)
        count = seen.get(key, 0)
        seen[key] = count + 1
        if count:
            entry = entry.replace(f"@misc{{{key},", f"@misc{{{key}{chr(ord('a') + count % 26)},", 1)
        out.append(entry)
    return "\n".join(out)
