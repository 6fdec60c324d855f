"""BibTeX files, as exported by arXiv, Google Scholar, DBLP, publishers or a reference manager.

The arXiv id comes from `eprint` (with `archivePrefix = {arXiv}` or
`eprinttype = {arXiv}`), an arxiv.org `url`, an arXiv DOI (10.48550/arXiv.*) or
a `journal = {arXiv preprint arXiv:2503.11742}` as Google Scholar writes it.
Entries without one are kept: the store keys them by title.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bibtexparser.entrypoint import parse_string
from bibtexparser.exceptions import BlockAbortedException
from bibtexparser.library import Library
from bibtexparser.middlewares import NormalizeFieldKeys, SeparateCoAuthors
from bibtexparser.middlewares.names import parse_single_name_into_parts
from bibtexparser.model import DuplicateBlockKeyBlock, Entry, ParsingFailedBlock
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from paperroute.domain import Paper, Rejected, SourceItem
from paperroute.ingest.normalize import RecordError, build_paper, parse_arxiv_id

__all__ = [
    "SOURCE",
    "arxiv_id_in_text",
    "clean_doi",
    "entry_to_paper",
    "read_bibtex_file",
    "read_bibtex_text",
]

SOURCE = "bibtex"
# bibtexparser logs two lines for every block it cannot parse (a pasted `@a{@a{...` made
# 130,000 of them) and pylatexenc every odd macro; the Rejected items carry the reasons.
for _library in ("bibtexparser", "pylatexenc"):
    logging.getLogger(_library).setLevel(logging.ERROR)
_MAX_DECODE = 100_000  # longer values are rejected by build_paper anyway; skip the slow decoder
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ARXIV_TEXT_RE = re.compile(
    r"\barxiv\s*[:/]?\s*(?:abs/)?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)",
    re.IGNORECASE,
)
_ARXIV_URL_RE = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/", re.IGNORECASE)
_ARXIV_DOI_RE = re.compile(r"^10\.48550/arxiv\.", re.IGNORECASE)
_GITHUB_RE = re.compile(r"^https?://(?:www\.)?github\.com/", re.IGNORECASE)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_NOT_A_VENUE_RE = re.compile(r"^\s*(?:arxiv|corr\b|preprint)", re.IGNORECASE)
# In a .bib value `%`, `&` and `#` are meant literally ("a 50% gain", "Q&A"), but
# LaTeX reads them as a comment, a table column and a macro argument.
_LITERAL_SPECIALS_RE = re.compile(r"(?<!\\)([%&#])")


def _make_decoder() -> LatexNodes2Text:
    context = get_default_latex_context_db()
    # `\url{x}` is x, not "<x>" (as bibtexparser's own decoding middleware does it).
    context.add_context_category("paperroute", prepend=True, macros=[MacroTextSpec("url", "%s")])
    return LatexNodes2Text(latex_context=context, math_mode="verbatim", keep_braced_groups=False)


_DECODER = _make_decoder()
# What pylatexenc would change: commands, groups, math, ties, dashes and TeX quotes.
_NEEDS_DECODING_RE = re.compile(r"[\\{}$~]|--|``|''|[!?]`")


def _latex_text(value: object) -> str | None:
    """Plain Unicode text from a LaTeX field value; math stays as written."""
    if not isinstance(value, str):
        return None
    if len(value) > _MAX_DECODE or not _NEEDS_DECODING_RE.search(value):
        return value  # plain text reads the same decoded: skip pylatexenc, 10 ms an entry
    try:
        return str(_DECODER.latex_to_text(_LITERAL_SPECIALS_RE.sub(r"\\\1", value)))
    except Exception:  # pylatexenc can fail on odd input; clean_text still handles accents
        return value


def _authors(value: object) -> list[str]:
    """Names in "First von Last Jr" order, whichever form the file used."""
    names = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    result: list[str] = []
    for name in names:
        if not isinstance(name, str) or name.strip().lower() == "others":
            continue  # Google Scholar ends long author lists with "and others"
        # Not strict: a stray comma or brace in one name should not lose the paper.
        parts = parse_single_name_into_parts(name, strict=False)
        result.append(_latex_text(parts.merge_first_name_first) or "")
    return result


def _joined(parsed: tuple[str, int | None] | None) -> str | None:
    if parsed is None:
        return None
    return f"{parsed[0]}v{parsed[1]}" if parsed[1] else parsed[0]


def _arxiv_id(fields: dict[str, Any]) -> str | None:
    """The (possibly versioned) arXiv id, from the most explicit field that has one."""
    prefix = str(fields.get("archiveprefix") or fields.get("eprinttype") or "arxiv")
    if prefix.strip().lower() == "arxiv" and (found := _joined(_parse_id(fields, "eprint"))):
        return found
    url = str(fields.get("url") or "").strip()
    if _ARXIV_URL_RE.match(url) and (found := _joined(parse_arxiv_id(url))):
        return found
    doi = _ARXIV_DOI_RE.sub("arXiv:", _bare_doi(str(fields.get("doi") or "")))
    # Google Scholar: journal = {arXiv preprint arXiv:2503.11742}; DBLP: volume = {abs/2503.11742}
    texts = [doi] + [str(fields.get(key) or "") for key in ("journal", "booktitle", "note")]
    texts.append(str(fields.get("volume") or "").replace("abs/", "arXiv:"))
    for text in texts:
        match = _ARXIV_TEXT_RE.search(text)
        if match:
            return match[1]
    return None


def arxiv_id_in_text(text: str) -> str | None:
    """An arXiv id named in free text: `arXiv:2503.11742`, an arxiv.org URL, an arXiv DOI."""
    if _ARXIV_URL_RE.match(text.strip()) and (found := _joined(parse_arxiv_id(text))):
        return found
    match = _ARXIV_TEXT_RE.search(_ARXIV_DOI_RE.sub("arXiv:", _bare_doi(text)))
    return match[1] if match else None


def _parse_id(fields: dict[str, Any], key: str) -> tuple[str, int | None] | None:
    value = fields.get(key)
    return parse_arxiv_id(value) if isinstance(value, str) else None


def _bare_doi(value: str) -> str:
    return re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", value.strip(), flags=re.I)


def clean_doi(value: object) -> str | None:
    """The DOI without resolver prefix; arXiv's own DOIs say nothing the id does not."""
    if not isinstance(value, str):
        return None
    doi = _bare_doi(value).replace("\\_", "_")
    return None if not doi or _ARXIV_DOI_RE.match(doi) else doi


