"""Turn what a source says into a clean `Paper`: pure functions, no I/O."""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from collections.abc import Iterable
from typing import cast

from paperroute.domain import Organization, Paper, Version
from paperroute.ingest.markup import strip_tags

__all__ = [
    "MAX_ABSTRACT",
    "MAX_AUTHORS",
    "MAX_TITLE",
    "RecordError",
    "build_paper",
    "clean_text",
    "find_links",
    "parse_arxiv_id",
    "parse_date",
]

MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 5_000
MAX_AUTHOR_NAME = 300
MAX_SHORT_FIELD = 2_000  # comment, journal-ref, DOI, links
MAX_CATEGORY = 40  # the longest real one, cond-mat.dis-nn, has 17 characters
MAX_AI_SUMMARY = 5_000  # the Hub's are a sentence or two
MAX_KEYWORDS, MAX_KEYWORD = 50, 200


class RecordError(ValueError):
    """A record that cannot become a paper; the message says why."""


_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7}"
# ASCII digits only, and a version number int() can read: no "v" with 5,000 digits.
_ID_RE = re.compile(
    rf"(?:^|[/:\s])(?P<id>{_NEW_ID}|{_OLD_ID})(?:v(?P<v>\d{{1,9}}))?(?:\.pdf)?/?$",
    re.IGNORECASE | re.ASCII,
)


def parse_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """Find the arXiv id and version in an id, `arXiv:` reference or arxiv.org URL."""
    candidate = text.strip().rstrip("/")
    candidate = re.sub(r"[?#].*$", "", candidate)
    match = _ID_RE.search(" " + candidate)
    if match is None:
        return None
    arxiv_id = match["id"]
    if "/" in arxiv_id:  # old style: archive is lower case, subject class upper case
        archive, number = arxiv_id.split("/")
        head, _, subject = archive.partition(".")
        if head.lower() not in _ARCHIVES or len(subject) > 2:
            return None
        arxiv_id = (
            f"{head.lower()}.{subject.upper()}/{number}" if subject else f"{head.lower()}/{number}"
        )
    version = int(match["v"]) if match["v"] else None
    return arxiv_id, version


# Control and invisible format characters (zero-width spaces, BOMs, bidi marks).
_CONTROL_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)
_ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303",
            "c": "\u0327", "v": "\u030c", "u": "\u0306", "=": "\u0304", ".": "\u0307",
            "H": "\u030b", "r": "\u030a", "k": "\u0328"}  # fmt: skip
_ACCENT_RE = re.compile(
    r"""\\([`'^"~=.]|[cvuHrk](?=[\s{]))\s*(?:\{\s*(\\?[A-Za-z])\s*\}|(\\?[A-Za-z]))"""
)
_TEXT_CMD_RE = re.compile(
    r"\\(?:emph|textit|textbf|texttt|textrm|textsc|textsf|mbox|text)\{([^{}$]*)\}"
)
_LETTERS = {r"\ss": "ß", r"\o": "ø", r"\O": "Ø", r"\ae": "æ", r"\AE": "Æ", r"\l": "ł",
            r"\L": "Ł", r"\aa": "å", r"\AA": "Å", r"\i": "ı"}  # fmt: skip  # noqa: RUF001
# Escaped symbols (\% \& \_) stay as written: abstracts are shown as arXiv shows them.
_LETTER_RE = re.compile(r"\\(?:ss|o|O|ae|AE|l|L|aa|AA|i)(?![A-Za-z])")


def _replace_accent(match: re.Match[str]) -> str:
    letter = (match[2] or match[3]).lstrip("\\")
    return unicodedata.normalize("NFC", letter + _ACCENTS[match[1]])


def clean_text(text: str, *, latex: bool = True) -> str:
    """Unescape HTML, drop tags, turn LaTeX accents and text commands into Unicode.

    Math (`$...$`) is kept as written: it is the author's notation, and a search
    for "$k$-means" should still find it.
    """
    if "&" in text:
        text = html.unescape(text)
    if latex and "\\" in text:
        text = _ACCENT_RE.sub(_replace_accent, text)
        text = _TEXT_CMD_RE.sub(r"\1", text)
        text = _LETTER_RE.sub(lambda m: _LETTERS[m[0]], text)
    if "<" in text:  # last of the rewrites: `\emph{<}script>` must not become a tag afterwards
        text = strip_tags(_CONTROL_RE.sub("", " ".join(text.split())))
    text = " ".join(text.split())
    if not text.isprintable():  # rare: control or invisible format characters
        text = " ".join(_CONTROL_RE.sub("", text).split())
    return text


