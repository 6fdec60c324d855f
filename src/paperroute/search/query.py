"""The search box's query language: free words, "phrases", -exclusions and operators."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from paperroute.ingest.normalize import parse_arxiv_id

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_QUERY_WORDS",
    "ParsedQuery",
    "is_example",
    "parse_query",
    "words_query",
]

MAX_QUERY_CHARS = 1_000
MAX_QUERY_WORDS = 64  # words, phrases and operators together


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """What the search box asks for: words, phrases, filters, or one paper by its id."""

    terms: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # "cs.LG", or "cs" for the whole archive
    since: dt.date | None = None  # inclusive
    until: dt.date | None = None  # inclusive
    has_code: bool = False
    arxiv_id: str | None = None  # set only when the whole box is an id or arXiv link
    arxiv_version: int | None = None
    errors: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The free text for semantic search: words, then phrase words; no operators."""
        return " ".join((*self.terms, *self.phrases))

    @property
    def is_empty(self) -> bool:
        """Whether the query asks for nothing at all (errors aside)."""
        return self == ParsedQuery(errors=self.errors)


def words_query(text: str) -> ParsedQuery:
    """A text taken as plain words (a pasted abstract, a benchmark query): no operators."""
    words = (w.strip(".,;:!?()[]{}\"'") for w in text.split())
    return ParsedQuery(terms=tuple(w for w in words if w))


def is_example(text: str) -> bool:
    """Whether the box holds a pasted text (an abstract) rather than a query: more
    words than a query holds, and no operator or quote among them."""
    words = text.split()
    if len(words) <= MAX_QUERY_WORDS or '"' in text.translate(_QUOTES):
        return False
    return not any(":" in w and w.split(":", 1)[0].lower() in _HANDLERS for w in words)


# Pure and total: any text parses. A bad operator becomes a message in `errors` and
# is otherwise ignored, so the rest of the query still searches. Work is linear in the
# capped input, which fuzzing relies on: the box is scanned by hand, and the few
# regular expressions are anchored and free of nested repetition.
def parse_query(text: str, *, today: dt.date) -> ParsedQuery:
    """Parse what was typed in the search box; never raises."""
    errors: list[str] = []
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        errors.append(
            f"the query is longer than {MAX_QUERY_CHARS:,} characters; the rest was ignored"
        )
    text = _CONTROL_RE.sub(" ", text.translate(_QUOTES))
    found = _as_arxiv_id(text.strip())
    if found is not None:
        return ParsedQuery(arxiv_id=found[0], arxiv_version=found[1], errors=tuple(errors))
    tokens, complete = _scan(text)
    if not complete:
        errors.append(f"only the first {MAX_QUERY_WORDS} words of the query are used")
    builder = _Builder(today=today, errors=errors)
    for token in _join_spaced_values(tokens):
        _apply(builder, token)
    return builder.build()


