"""What the parser fuzz tests share: settings, tricky text and mutated real documents.

Generators start from a recorded fixture and mutate it (elements and fields
dropped, duplicated, renamed, nested deeply or given hostile values; the bytes
cut short or spliced), and mix in random bytes, so that most inputs get deep
into a parser and some are not the format at all.

Every draw is cheap: tricky pieces are single private-use characters expanded
after the draw, as in tests/search/test_query.py.
"""

from __future__ import annotations

import copy
import gc
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from lxml import etree

from paperroute.domain import Paper, Rejected
from paperroute.ingest.normalize import MAX_ABSTRACT, MAX_TITLE, parse_arxiv_id
from paperroute.ingest.sources.errors import SourceError
from paperroute.ingest.xml import Element

FIXTURES = Path(__file__).parents[2] / "fixtures"

# `make fuzz` runs 10,000 of each; the default suite a few hundred, to stay fast.
EXAMPLES = int(os.environ.get("PAPERROUTE_FUZZ_EXAMPLES", "300"))

fuzz_settings = settings(
    max_examples=EXAMPLES,
    # The 1 s limit per input is checked on CPU time by `outcome`: a wall-clock
    # deadline fails at random on a busy machine, where a 0.2 s parse can take 2 s.
    deadline=None,
    database=None,  # leave no .hypothesis folder in the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

T = TypeVar("T")

# --- tricky text -------------------------------------------------------------------

PIECES = [
    # ids and versions, good and bad
    "2503.11731", "2503.11731v2", "v0", "v" + "9" * 4_400, "quant-ph/0201082", "math.GT/0309136",
    "http://arxiv.org/abs/", "https://arxiv.org/pdf/", "arXiv:", ".pdf", "\u0662\u0665\u0660\u0663.11731",
    # dates: ISO, RFC 2822, and neither
    "2025-03-18", "2025-02-30", "9999-12-31T23:59:59Z", "0000-00-00", "2025-W01-1", "-0400",
    "Tue, 25 Mar 2025 00:00:00 -0400", "Mon, 32 Jan 2000", "1 Jan 99999 00:00:00", "+2400",
    "Sun, 16 Mar 2025 07:41:27 -9999999999999999999", "GMT",
    # markup a field may carry
    "\\'{e}", "\\emph{", "\\url{", "$", "{", "}", "\\", "&amp;", "&lt;b&gt;", "<b>", "</i>",
    "&#0;", "&#x110000;", "%", "#", "\\v{", "\\ss",
    # what names, categories and descriptions are made of
    " and ", ", ", "Jr.", "(MIT)", "(", ")", "Announce Type: ", "replace", "new", "cross",
    "Abstract: ", "cs.LG", "astro-ph.GA", "javascript:alert(1)", "https://github.com/a/b",
    "Project page: https://x.org", "others",
    # characters that break naive code
    "\u200b", "\ufeff", "\u202e", "\x00", "\x1b", "\r\n", "\t", "\n\n", "\u2028", "\U0001d538",
    "\u6df1\u5ea6\u5b66\u4e60", "Schr\u00f6dinger", "\u00a0",
]  # fmt: skip


# The few values that most often break a parser (an int() refuses "²" and 4,400
# digits; nesting and sizes past the limits), drawn far more often than the rest.
NASTY = ["", " ", "\u00b2", "9" * 4_400, "9999999999999999999", "(" * 3_000, ")" * 3_000,
         "[" * 5_000, "x" * 1_001, "word " * 4_100, "\x00", "\u202e"]  # fmt: skip


def tricky_text(extra: Sequence[str] = (), max_size: int = 12) -> st.SearchStrategy[str]:
    """A nasty value, a tricky piece, or random text with pieces mixed in.

    `extra` adds a format's own pieces. A whole piece matters: "²" alone is
    what passes `str.isdigit()` and then fails `int()`.
    """
    pieces = [*PIECES, *NASTY, *extra]
    expand = {0xE000 + i: piece for i, piece in enumerate(pieces)}
    special = "".join(map(chr, expand))
    alphabet = st.one_of(st.characters(codec="utf-8"), st.sampled_from(special))
    mixed = st.text(alphabet, max_size=max_size).map(lambda text: text.translate(expand))
    return st.one_of(st.sampled_from(NASTY), st.sampled_from(pieces), mixed)


# --- text documents (BibTeX, listings) -----------------------------------------------

_TEXT_OPS = ("insert", "insert", "delete", "copy", "cut", "field", "field")


def _mutate_text(text: str, op: str, at: int, size: int, value: str, field: re.Pattern[str]) -> str:
    start = at % (len(text) + 1)
    if op == "insert":
        return text[:start] + value + text[start:]
    if op == "delete":
        return text[:start] + text[start + size % 200 :]
    if op == "copy":
        return text[:start] + text[start : start + size % 400] + text[start:]
    if op == "cut":
        return text[:start]
    matches = list(field.finditer(text))  # "field": replace the value of one field
    if not matches:
        return text
    match = matches[at % len(matches)]
    return text[: match.start(1)] + value + text[match.end(1) :]


def mutated_text(
    bases: Sequence[str], values: st.SearchStrategy[str], field: re.Pattern[str]
) -> st.SearchStrategy[str]:
    """A base document with a few edits; `field` finds the values to replace (group 1)."""
    ops = st.tuples(
        st.sampled_from(_TEXT_OPS), st.integers(0, 2**20), st.integers(0, 2**10), values
    )

    @st.composite
    def documents(draw: st.DrawFn) -> str:
        text = draw(st.sampled_from(bases))
        for op, at, size, value in draw(st.lists(ops, max_size=6)):
            text = _mutate_text(text, op, at, size, value, field)
        return text

    return documents()


# --- XML documents (Atom, RSS, OAI-PMH) ----------------------------------------------

_TREE_OPS = ("drop", "copy", "text", "text", "append", "tail", "attr", "rename", "nest", "deep")
_ATTRIBUTES = ("term", "version", "status", "code", "scheme", "href", "isPermaLink")
# What XML 1.0 can carry at all; the rest reaches a parser only as raw bytes.
_NOT_XML_RE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_SNIPPETS = [
    b"<!DOCTYPE feed [<!ENTITY a 'b'>]>", b"<![CDATA[", b"]]>", b"&", b"&amp;", b"&#0;", b"<",
    b"</", b"<a:b>", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00",
    b"<?xml version='1.0' encoding='latin-1'?>", b"<?xml version='1.0' encoding='bogus'?>",
]  # fmt: skip
_BYTE_VALUES = st.one_of(
    tricky_text().map(str.encode), st.binary(max_size=8), st.sampled_from(_XML_SNIPPETS)
)
_BYTE_OPS = st.lists(
    st.tuples(st.sampled_from(("cut", "splice", "splice")), st.integers(0, 2**20), _BYTE_VALUES),
    min_size=1,
    max_size=2,
)


def _mutate_tree(root: Element, op: str, at: int, other: int, value: str) -> None:
    elements = [element for element in root.iter() if isinstance(element.tag, str)]
    target, second = elements[at % len(elements)], elements[other % len(elements)]
    # Field edits pick a tag first: a page has one <totalResults> and hundreds of others.
    tags = sorted({str(element.tag) for element in elements})
    fields = [element for element in elements if element.tag == tags[other % len(tags)]]
    field, parent, value = fields[at % len(fields)], target.getparent(), _NOT_XML_RE.sub("", value)
    if op == "drop" and parent is not None:
        parent.remove(target)
    elif op == "copy" and parent is not None:
        target.addnext(copy.deepcopy(target))
    elif op == "text":
        field.text = value
    elif op == "append":  # "-0400" + "99999" is a time zone no date has
        field.text = (field.text or "") + value
    elif op == "tail" and parent is not None:
        target.tail = value
    elif op == "attr":
        names = [*map(str, field.attrib), *_ATTRIBUTES]
        field.set(names[at % len(names)], value)
    elif op == "rename":
        target.tag = second.tag
    elif op == "nest" and second.getparent() is not None and second is not target:
        if second not in target.iterancestors():  # an element cannot move into itself
            target.append(second)
    elif op == "deep":  # past libxml2's depth limit (256) now and then
        node = target
        for _ in range(other % 300):
            node = etree.SubElement(node, target.tag)
        node.text = value


def _mutate_bytes(data: bytes, op: str, at: int, value: bytes) -> bytes:
    start = at % (len(data) + 1)
    return data[:start] if op == "cut" else data[:start] + value + data[start:]


def _first_records(path: Path, keep: int) -> bytes:
    """A recorded page cut to its first few entries, items or records."""
    root = etree.fromstring(path.read_bytes())
    for parent in list(root.iter()):
        records = [child for child in parent if etree.QName(child).localname in _RECORDS]
        for record in records[keep:]:
            parent.remove(record)
    return etree.tostring(root, encoding="utf-8", xml_declaration=True)


_RECORDS = frozenset({"entry", "item", "record"})


def xml_pages(paths: Sequence[Path], keep: int = 3) -> st.SearchStrategy[bytes]:
    """Recorded XML pages mutated as trees, some then damaged as bytes; a few random bytes.

    Pages are cut to `keep` records: each input parses faster, and edits land
    on the page's own fields (its date, its count) more often.
    """
    bases = [_first_records(path, keep) for path in paths]
    ops = st.tuples(
        st.sampled_from(_TREE_OPS), st.integers(0, 2**20), st.integers(0, 2**20), tricky_text()
    )

    @st.composite
    def pages(draw: st.DrawFn) -> bytes:
        kind = draw(st.integers(0, 9))
        if kind == 0:
            return draw(st.binary(max_size=300))
        root = etree.fromstring(draw(st.sampled_from(bases)))
        for op, at, other, value in draw(st.lists(ops, max_size=8)):
            _mutate_tree(root, op, at, other, value)
        data = etree.tostring(root, encoding="utf-8", xml_declaration=True)
        return corrupted(data, draw(_BYTE_OPS)) if kind <= 2 else data

    return pages()


# --- JSON documents (Hugging Face daily lists, JSON lines) ------------------------------

# Values orjson cannot write, or that must reach the parser as raw JSON text:
# each is a marker string swapped for its text after orjson.dumps.
_RAW_JSON = [
    b"[" * 1_000 + b"]" * 1_000,  # deep, but within orjson's limit of 1,024 levels
    b'{"a":' * 1_000 + b"1" + b"}" * 1_000,
    b"[" * 2_000 + b"]" * 2_000,  # past it
    b"1" + b"0" * 30, b"1e400", b"-0", b"NaN", b'"\\ud800"', b'"\\u0000"',
    b'"' + b"x" * 30_000 + b'"', b"[" + b'"a",' * 6_000 + b'"a"]',
]  # fmt: skip
_MARKERS = {chr(0xF0000 + i): raw for i, raw in enumerate(_RAW_JSON)}
_MARKER_RE = re.compile(b'"(' + b"|".join(re.escape(m.encode()) for m in _MARKERS) + b')"')

# Leaves, and a few small shapes: the edits themselves nest them further
# ("wrap"), which is much cheaper than drawing recursive values.
_JSON_SHAPES = [[], {}, [""], ["A. Name", 1], {"name": "A. Name"}, {"name": None}, [{"name": 7}]]
_JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(),
    tricky_text(),
    st.sampled_from(list(_MARKERS)),
    st.sampled_from(_JSON_SHAPES).map(copy.deepcopy),
)