def parse_date(value: object) -> dt.date | None:
    """Read a date from an ISO string (date or datetime), a date, or nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise RecordError(f"date {_shown(value)} is not a string")
    text = value.strip()
    try:
        if len(text) >= 10 and text[4] == "-":
            return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    raise RecordError(f"date {value[:40]!r} is not an ISO date (YYYY-MM-DD)")


def _shown(value: object) -> str:
    """A wrong-typed value for an error message: a number as is, a structure by its type."""
    # repr() of a deeply nested list or object raises RecursionError, and of a
    # big one makes a message nobody can read.
    if isinstance(value, int | float):
        return repr(value)[:40]
    return f"of type {type(value).__name__}"


def _as_text(value: object, name: str) -> str:
    """A field's text: a number is written out, anything else but a string is refused."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise RecordError(f"{name} is not text")


# arXiv's archives, current and retired: a category is one of these, optionally
# with a subject class (cs.LG, astro-ph.GA, math.AG).
_ARCHIVES = frozenset(
    [
        "cs",
        "math",
        "stat",
        "eess",
        "econ",
        "q-bio",
        "q-fin",
        "quant-ph",
        "physics",
        "astro-ph",
        "cond-mat",
        "gr-qc",
        "hep-ex",
        "hep-lat",
        "hep-ph",
        "hep-th",
        "math-ph",
        "nlin",
        "nucl-ex",
        "nucl-th",
        "acc-phys",
        "adap-org",
        "alg-geom",
        "ao-sci",
        "atom-ph",
        "bayes-an",
        "chao-dyn",
        "chem-ph",
        "cmp-lg",
        "comp-gas",
        "dg-ga",
        "funct-an",
        "mtrl-th",
        "patt-sol",
        "plasm-ph",
        "q-alg",
        "solv-int",
        "supr-con",
    ]
)
_CATEGORY_RE = re.compile(r"^([a-z][a-z\-]*)(\.[A-Za-z\-]+)?$")


