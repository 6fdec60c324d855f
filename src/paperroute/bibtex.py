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
_TEX_FIELDS = {"title", "author", "journal"}  # written in TeX by arXiv's submitters
_STOP = {"a", "an", "the", "on", "of", "for", "in", "to", "and", "with", "towards", "toward"}


# Math as arXiv writes it ($...$ with no escaped dollar inside), kept as written.
_MATH = re.compile(r"(?<!\\)\$(?:[^$\\]|\\.)+?(?<!\\)\$")
# A control word or symbol (\textbf, \&, \'): TeX the author wrote, kept as written.
_COMMAND = re.compile(r"\\(?:[A-Za-z]+|[^A-Za-z])")


def _escape_chars(text: str) -> str:
    return "".join(_TEX_SPECIALS.get(ch, ch) for ch in text)


def _escape(text: str) -> str:
    """Plain text made safe inside a braced field: every special character escaped."""
    return _escape_chars(" ".join(text.split()))


def _balanced(text: str) -> bool:
    depth = 0
    for match in re.finditer(r"\\.|[{}]", text):
        token = match.group(0)
        depth += 1 if token == "{" else -1 if token == "}" else 0
        if depth < 0:
            return False
    return depth == 0


def _escape_bare(text: str) -> str:
    """Text that may hold TeX commands: the commands stay, bare specials are escaped."""
    out: list[str] = []
    position = 0
    for match in _COMMAND.finditer(text):
        out.append(_escape_plain(text[position : match.start()]))
        out.append(match.group(0))
        position = match.end()
    out.append(_escape_plain(text[position:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    # Braces group in TeX, and the field's braces balance: they stay as written.
    return _escape_chars(text).replace(r"\{", "{").replace(r"\}", "}")


def _tex_field(text: str) -> str:
    """A title (or other metadata) that arXiv gives as TeX, kept as TeX once: `$D^3$` stays
    `$D^3$` and `\\&` stays `\\&`, while a bare `&`, `%`, `#`, `_` or `^` is escaped.
    Text whose braces do not balance is escaped whole, so the entry always parses."""
    text = " ".join(text.split())
    if not _balanced(text) or text.endswith("\\"):
        return _escape(text)
    out: list[str] = []
    position = 0
    for match in _MATH.finditer(text):
        out.append(_escape_bare(text[position : match.start()]))
        out.append(match.group(0))
        position = match.end()
    out.append(_escape_bare(text[position:]))
    return "".join(out)


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
    body = ",\n".join(
        f"  {name} = {{{_tex_field(value) if name in _TEX_FIELDS else _escape(value)}}}"
        for name, value in fields
        if value
    )
    return f"@misc{{{citation_key(paper)},\n{body}\n}}\n"


def _suffix(count: int) -> str:
    """a, b, ..., z, aa, ab, ...: the count-th repeat of a key gets a suffix of its own."""
    letters = ""
    while count > 0:
        count, rest = divmod(count - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


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
            entry = entry.replace(f"@misc{{{key},", f"@misc{{{key}{_suffix(count)},", 1)
        out.append(entry)
    return "\n".join(out)
