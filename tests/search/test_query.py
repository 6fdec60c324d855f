"""The search box's query language: words, phrases, exclusions, operators, ids."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperroute.search.query import MAX_QUERY_CHARS, MAX_QUERY_WORDS, ParsedQuery, parse_query

TODAY = dt.date(2025, 3, 20)  # a Thursday


def parse(text: str) -> ParsedQuery:
    return parse_query(text, today=TODAY)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# --- free words --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("transformers", ("transformers",)),
        ("  diffusion   models  ", ("diffusion", "models")),
        (
            "what is the best method for long-context retrieval?",
            ("what", "is", "the", "best", "method", "for", "long-context", "retrieval"),
        ),
        ("How do LLMs do math, really?", ("How", "do", "LLMs", "do", "math", "really")),
        ("c++ gpt-4 GPT-3.5 3.5", ("c++", "gpt-4", "GPT-3.5", "3.5")),
        ("c# and f#", ("c#", "and", "f#")),
        (
            "(sparse) [attention], {mixture}; experts!",
            ("sparse", "attention", "mixture", "experts"),
        ),
        ("'quoted' `code` *bold* _under_", ("quoted", "code", "bold", "under")),
        ("state-of-the-art what's LLaMA's", ("state-of-the-art", "what's", "LLaMA's")),
        ("$k$-means 50% R&D", ("$k$-means", "50%", "R&D")),
        ("BERT: a model", ("BERT", "a", "model")),
        ("re:3d foo:bar Note:", ("re:3d", "foo:bar", "Note")),
        ("https://github.com/org/repo", ("https://github.com/org/repo",)),
        ("... \u2014 \u2013 & + ?!", ()),
        ("Schrödinger 深度学习 Ελληνικά", ("Schrödinger", "深度学习", "Ελληνικά")),
        ("tab\tand\nnewline\x00nul", ("tab", "and", "newline", "nul")),
        ("a - b", ("a", "b")),
    ],
)
def test_free_words_become_terms_as_typed(text: str, terms: tuple[str, ...]) -> None:
    query = parse(text)
    assert query.terms == terms
    assert query.errors == ()


def test_question_keeps_its_words_for_semantic_search() -> None:
    query = parse("What is the best method for long-context retrieval?")
    assert query.text == "What is the best method for long-context retrieval"
    assert not query.is_empty


# --- phrases and exclusions ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "terms", "phrases"),
    [
        ('"large language models"', (), ("large language models",)),
        ('rlhf "reward model" ppo', ("rlhf", "ppo"), ("reward model",)),
        ('"a  b"  "c"', (), ("a b", "c")),
        ("\u201ccurly quotes\u201d work", ("work",), ("curly quotes",)),
        ("\u201elow quotes\u201c too", ("too",), ("low quotes",)),
        ('"unbalanced phrase to the end', (), ("unbalanced phrase to the end",)),
        ('word"glued phrase"', ("word",), ("glued phrase",)),
        ('"" empty', ("empty",), ()),
        ('"hello, world?"', (), ("hello, world",)),
        ('"0 :" "( x ) )"', (), ("0", "x")),
        ('"  "', (), ()),
    ],
)
def test_phrases(text: str, terms: tuple[str, ...], phrases: tuple[str, ...]) -> None:
    query = parse(text)
    assert (query.terms, query.phrases) == (terms, phrases)


@pytest.mark.parametrize(
    ("text", "terms", "excluded"),
    [
        ("transformers -vision", ("transformers",), ("vision",)),
        ('agents -"reinforcement learning"', ("agents",), ("reinforcement learning",)),
        ("-a -b c", ("c",), ("a", "b")),
        ("--double", (), ("double",)),
        ("-re:3d", (), ("re:3d",)),
        ("gpt-4 -gpt-3", ("gpt-4",), ("gpt-3",)),
        ("x - y", ("x", "y"), ()),
        ('-"', (), ()),
    ],
)
def test_exclusions(text: str, terms: tuple[str, ...], excluded: tuple[str, ...]) -> None:
    query = parse(text)
    assert (query.terms, query.excluded) == (terms, excluded)


def test_text_is_words_then_phrases_without_operators_or_exclusions() -> None:
    query = parse('agents "tool use" -vision author:lecun cat:cs.AI since:7d planning')
    assert query.text == "agents planning tool use"


# --- operators -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "authors"),
    [
        ("author:lecun", ("lecun",)),
        ('author:"Yann LeCun"', ("Yann LeCun",)),
        ("au:Hinton", ("Hinton",)),
        ("AUTHOR:bengio Au:hinton", ("bengio", "hinton")),
        ("\u201cx\u201d author:\u201cGeoffrey  Hinton\u201d", ("Geoffrey Hinton",)),
        ("author: lecun", ("lecun",)),  # a space after the colon is forgiven
        ('author: "Yann LeCun"', ("Yann LeCun",)),
        ("author:lecun, author:lecun", ("lecun",)),
        ('author:"Yann LeCun', ("Yann LeCun",)),
        ("author:o'neil", ("o'neil",)),
    ],
)
def test_authors(text: str, authors: tuple[str, ...]) -> None:
    query = parse(text)
    assert query.authors == authors
    assert query.errors == ()


@pytest.mark.parametrize(
    ("text", "categories"),
    [
        ("cat:cs.LG", ("cs.LG",)),
        ("cat:cs.lg", ("cs.LG",)),
        ("CAT:CS.LG", ("cs.LG",)),
        ("category:math.ag", ("math.AG",)),
        ("cat:cs", ("cs",)),
        ("cat:cs.*", ("cs",)),
        ("cat:astro-ph.ga", ("astro-ph.GA",)),
        ("cat:q-bio.NC", ("q-bio.NC",)),
        ("cat:cond-mat.STAT-MECH", ("cond-mat.stat-mech",)),
        ("cat:physics.Optics", ("physics.optics",)),
        ("cat:quant-ph", ("quant-ph",)),
        ("cat:cs.LG,cs.CL", ("cs.LG", "cs.CL")),
        ("cat:cs.LG cat:stat.ml cat:cs.lg", ("cs.LG", "stat.ML")),
        ('cat:"cs.CV"', ("cs.CV",)),
        ("cat: cs.CV", ("cs.CV",)),
    ],
)
def test_categories(text: str, categories: tuple[str, ...]) -> None:
    query = parse(text)
    assert query.categories == categories
    assert query.errors == ()


@pytest.mark.parametrize(
    ("text", "since", "until"),
    [
        ("year:2025", "2025-01-01", "2025-12-31"),
        ("year:2024..2025", "2024-01-01", "2025-12-31"),
        ("year:2024..", "2024-01-01", None),
        ("year:..2024", None, "2024-12-31"),
        ("since:2025", "2025-01-01", None),
        ("since:2025-03", "2025-03-01", None),
        ("since:2025-03-18", "2025-03-18", None),
        ("since:2025-3-8", "2025-03-08", None),
        ("after:2025-03-18", "2025-03-18", None),
        ("until:2025", None, "2025-12-31"),
        ("until:2025-02", None, "2025-02-28"),
        ("until:2024-02", None, "2024-02-29"),
        ("until:2025-03-18", None, "2025-03-18"),
        ("before:2025-04", None, "2025-04-30"),
        ("date:2025-03-18..2025-04-01", "2025-03-18", "2025-04-01"),
        ("date:2025-03", "2025-03-01", "2025-03-31"),
        ("date:2025-03-18", "2025-03-18", "2025-03-18"),
        ("date:2025-03..2025-04", "2025-03-01", "2025-04-30"),
        ("date:2025-03-18..", "2025-03-18", None),
        ("date:..2025-03-18", None, "2025-03-18"),
        ("date:7d..today", "2025-03-13", "2025-03-20"),
        ("since:7d", "2025-03-13", None),
        ("since:7days", "2025-03-13", None),
        ("since:2w", "2025-03-06", None),
        ("since:1m", "2025-02-20", None),
        ("since:3months", "2024-12-20", None),
        ("since:1y", "2024-03-20", None),
        ("since:0d", "2025-03-20", None),
        ("since:today", "2025-03-20", None),
        ("since:yesterday", "2025-03-19", None),
        ("until:7d", None, "2025-03-13"),
        ('since:"2025-03"', "2025-03-01", None),
        ("since: 2025-03", "2025-03-01", None),
        # several bounds all apply: the narrowest range wins
        ("year:2025 since:2025-03", "2025-03-01", "2025-12-31"),
        ("since:2024 since:2025 until:2026 until:2025-06", "2025-01-01", "2025-06-30"),
    ],
)
def test_dates(text: str, since: str | None, until: str | None) -> None:
    query = parse(text)
    assert query.since == (d(since) if since else None)
    assert query.until == (d(until) if until else None)
    assert query.errors == ()


def test_relative_months_clamp_to_the_end_of_a_shorter_month() -> None:
    assert parse_query("since:1m", today=d("2025-03-31")).since == d("2025-02-28")
    assert parse_query("since:1y", today=d("2024-02-29")).since == d("2023-02-28")
    assert parse_query("since:3m", today=d("2025-01-15")).since == d("2024-10-15")


@pytest.mark.parametrize("today", [dt.date.min, dt.date.max])
@pytest.mark.parametrize(
    "text", ["since:yesterday", "since:today", "since:1d", "since:2w", "since:1m", "since:1y"]
)
def test_relative_dates_at_the_ends_of_the_calendar(text: str, today: dt.date) -> None:
    query = parse_query(text, today=today)
    assert query.since is not None or query.errors


@pytest.mark.parametrize(
    ("text", "has_code"), [("has:code", True), ("HAS:Code", True), ("x", False)]
)
def test_has_code(text: str, has_code: bool) -> None:
    assert parse(text).has_code is has_code


def test_everything_at_once() -> None:
    query = parse(
        'author:"Yann LeCun" cat:cs.lg year:2024..2025 "self supervised" '
        '-vision -"image net" has:code world models?'
    )
    assert query == ParsedQuery(
        terms=("world", "models"),
        phrases=("self supervised",),
        excluded=("vision", "image net"),
        authors=("Yann LeCun",),
        categories=("cs.LG",),
        since=d("2024-01-01"),
        until=d("2025-12-31"),
        has_code=True,
    )


# --- errors: reported, ignored, the rest still parsed --------------------------


@pytest.mark.parametrize(
    ("text", "error", "terms"),
    [
        (
            "year:20x5 transformers",
            "year:20x5 is not a year; write year:2025 or year:2024..2025",
            ("transformers",),
        ),
        ("year:25 x", "year:25 is not a year", ("x",)),
        ("year:0000 x", "year:0000 is not a year", ("x",)),
        ("year:.. x", "year:.. is not a year", ("x",)),
        ("year:2025..20x6 x", "year:2025..20x6 is not a year", ("x",)),
        ("year:2026..2024 x", "year:2026..2024 ends before it starts", ("x",)),
        (
            "since:yesterdayish x",
            "since:yesterdayish is not a date; write since:2025-03-18",
            ("x",),
        ),
        ("since:2025-02-30 x", "since:2025-02-30 is not a date", ("x",)),
        ("since:2025-13 x", "since:2025-13 is not a date", ("x",)),
        ("after:soon x", "after:soon is not a date; write after:2025-03-18", ("x",)),
        ("until:99999y x", "until:99999y is not a date", ("x",)),
        ("before:1234567d x", "before:1234567d is not a date", ("x",)),
        ("date:2025-04..2025-03 x", "date:2025-04..2025-03 ends before it starts", ("x",)),
        ("date:march x", "date:march is not a date", ("x",)),
        ("cat:cs.LG! x", "cat:cs.LG! is not an arXiv category; write cat:cs.LG", ("x",)),
        ("x cat:", "cat: is not an arXiv category", ("x",)),
        ("has:pdf x", "has:pdf is not known; the only one is has:code", ("x",)),
        ("x author:", 'author: needs a name; write author:lecun or author:"Yann LeCun"', ("x",)),
        ('x au:""', 'au:"" needs a name', ("x",)),
        ("-cat:cs.LG x", "-cat:cs.LG: a filter cannot be excluded; it was ignored", ("x",)),
        ("-year:2025 x", "-year:2025: a filter cannot be excluded", ("x",)),
        (
            "year:2024 since:2025 x",
            "no paper can be both since 2025-01-01 and until 2024-12-31",
            ("x",),
        ),
    ],
)
def test_bad_operators_are_reported_and_the_rest_still_works(
    text: str, error: str, terms: tuple[str, ...]
) -> None:
    query = parse(text)
    assert query.terms == terms
    assert any(message.startswith(error) for message in query.errors), query.errors


def test_a_bad_operator_does_not_spoil_good_ones() -> None:
    query = parse("year:20x5 author:lecun cat:nope! cat:cs.LG has:pdf has:code since:7d energy")
    assert query.authors == ("lecun",)
    assert query.categories == ("cs.LG",)
    assert query.has_code
    assert query.since == d("2025-03-13")
    assert query.until is None
    assert query.terms == ("energy",)
    assert len(query.errors) == 3


def test_long_values_are_shortened_in_messages() -> None:
    (message,) = parse("year:" + "9" * 300).errors
    assert len(message) < 120


def test_repeated_errors_are_reported_once() -> None:
    assert len(parse("has:pdf has:pdf").errors) == 1


# --- the whole box as one paper ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "arxiv_id", "version"),
    [
        ("2503.11731", "2503.11731", None),
        ("  2503.11731v2  ", "2503.11731", 2),
        ("0704.0001", "0704.0001", None),
        ("arXiv:2503.11731", "2503.11731", None),
        ("arxiv:2503.11731v3", "2503.11731", 3),
        ("arXiv: 2503.11731", "2503.11731", None),
        ("https://arxiv.org/abs/2503.11731v1", "2503.11731", 1),
        ("https://arxiv.org/abs/2503.11731", "2503.11731", None),
        ("http://arxiv.org/pdf/2503.11731v2", "2503.11731", 2),
        ("https://arxiv.org/pdf/2503.11731.pdf", "2503.11731", None),
        ("https://www.arxiv.org/abs/2503.11731/", "2503.11731", None),
        ("https://export.arxiv.org/abs/2503.11731?context=cs", "2503.11731", None),
        ("arxiv.org/abs/2503.11731", "2503.11731", None),
        ("https://arxiv.org/html/2503.11731v1", "2503.11731", 1),
        ("quant-ph/0201082", "quant-ph/0201082", None),
        ("quant-ph/0201082v1", "quant-ph/0201082", 1),
        ("math.gt/0309136", "math.GT/0309136", None),
        ("arXiv:hep-th/9901001", "hep-th/9901001", None),
        ("https://arxiv.org/abs/quant-ph/0201082v2", "quant-ph/0201082", 2),
    ],
)
def test_an_id_or_arxiv_link_goes_straight_to_the_paper(
    text: str, arxiv_id: str, version: int | None
) -> None:
    query = parse(text)
    assert (query.arxiv_id, query.arxiv_version) == (arxiv_id, version)
    assert (query.terms, query.errors) == ((), ())
    assert not query.is_empty


@pytest.mark.parametrize(
    "text",
    [
        "2503.11731 transformers",
        "see 2503.11731",
        "https://example.com/abs/2503.11731",
        "https://github.com/org/2503.11731",
        "2503.117",
        "3.14159",
        "12345",
        "arXiv:",
        "cat:cs.LG",
    ],
)
def test_an_id_among_other_words_is_just_a_word(text: str) -> None:
    assert parse(text).arxiv_id is None


# --- empty and limits ------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", '""', "?!", "-", '- "', "\x00\x01"])
def test_empty(text: str) -> None:
    query = parse(text)
    assert query.is_empty
    assert query.text == ""


@pytest.mark.parametrize("text", ["x", "-x", "since:7d", "cat:cs", "has:code", "author:a"])
def test_not_empty(text: str) -> None:
    assert not parse(text).is_empty


def test_only_errors_is_empty() -> None:
    query = parse("year:nope")
    assert query.is_empty
    assert query.errors


def test_long_input_is_cut_and_reported() -> None:
    query = parse("word " * 1_000)
    assert len(query.terms) == MAX_QUERY_WORDS
    assert any("first 64 words" in message for message in query.errors)
    assert any("1,000 characters" in message for message in query.errors)


@pytest.mark.parametrize(
    "text",
    [
        '"' * MAX_QUERY_CHARS,
        "-" * MAX_QUERY_CHARS,
        ":" * MAX_QUERY_CHARS,
        "a:" * (MAX_QUERY_CHARS // 2),
        "author:" * 200,
        "year:" + "." * 995,
        "cat:" + "a-" * 498,
        "cat:" + "," * 996,
        "/a" * 500,
        "arxiv.org/abs/" + "a" * 986,
        '-"' * 500,
        "x" * 100_000,
        "a " * 100_000,
        "\u201c" * 5_000,
    ],
)
def test_hostile_input_is_fast(text: str) -> None:
    started = time.process_time()  # CPU time: a busy machine does not make it fail
    parse(text)
    assert time.process_time() - started < 0.5


# --- any input at all ------------------------------------------------------------

# Operators and tricky pieces, each drawn as one private-use character and expanded
# after: one cheap text draw per example keeps 10,000 examples within seconds.
_PIECES = [
    "author:", "au:", "cat:", "category:", "year:", "since:", "until:", "after:", "before:",
    "date:", "has:", "code", "..", "2025", "2025-03", "2025-02-30", "7d", "99999y", "cs.LG",
    "arXiv:", "2503.11731v2", "https://arxiv.org/abs/", "quant-ph/0201082", "c++",
    "today", "yesterday", "1m", "100y",
]  # fmt: skip
_EXPAND = {0xE000 + i: piece for i, piece in enumerate(_PIECES)}
_SPECIAL = "".join(map(chr, _EXPAND)) + ' "\u201c\u201d-:.,\x00\t'
_QUERIES = st.text(st.one_of(st.characters(), st.sampled_from(_SPECIAL)), max_size=80).map(
    lambda text: text.translate(_EXPAND)
)


@settings(
    max_examples=10_000,
    deadline=1000,
    database=None,  # leave no .hypothesis folder in the work tree
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=_QUERIES, today=st.dates())
def test_any_input_parses_quickly_and_sanely(text: str, today: dt.date) -> None:
    started = time.process_time()
    query = parse_query(text, today=today)
    assert time.process_time() - started < 1.0
    assert len(query.terms) + len(query.phrases) + len(query.excluded) <= MAX_QUERY_WORDS
    for word in query.terms:
        assert word and not any(char.isspace() for char in word)
    for value in (*query.phrases, *query.excluded, *query.authors, *query.categories):
        assert value and value == value.strip() and "\x00" not in value
    assert all(isinstance(message, str) and message for message in query.errors)
    if query.since and query.until and query.since > query.until:
        assert query.errors
    if query.arxiv_id is not None:
        assert query.terms == () and query.categories == ()
    assert isinstance(query.text, str)
    _ = query.is_empty


def test_parsed_query_is_a_frozen_value() -> None:
    query = parse("x")
    with pytest.raises(AttributeError):
        query.terms = ("y",)  # type: ignore[misc]
    assert query == parse("x")
    assert hash(query) == hash(parse("x"))