_FIELD_OPS = ("set", "set", "drop", "wrap", "append")
_JSON_OPS = (*_FIELD_OPS, "walk", "copy")


def _objects(document: Any) -> list[dict[str, Any]]:
    """Every JSON object in a document."""
    found: list[dict[str, Any]] = []
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _mutate_json(document: Any, at: int, op: str, name: str, new: Any) -> None:
    if op in _FIELD_OPS:  # a field by name: most objects are authors, not papers
        objects = _objects(document)
        having = [item for item in objects if name in item] or objects
        if not having:
            return
        target = having[at % len(having)]
        if op == "set":
            target[name] = new
        elif op == "drop":
            target.pop(name, None)
        elif op == "wrap":
            target[name] = [target.get(name)]
        elif isinstance(target.get(name), str) and isinstance(new, str):  # append
            target[name] += new
        return
    # "walk" and "copy": down a path `at` picks, to whatever is there (a record, an author).
    parent: Any = None
    key: Any = None
    node = document
    for _ in range(at % 4 + 1):
        if not isinstance(node, dict | list) or not node:
            break
        at //= 4
        parent = node
        key = list(node)[at % len(node)] if isinstance(node, dict) else at % len(node)
        node = node[key]
    if parent is None:
        return
    if op == "walk":
        parent[key] = new
    elif isinstance(parent, list):
        parent.insert(key, copy.deepcopy(node))