def _venue(fields: dict[str, Any]) -> str | None:
    """Journal or proceedings, unless it only says "arXiv preprint" or "CoRR"."""
    for key in ("journal", "booktitle"):
        text = _latex_text(fields.get(key))
        if text and not _NOT_A_VENUE_RE.match(text):
            return text
    return None


def _month(value: object) -> int | None:
    text = str(value or "").strip().lower()
    if re.fullmatch(r"0?[1-9]|1[0-2]", text):  # not isdigit(): "²" is a digit int() refuses
        return int(text)
    return _MONTHS.index(text[:3]) + 1 if text[:3] in _MONTHS else None


def _submitted(fields: dict[str, Any]) -> dt.date | None:
    """A biblatex `date`, else the first of `year`/`month`; a bare year is too vague."""
    match = _DATE_RE.match(str(fields.get("date") or "").strip())
    if match:
        year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
    else:
        year_text = str(fields.get("year") or "").strip()
        month = _month(fields.get("month"))
        if not re.fullmatch(r"\d{4}", year_text) or month is None:
            return None
        year, day = int(year_text), 1
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def entry_to_paper(entry: Entry) -> Paper:
    """One parsed entry as a `Paper`; RecordError if it cannot be one."""
    fields: dict[str, Any] = {field.key.lower(): field.value for field in entry.fields}
    url = str(fields.get("url") or "").strip()
    return build_paper(
        source=SOURCE,
        title=_latex_text(fields.get("title")),
        abstract=_latex_text(fields.get("abstract")) or "",
        arxiv_id=_arxiv_id(fields),
        authors=_authors(fields.get("author")),
        categories=[str(fields.get("primaryclass") or "")],
        submitted=_submitted(fields),
        journal_ref=_venue(fields),
        doi=clean_doi(fields.get("doi")),
        code_url=url if _GITHUB_RE.match(url) else None,
    )


def _shown_key(key: str) -> str:
    """An entry key for a message: a broken file can make one of its keys pages long."""
    return repr(key if len(key) <= 60 else f"{key[:60]}...")


def _failure_reason(block: ParsingFailedBlock) -> str:
    if isinstance(block, DuplicateBlockKeyBlock):
        return f"duplicate entry key {_shown_key(block.key)}; only the first entry with it was read"
    error = block.error
    reason = error.abort_reason if isinstance(error, BlockAbortedException) else str(error)
    reason = reason.strip() or type(error).__name__
    if len(reason) > 200:  # bibtexparser quotes what it read, a whole broken field at times
        reason = f"{reason[:200]}..."
    key = re.match(r"@\w+\s*[{(]\s*([^,\s]+)\s*,", block.raw or "")
    prefix = f"entry {_shown_key(key[1])}: " if key else ""
    return f"{prefix}not valid BibTeX ({reason})"


def _parse(text: str) -> Library:
    # Field keys lower-cased (arXiv writes `archivePrefix`), authors split on "and".
    return parse_string(text, append_middleware=[NormalizeFieldKeys(), SeparateCoAuthors()])


def read_bibtex_text(text: str, where: str) -> Iterator[SourceItem]:
    """Papers from BibTeX source; `where` (a file name) starts each rejection's location."""
    for block in _parse(text).blocks:
        line = f"{where}:{block.start_line + 1}" if block.start_line is not None else where
        if isinstance(block, ParsingFailedBlock):
            yield Rejected(line, _failure_reason(block))
        elif isinstance(block, Entry):
            try:
                yield entry_to_paper(block)
            except RecordError as exc:
                yield Rejected(line, f"entry {_shown_key(block.key)}: {exc}")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Older reference managers (JabRef, EndNote, BibDesk on Windows) wrote the
    # platform's 8-bit encoding. cp1252 is what such files almost always are and
    # is latin-1 plus curly quotes and dashes; latin-1 decodes any byte at all.
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_bibtex_file(path: Path) -> Iterator[SourceItem]:
    """Papers from a .bib file; unparsable entries become `Rejected("<file>:<line>")`."""
    yield from read_bibtex_text(_decode(path.read_bytes()), path.name)
