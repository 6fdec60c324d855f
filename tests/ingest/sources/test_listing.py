"""The listing page format: header lines, then title / abstract pairs."""

from __future__ import annotations

import re
from pathlib import Path

from paperroute.domain import Paper, Rejected
from paperroute.ingest.sources.listing import read_listing_file, read_listing_text

SEED = Path(__file__).parents[3] / "src/paperroute/sample/trending-listing.txt"


def test_seed_listing_imports_all_74_papers_exactly() -> None:
    items = list(read_listing_file(SEED))
    assert all(isinstance(i, Paper) for i in items)
    assert len(items) == 74
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", SEED.read_text()) if p.strip()]
    body = paragraphs[5:]  # new / Get trending ... / Subscribe / byAK ... / Mar 13
    for n, paper in enumerate(items):
        assert isinstance(paper, Paper)
        assert paper.title == body[2 * n]
        assert paper.abstract == body[2 * n + 1]
    titles = {p.title for p in items if isinstance(p, Paper)}
    assert not titles & {"new", "Subscribe", "Get trending papers in your email inbox!", "Mar 13"}
    assert items[0].title == "Safety Verification of Deep Neural Networks"  # type: ignore[union-attr]


ABSTRACT = "We study things. " * 12


def test_stray_abstract_is_reported_with_its_line() -> None:
    text = f"Subscribe\n\nA Title\n\n{ABSTRACT}\n\n{ABSTRACT}\n\nB Title\n\n{ABSTRACT}\n"
    items = list(read_listing_text(text, "page.txt"))
    assert isinstance(items[0], Paper) and items[0].title == "A Title"
    assert items[1] == Rejected("page.txt:7", "an abstract without a title before it")
    assert isinstance(items[2], Paper) and items[2].title == "B Title"


def test_windows_line_endings_and_cp1252(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_bytes(
        f"Subscribe\r\n\r\nCaf\xe9 Networks\r\n\r\n{ABSTRACT}\r\n".encode("cp1252", "replace")
    )
    (paper,) = list(read_listing_file(page))
    assert isinstance(paper, Paper) and paper.title == "Café Networks"
