"""Listing pages saved as text: a few header lines, then title / abstract pairs.

This is what a daily-papers page looks like when copied out of a browser:

    Get trending papers in your email inbox!
    Subscribe
    Mar 13
    Safety Verification of Deep Neural Networks
    Deep neural networks have achieved impressive ...

Paragraphs are separated by blank lines. A title is one short line; an
abstract is long prose. Header lines are short lines that are not followed by
an abstract, so they are never mistaken for papers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from paperroute.domain import Rejected, SourceItem
from paperroute.ingest.normalize import MAX_TITLE, RecordError, build_paper

__all__ = ["read_listing_file", "read_listing_text"]

SOURCE = "listing"
_MIN_ABSTRACT = 150  # characters; the shortest arXiv abstracts are a few sentences


def _paragraphs(text: str) -> list[tuple[int, str]]:
    """(line number, paragraph) for each blank-line separated block."""
    found: list[tuple[int, str]] = []
    line = 1
    for block in re.split(r"(\n[ \t]*\n)", text):
        if block.strip() and not block.startswith("\n"):
            leading = len(block) - len(block.lstrip("\n"))
            found.append((line + block[:leading].count("\n"), block.strip()))
        line += block.count("\n")
    return found


def _looks_like_title(text: str) -> bool:
    return "\n" not in text and 0 < len(text) <= MAX_TITLE


def _looks_like_abstract(text: str) -> bool:
    return len(text) >= _MIN_ABSTRACT and " " in text


def read_listing_text(text: str, where: str) -> Iterator[SourceItem]:
    """Papers from the text of a listing page; `where` names it in error reports."""
    paragraphs = _paragraphs(text.replace("\r\n", "\n"))
    index = 0
    while index < len(paragraphs):
        line, block = paragraphs[index]
        following = paragraphs[index + 1][1] if index + 1 < len(paragraphs) else ""
        if not (_looks_like_title(block) and _looks_like_abstract(following)):
            if _looks_like_abstract(block):
                yield Rejected(f"{where}:{line}", "an abstract without a title before it")
            index += 1  # a header line, or a stray paragraph
            continue
        try:
            yield build_paper(source=SOURCE, title=block, abstract=following)
        except RecordError as exc:
            yield Rejected(f"{where}:{line}", str(exc))
        index += 2


def read_listing_file(path: Path) -> Iterator[SourceItem]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Pages saved on Windows are often cp1252; it decodes any byte sequence
        # badly rather than not at all, so only use it when UTF-8 fails.
        text = data.decode("cp1252", errors="replace")
    yield from read_listing_text(text, path.name)