def mutated_json(bases: Sequence[bytes], names: Sequence[str]) -> st.SearchStrategy[Any]:
    """A recorded JSON document, edited; markers in it stand for raw JSON (see `dump_json`)."""
    ops = st.tuples(
        st.integers(0, 2**32), st.sampled_from(_JSON_OPS), st.sampled_from(names), _JSON_VALUES
    )

    @st.composite
    def documents(draw: st.DrawFn) -> Any:
        document = orjson.loads(draw(st.sampled_from(bases)))  # a fresh copy to edit
        for at, op, name, new in draw(st.lists(ops, max_size=6)):
            _mutate_json(document, at, op, name, new)
        return document

    return documents()


def json_pages(bases: Sequence[bytes], names: Sequence[str]) -> st.SearchStrategy[bytes]:
    """Recorded JSON documents edited, some then damaged as bytes; a few random bytes."""

    @st.composite
    def pages(draw: st.DrawFn) -> bytes:
        if draw(st.integers(0, 9)) == 0:
            return draw(st.binary(max_size=300))
        return corrupted(dump_json(draw(mutated_json(bases, names))), draw(byte_damage))

    return pages()


def dump_json(value: Any) -> bytes:
    """JSON text for a generated value, markers replaced by their raw JSON."""
    text = orjson.dumps(value)
    return _MARKER_RE.sub(lambda match: _MARKERS[match[1].decode()], text)


