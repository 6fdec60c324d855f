"""A paper's record for reference managers: RIS, CSL-JSON, Highwire meta tags and COinS.

Zotero, Mendeley, JabRef and Paperpile read RIS and CSL-JSON files; the Zotero
Connector and Google Scholar read a page's `citation_*` meta tags (Highwire
Press) and, on a list, one COinS span per paper. Every form says the same:
an arXiv preprint with its DOI (arXiv's own 10.48550 DOI when the paper has no
other), its arXiv id, PDF and abstract page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import rispy
from pylatexenc.latex2text import LatexNodes2Text

from paperroute.bibtex import citation_key
from paperroute.domain import Paper

__all__ = ["coins", "csl_items", "highwire_tags", "ris_text", "split_name"]

# Words that start a family name: "Ludwig van Beethoven" is family "van Beethoven".
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "dos"}
# arXiv metadata is TeX, where a bare % & # mean something else: they are literal here.
_LITERAL_SPECIALS = re.compile(r"(?<!\\)([%&#])")
_DECODER = LatexNodes2Text(math_mode="text", keep_braced_groups=False)


def split_name(name: str) -> tuple[str, str]:
    """(given, family) of a name written "Given Family", as arXiv writes authors."""
    if "," in name:  # already "Family, Given"
        family, _, given = name.partition(",")
        return given.strip(), family.strip()
    words = name.split()
    if len(words) < 2:
        return "", name.strip()
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])


@lru_cache(maxsize=8192)  # pylatexenc takes a millisecond on a TeX abstract
def _plain(text: str) -> str:
    """Readable text for records that are not TeX: `$D^3$: 40$\\times$` reads `D^3: 40\\u00d7`."""
    if "$" not in text and "\\" not in text:
        return " ".join(text.split())
    try:
        decoded = _DECODER.latex_to_text(_LITERAL_SPECIALS.sub(r"\\\1", text))
    except Exception:  # pylatexenc gives up on some malformed TeX: the text as written
        decoded = text
    return " ".join(decoded.split())


def _doi(paper: Paper) -> str | None:
    if paper.doi:
        return paper.doi
    return f"10.48550/arXiv.{paper.arxiv_id}" if paper.arxiv_id else None


def _day(paper: Paper) -> dt.date | None:
    return paper.submitted or paper.announced


def _ris_record(paper: Paper, site: str | None) -> dict[str, Any]:
    day = _day(paper)
    record: dict[str, Any] = {
        "type_of_reference": "JOUR" if paper.journal_ref else "UNPB",
        "title": _plain(paper.title),
        "authors": [", ".join(p for p in reversed(split_name(a)) if p) for a in paper.authors],
        "abstract": _plain(paper.abstract) or None,
        "year": str(day.year) if day else None,
        "date": day.strftime("%Y/%m/%d") if day else None,
        "doi": _doi(paper),
        "publisher": "arXiv" if paper.arxiv_id else None,
        "journal_name": paper.journal_ref,
        "accession_number": f"arXiv:{paper.arxiv_id}" if paper.arxiv_id else None,
        "urls": [u for u in (paper.abs_url, _page(paper, site)) if u],
        "file_attachments1": paper.pdf_url,
        "keywords": list(paper.categories),
        "notes": [paper.comment] if paper.comment else None,
    }
    return {k: v for k, v in record.items() if v}


def _page(paper: Paper, site: str | None) -> str | None:
    return f"{site}/papers/{paper.key}" if site and paper.key else None


def ris_text(papers: Iterable[Paper], site: str | None = None) -> str:
    """An RIS file of the papers (UTF-8, one record each)."""
    return rispy.dumps([_ris_record(p, site) for p in papers], skip_unknown_tags=True)


def csl_items(papers: Iterable[Paper], site: str | None = None) -> list[dict[str, Any]]:
    """CSL-JSON items (as Zotero and citeproc read them), with unique ids."""
    items: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for paper in papers:
        key = citation_key(paper)
        seen[key] = seen.get(key, 0) + 1
        day = _day(paper)
        item: dict[str, Any] = {
            "id": key if seen[key] == 1 else f"{key}-{seen[key]}",
            "type": "article-journal" if paper.journal_ref else "article",
            "title": _plain(paper.title),
            "author": [
                {"given": given, "family": family} if given else {"literal": family}
                for given, family in map(split_name, paper.authors)
            ],
            "abstract": _plain(paper.abstract) or None,
            "issued": {"date-parts": [[day.year, day.month, day.day]]} if day else None,
            "DOI": _doi(paper),
            "URL": paper.abs_url or _page(paper, site),
            "number": f"arXiv:{paper.arxiv_id}" if paper.arxiv_id else None,
            "publisher": "arXiv" if paper.arxiv_id else None,
            "container-title": paper.journal_ref,
            "keyword": ", ".join(paper.categories) or None,
            "note": paper.comment,
        }
        items.append({k: v for k, v in item.items() if v})
    return items


def highwire_tags(paper: Paper) -> list[tuple[str, str]]:
    """(name, content) of the `citation_*` meta tags for a paper's page."""
    day = _day(paper)
    tags = [("citation_title", _plain(paper.title))]
    tags += [("citation_author", author) for author in paper.authors]
    if day:
        tags.append(("citation_publication_date", day.strftime("%Y/%m/%d")))
        tags.append(("citation_date", day.strftime("%Y/%m/%d")))
    if paper.announced:
        tags.append(("citation_online_date", paper.announced.strftime("%Y/%m/%d")))
    if paper.arxiv_id:
        tags += [
            ("citation_arxiv_id", paper.arxiv_id),
            ("citation_pdf_url", paper.pdf_url or ""),
            ("citation_abstract_html_url", paper.abs_url or ""),
            ("citation_publisher", "arXiv"),
        ]
    if doi := _doi(paper):
        tags.append(("citation_doi", doi))
    if paper.journal_ref:
        tags.append(("citation_journal_title", paper.journal_ref))
    if paper.abstract:
        tags.append(("citation_abstract", _plain(paper.abstract)))
    if paper.categories:
        tags.append(("citation_keywords", "; ".join(paper.categories)))
    return [(name, value) for name, value in tags if value]


def coins(paper: Paper) -> str:
    """The `title` of a COinS span (OpenURL 1.0 ContextObject): one paper of a list."""
    day = _day(paper)
    return _coins(paper.title, paper.authors, day, paper.journal_ref, _doi(paper), paper.abs_url)


# A list renders one per paper and the same papers come back page after page: encoding
# their authors was 2 ms of a 50-paper day.
@lru_cache(maxsize=4096)
def _coins(
    title: str,
    authors: tuple[str, ...],
    day: dt.date | None,
    journal_ref: str | None,
    doi: str | None,
    abs_url: str | None,
) -> str:
    fields: list[tuple[str, str]] = [
        ("ctx_ver", "Z39.88-2004"),
        ("rft_val_fmt", "info:ofi/fmt:kev:mtx:journal"),
        ("rft.genre", "article" if journal_ref else "preprint"),
        ("rft.atitle", _plain(title)),
    ]
    for author in authors:
        given, family = split_name(author)
        fields += [("rft.au", author)] if not given else [("rft.au", f"{family}, {given}")]
    if day:
        fields.append(("rft.date", day.isoformat()))
    if journal_ref:
        fields.append(("rft.jtitle", journal_ref))
    if doi:
        fields.append(("rft_id", f"info:doi/{doi}"))
    if abs_url:
        fields.append(("rft_id", abs_url))
    return urlencode(fields)