def _clean_categories(categories: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for raw in categories:
        for cat in str(raw).split():
            match = _CATEGORY_RE.match(cat)
            if match and match[1] in _ARCHIVES and len(cat) <= MAX_CATEGORY:
                seen.setdefault(cat, None)
    return tuple(seen)


def _clean_authors(authors: Iterable[str]) -> tuple[str, ...]:
    names: dict[str, None] = {}  # insertion-ordered set: the data repeats some authors
    for raw in authors:
        name = clean_text(str(raw))
        if not name:
            continue
        if len(name) > MAX_AUTHOR_NAME:
            raise RecordError(
                f"an author name is {len(name):,} characters (limit {MAX_AUTHOR_NAME})"
            )
        names.setdefault(name, None)
    if len(names) > MAX_AUTHORS:
        raise RecordError(f"{len(names):,} authors (limit {MAX_AUTHORS:,})")
    return tuple(names)


def _short(value: object, name: str) -> str | None:
    if value is None:
        return None
    text = clean_text(_as_text(value, name), latex=False)
    if len(text) > MAX_SHORT_FIELD:
        raise RecordError(f"{name} is {len(text):,} characters (limit {MAX_SHORT_FIELD:,})")
    return text or None


def _url(value: object, name: str) -> str | None:
    if not isinstance(value, str):  # no link at all, like any other non-web link
        return None
    text = _short(value, name)
    if text is None:
        return None
    # Only web links: a `javascript:` or `data:` link must never reach a page.
    return text if re.match(r"^https?://[^\s<>\"]+$", text, re.IGNORECASE) else None


_URL_RE = re.compile(r"https?://[^\s<>\"'()\[\]{}]+", re.IGNORECASE)
_CODE_HOSTS = ("github.com/", "gitlab.com/", "bitbucket.org/", "huggingface.co/spaces/")
_PROJECT_CUE = re.compile(r"(project|home)\s*page|website|demo", re.IGNORECASE)


def find_links(*texts: str | None) -> tuple[str | None, str | None]:
    """(code, project page) links that authors put in a comment or abstract."""
    code = project = None
    for text in texts:
        if not text or "http" not in text:
            continue
        for match in _URL_RE.finditer(text):
            url = match[0].rstrip(".,;:")
            cue = text[max(0, match.start() - 30) : match.start()]
            if code is None and any(host in url.lower() for host in _CODE_HOSTS):
                code = url
            elif project is None and _PROJECT_CUE.search(cue):
                project = url
    return code, project


def _note(value: object, limit: int) -> str | None:
    """Plain text of at most `limit` characters, or None."""
    if not isinstance(value, str):
        return None
    text = clean_text(value, latex=False)
    return text if text and len(text) <= limit else None


def _keywords(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    found = (_note(v, MAX_KEYWORD) for v in cast(list[object], value)[:MAX_KEYWORDS])
    return tuple(dict.fromkeys(k for k in found if k))


def _organization(value: object) -> Organization | None:
    """The Hub's organization object ({"_id", "name", "fullname", "avatar"}), if it names one."""
    if not isinstance(value, dict):
        return None
    fields = cast(dict[str, object], value)
    name = _note(fields.get("name"), MAX_AUTHOR_NAME)
    if name is None:
        return None
    avatar = _note(fields.get("avatar") or fields.get("avatarUrl"), MAX_SHORT_FIELD)
    return Organization(name=name, fullname=_note(fields.get("fullname"), MAX_AUTHOR_NAME),
                        avatar=_url(avatar, "organization avatar"),
                        hub_id=_note(fields.get("_id"), 64))  # fmt: skip


def _count(value: object) -> int | None:
    """A popularity count, or None when it is not a plausible one."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31:
        return value
    return None


def build_paper(
    *,
    source: str,
    title: object,
    abstract: object = "",
    arxiv_id: object = None,
    authors: Iterable[str] = (),
    categories: Iterable[str] = (),
    versions: Iterable[Version] = (),
    submitted: object = None,
    updated: object = None,
    announced: object = None,
    comment: object = None,
    journal_ref: object = None,
    doi: object = None,
    code_url: object = None,
    project_url: object = None,
    upvotes: object = None,
    github_stars: object = None,
    ai_summary: object = None,
    ai_keywords: object = None,
    organization: object = None,
) -> Paper:
    """Validate and clean one record; raise RecordError naming what is wrong.

    Hugging Face's notes (`ai_summary`, `ai_keywords`, `organization`) are extras:
    one that is malformed or oversized is left out, the paper is kept.
    """
    if not isinstance(title, str):
        raise RecordError("missing title")
    clean_title = clean_text(title)
    if not clean_title:
        raise RecordError("empty title")
    if len(clean_title) > MAX_TITLE:
        raise RecordError(f"title is {len(clean_title):,} characters (limit {MAX_TITLE:,})")
    if abstract is not None and not isinstance(abstract, str):
        raise RecordError("abstract is not text")
    clean_abstract = clean_text(abstract or "")
    if len(clean_abstract) > MAX_ABSTRACT:
        raise RecordError(
            f"abstract is {len(clean_abstract):,} characters (limit {MAX_ABSTRACT:,})"
        )
    bare_id, id_version = None, None
    if arxiv_id is not None and arxiv_id != "":
        text_id = _as_text(arxiv_id, "arXiv id")
        parsed = parse_arxiv_id(text_id)
        if parsed is None:
            raise RecordError(f"{text_id[:80]!r} is not an arXiv id")
        bare_id, id_version = parsed
    clean_comment = _short(comment, "comment")
    found_code, found_project = find_links(clean_comment, clean_abstract)
    all_versions = {v.number: v for v in versions}
    if id_version is not None and id_version not in all_versions:
        all_versions[id_version] = Version(id_version)
    return Paper(
        title=clean_title,
        abstract=clean_abstract,
        source=source,
        arxiv_id=bare_id,
        authors=_clean_authors(authors),
        categories=_clean_categories(categories),
        versions=tuple(sorted(all_versions.values(), key=lambda v: v.number)),
        submitted=parse_date(submitted),
        updated=parse_date(updated),
        announced=parse_date(announced),
        comment=clean_comment,
        journal_ref=_short(journal_ref, "journal-ref"),
        doi=_short(doi, "DOI"),
        code_url=_url(code_url, "code link") or found_code,
        project_url=_url(project_url, "project link") or found_project,
        upvotes=_count(upvotes),
        github_stars=_count(github_stars),
        ai_summary=_note(ai_summary, MAX_AI_SUMMARY),
        ai_keywords=_keywords(ai_keywords),
        organization=_organization(organization),
    )