def corrupted(data: bytes, ops: Sequence[tuple[str, int, bytes]]) -> bytes:
    """The bytes cut short or with junk spliced in, one op after another."""
    for op, at, value in ops:
        data = _mutate_bytes(data, op, at, value)
    return data


# Most documents stay whole, so that the parser gets past its first checks.
byte_damage = st.one_of(st.just([]), st.just([]), st.just([]), _BYTE_OPS)


# --- what every outcome must look like ---------------------------------------------


def outcome(parse: Callable[[], T]) -> T | SourceError:
    """What `parse` returns, or the SourceError it raises, within a second.

    Any other exception propagates and fails the test: a parser answers bad
    input with `Rejected` items or a SourceError, never a crash.
    """
    result, elapsed = _timed(parse)
    if elapsed >= 1.0:  # a hang is slow every time; a stall of the test run is not
        result, elapsed = _timed(parse)
    assert elapsed < 1.0, f"took {elapsed:.2f} s of CPU time, twice"
    return result


def _timed(parse: Callable[[], T]) -> tuple[T | SourceError, float]:
    # Hypothesis raises the recursion limit for itself; the parser gets Python's
    # default, as in production, where a 1,000-deep JSON list breaks repr().
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000)
    # CPU time, not wall time, as a busy machine stalls any process; and no
    # collection of the whole test run's heap in the middle of a parse.
    gc.disable()
    started = time.process_time()
    try:
        result: T | SourceError = parse()
    except SourceError as exc:
        result = exc
    finally:
        elapsed = time.process_time() - started
        gc.enable()
        sys.setrecursionlimit(limit)
    return result, elapsed


def check_error(error: SourceError, where: str) -> None:
    """A source error names the input and stays readable."""
    event("SourceError")
    message = str(error)
    assert where in message and len(message) < 2_000, message


def check_item(item: object, where: str) -> None:
    """A paper that is clean and within the limits, or a rejection naming where and why."""
    if isinstance(item, Rejected):
        event("Rejected")
        assert item.location.startswith(where), item
        assert item.reason and len(item.reason) < 2_000, item
        return
    event("Paper")
    assert isinstance(item, Paper), item
    assert item.title and item.title == item.title.strip() and len(item.title) <= MAX_TITLE
    assert len(item.abstract) <= MAX_ABSTRACT
    assert item.arxiv_id is None or parse_arxiv_id(item.arxiv_id) == (item.arxiv_id, None)
    assert all(author and author == author.strip() for author in item.authors)
    for link in (item.code_url, item.project_url):
        assert link is None or link.lower().startswith(("http://", "https://")), link
