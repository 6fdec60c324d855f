"""The listing-page reader against any text: papers or rejects naming the line, fast."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from paperroute.ingest.sources.listing import read_listing_text
from tests.ingest.sources.fuzzing import (
    check_item,
    fuzz_settings,
    mutated_text,
    outcome,
    tricky_text,
)

WHERE = "page.txt"
SEED = Path(__file__).parents[3] / "src/paperroute/sample/trending-listing.txt"
_PARAGRAPHS = SEED.read_text(encoding="utf-8").split("\n\n")
# Pieces of the page a few papers long, header included, so each input parses fast.
PAGES = ["\n\n".join(_PARAGRAPHS[start : start + 12]) for start in range(0, len(_PARAGRAPHS), 12)]
LISTING_PIECES = ["\n\n", "\n", "\r\n", "\r", " \t\n", "Subscribe", "Mar 13", "word " * 40,
                  "\f", "\v", "\x1c", "\u0085", "\u2029"]  # fmt: skip
LINE = re.compile(r"^(.+)$", re.MULTILINE)
TEXTS = st.one_of(
    mutated_text(PAGES, tricky_text(LISTING_PIECES), LINE),
    mutated_text(PAGES, tricky_text(LISTING_PIECES), LINE),
    tricky_text(LISTING_PIECES, max_size=60),
)


@fuzz_settings
@given(text=TEXTS)
def test_any_text_reads_quickly_and_sanely(text: str) -> None:
    items = outcome(lambda: list(read_listing_text(text, WHERE)))
    assert isinstance(items, list)  # a listing has no SourceError: any text is some page
    for item in items:
        check_item(item, WHERE)