# Typographic double quotes work like '"': phones and word processors type them.
_QUOTES = str.maketrans(dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'))
# Control characters split words; NUL in particular must never reach the database.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")
# Punctuation that ends a sentence or wraps a word, not part of it; "+", "#", "$"
# and "%" stay because they are (c++, c#, $k$-means, 50%).
_EDGE = ",.;:!?\u00bf\u00a1()[]{}<>\"'`\u2018\u2019\u201a\u201b\u00ab\u00bb\u2039\u203a*_~|/\\-\u2013\u2014"


# --- the whole box as one paper ----------------------------------------------

_ARXIV_PREFIX_RE = re.compile(
    r"^(?:arxiv:\s*|(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/)",
    re.IGNORECASE,
)


def _as_arxiv_id(box: str) -> tuple[str, int | None] | None:
    """The (id, version) when the whole box is an arXiv id, reference or link."""
    if not box or len(box) > 120:  # ids and their links are short
        return None
    rest = _ARXIV_PREFIX_RE.sub("", box, count=1)
    if not rest or any(char.isspace() for char in rest):
        return None
    parsed = parse_arxiv_id(rest)
    # parse_arxiv_id finds an id at the end of any path; here it must be all there is.
    if parsed is None or not rest.lower().startswith(parsed[0].lower()):
        return None
    return parsed


# --- scanning ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    """One word, "phrase" or key:value, as typed (`raw`) and as understood."""

    raw: str
    value: str
    key: str | None = None  # the operator, lower case; None for a word or phrase
    negated: bool = False
    quoted: bool = False


def _scan(text: str) -> tuple[list[_Token], bool]:
    """The tokens of the box, and whether all of it fit in MAX_QUERY_WORDS."""
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if len(tokens) == MAX_QUERY_WORDS:
            return tokens, False
        token, i = _read_token(text, i)
        tokens.append(token)
    return tokens, True


def _read_token(text: str, start: int) -> tuple[_Token, int]:
    """The token starting at a non-space `start`, and where the next one may begin."""
    n = len(text)
    negated = text[start] == "-" and start + 1 < n and not text[start + 1].isspace()
    i = start + 1 if negated else start
    if text[i] == '"':
        value, end = _read_quoted(text, i + 1)
        return _Token(text[start:end], value, negated=negated, quoted=True), end
    end = i
    while end < n and not text[end].isspace() and text[end] != '"':
        end += 1
    word = text[i:end]
    name, colon, value = word.partition(":")
    key = name.lower()
    if not colon or key not in _HANDLERS:  # "BERT:", "re:3d" and URLs are words
        return _Token(text[start:end], word, negated=negated), end
    if not value and end < n and text[end] == '"':
        value, end = _read_quoted(text, end + 1)
        return _Token(text[start:end], value, key, negated, quoted=True), end
    return _Token(text[start:end], value, key, negated), end


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The text up to the closing quote, or to the end when it is never closed."""
    close = text.find('"', start)
    if close < 0:
        return text[start:], len(text)
    return text[start:close], close + 1


def _join_spaced_values(tokens: list[_Token]) -> list[_Token]:
    """Read `author: lecun` as `author:lecun`: a space after the colon is a common slip."""
    joined: list[_Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        bare = token.key and not (token.value or token.quoted or token.negated)
        if bare and nxt is not None and nxt.key is None and not nxt.negated:
            token = _Token(f"{token.raw} {nxt.raw}", nxt.value, token.key, False, nxt.quoted)
            i += 1
        joined.append(token)
        i += 1
    return joined


# --- building the query --------------------------------------------------------


@dataclass(slots=True)
class _Builder:
    """The query being put together, token by token."""

    today: dt.date
    errors: list[str]
    terms: list[str] = field(default_factory=list[str])
    phrases: list[str] = field(default_factory=list[str])
    excluded: list[str] = field(default_factory=list[str])
    authors: list[str] = field(default_factory=list[str])
    categories: list[str] = field(default_factory=list[str])
    since: dt.date | None = None
    until: dt.date | None = None
    has_code: bool = False

    def not_before(self, day: dt.date) -> None:
        # Several bounds all apply: the latest start wins.
        self.since = day if self.since is None else max(self.since, day)

    def not_after(self, day: dt.date) -> None:
        self.until = day if self.until is None else min(self.until, day)

    def build(self) -> ParsedQuery:
        if self.since and self.until and self.since > self.until:
            self.errors.append(
                f"no paper can be both since {self.since} and until {self.until}; check the dates"
            )
        return ParsedQuery(
            terms=tuple(self.terms),
            phrases=tuple(self.phrases),
            excluded=tuple(self.excluded),
            authors=_unique(self.authors),
            categories=_unique(self.categories),
            since=self.since,
            until=self.until,
            has_code=self.has_code,
            errors=_unique(self.errors),
        )


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _clean(text: str) -> str:
    """Text without surrounding punctuation and extra spaces; empty if no letter or digit."""
    text = " ".join(text.split()).strip(_EDGE + " ")
    return text if any(char.isalnum() for char in text) else ""


def _shown(token: _Token) -> str:
    """The token as typed, short enough for a message."""
    return token.raw if len(token.raw) <= 40 else token.raw[:39] + "\u2026"


def _apply(builder: _Builder, token: _Token) -> None:
    if token.key is None:
        _add_words(builder, token)
    elif token.negated:
        builder.errors.append(f"{_shown(token)}: a filter cannot be excluded; it was ignored")
    else:
        _HANDLERS[token.key](builder, token)


def _add_words(builder: _Builder, token: _Token) -> None:
    kind = builder.excluded if token.negated else builder.phrases if token.quoted else builder.terms
    if value := _clean(token.value):
        kind.append(value)


def _author(builder: _Builder, token: _Token) -> None:
    name = _clean(token.value)
    if name:
        builder.authors.append(name)
    else:
        builder.errors.append(
            f'{_shown(token)} needs a name; write author:lecun or author:"Yann LeCun"'
        )


_CATEGORY_RE = re.compile(r"([a-z][a-z-]*)(?:\.([a-z][a-z-]*))?", re.IGNORECASE | re.ASCII)


def _category(builder: _Builder, token: _Token) -> None:
    parts = [part.strip() for part in token.value.split(",")]  # cat:cs.LG,cs.CL
    for part in [part for part in parts if part] or [""]:
        category = _normal_category(part)
        if category is None:
            builder.errors.append(
                f"cat:{part[:40]} is not an arXiv category; write cat:cs.LG, or cat:cs "
                "for the whole archive"
            )
        else:
            builder.categories.append(category)


def _normal_category(text: str) -> str | None:
    """arXiv's spelling of a category: cs.LG, math.AG, cond-mat.stat-mech, or an archive."""
    text = text.removesuffix(".*")  # cs.* is the whole archive
    match = _CATEGORY_RE.fullmatch(text) if len(text) <= 40 else None
    if match is None:
        return None
    archive, subject = match[1].lower(), match[2]
    if subject is None:
        return archive
    # Two-letter subject classes are upper case (cs.LG, astro-ph.GA); longer ones
    # are words in lower case (physics.optics, cond-mat.mes-hall).
    return f"{archive}.{subject.upper() if len(subject) == 2 else subject.lower()}"


def _has(builder: _Builder, token: _Token) -> None:
    if token.value.strip().lower() == "code":
        builder.has_code = True
    else:
        builder.errors.append(f"{_shown(token)} is not known; the only one is has:code")


# --- dates ---------------------------------------------------------------------

_Period = tuple[dt.date, dt.date]  # first and last day, inclusive
_DATE_HINT = "is not a date; write {key}:2025-03-18, {key}:2025-03, {key}:2025 or {key}:7d"
_YEAR_RE = re.compile(r"[0-9]{4}")
_DATE_RE = re.compile(r"([0-9]{4})(?:-([0-9]{1,2})(?:-([0-9]{1,2}))?)?")
_AGO_RE = re.compile(r"([0-9]{1,5})(d|days?|w|weeks?|m|months?|y|years?)", re.IGNORECASE)


def _year(builder: _Builder, token: _Token) -> None:
    hint = "is not a year; write year:2025 or year:2024..2025"
    _bounded(builder, token, _year_period, hint)


def _year_period(text: str) -> _Period | None:
    return _calendar_period(int(text), None, None) if _YEAR_RE.fullmatch(text) else None


def _date(builder: _Builder, token: _Token) -> None:
    hint = "is not a date; write date:2025-03-18, date:2025-03 or date:2025-03-18..2025-04-01"
    _bounded(builder, token, lambda text: _period(text, builder.today), hint)


def _bounded(
    builder: _Builder, token: _Token, read: Callable[[str], _Period | None], hint: str
) -> None:
    """Apply a period or a `start..end` range (either end open) of periods."""
    start_text, dots, end_text = token.value.strip().partition("..")
    if not dots:
        end_text = start_text
    start = read(start_text) if start_text else None
    end = read(end_text) if end_text else None
    if (start_text and start is None) or (end_text and end is None) or not (start or end):
        builder.errors.append(f"{_shown(token)} {hint}")
    elif start and end and start[0] > end[1]:
        builder.errors.append(f"{_shown(token)} ends before it starts; it was ignored")
    else:
        if start:
            builder.not_before(start[0])
        if end:
            builder.not_after(end[1])


def _bound(builder: _Builder, token: _Token, *, upper: bool) -> None:
    """since:/after: (upper=False) or until:/before: (upper=True) one period."""
    period = _period(token.value.strip(), builder.today)
    if period is None:
        builder.errors.append(f"{_shown(token)} {_DATE_HINT.format(key=token.key)}")
    elif upper:
        builder.not_after(period[1])
    else:
        builder.not_before(period[0])


def _period(text: str, today: dt.date) -> _Period | None:
    """The days a year, month, day, or age like 7d/2w/1m/1y (before `today`) stands for."""
    text = {"today": "0d", "yesterday": "1d"}.get(text.lower(), text)
    if match := _DATE_RE.fullmatch(text):
        return _calendar_period(int(match[1]), match[2], match[3])
    if match := _AGO_RE.fullmatch(text):
        day = _ago(today, int(match[1]), match[2][0].lower())
        return (day, day) if day else None
    return None


def _calendar_period(year: int, month: str | None, day: str | None) -> _Period | None:
    try:
        first = dt.date(year, int(month or 1), int(day or 1))
        if day:
            return first, first
        if month:
            return first, first.replace(day=calendar.monthrange(year, first.month)[1])
        return first, dt.date(year, 12, 31)
    except ValueError:  # 2025-13, 2025-02-30, year 0
        return None


def _ago(today: dt.date, amount: int, unit: str) -> dt.date | None:
    """The day `amount` days, weeks, months or years before today; None if out of range."""
    try:
        if unit in "dw":
            return today - dt.timedelta(days=amount * (7 if unit == "w" else 1))
        months = today.year * 12 + today.month - 1 - amount * (12 if unit == "y" else 1)
        year, month = divmod(months, 12)
        last = calendar.monthrange(year, month + 1)[1] if year >= 1 else 0
        return dt.date(year, month + 1, min(today.day, last))
    except (OverflowError, ValueError):
        return None


_HANDLERS: dict[str, Callable[[_Builder, _Token], None]] = {
    "author": _author, "au": _author, "cat": _category, "category": _category,
    "year": _year, "date": _date, "has": _has,
    "since": lambda builder, token: _bound(builder, token, upper=False),
    "after": lambda builder, token: _bound(builder, token, upper=False),
    "until": lambda builder, token: _bound(builder, token, upper=True),
    "before": lambda builder, token: _bound(builder, token, upper=True),
}  # fmt: skip
