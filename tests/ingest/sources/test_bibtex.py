"""BibTeX files as arXiv, Google Scholar, DBLP, IEEE and old reference managers write them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from paperroute.domain import Paper, Rejected, SourceItem, Version
from paperroute.ingest.sources.bibtex import read_bibtex_file

FIXTURES = Path(__file__).parents[2] / "fixtures" / "bibtex"


def _read(name: str) -> list[SourceItem]:
    return list(read_bibtex_file(FIXTURES / name))


def _papers(items: list[SourceItem]) -> dict[str, Paper]:
    return {p.arxiv_id or p.title: p for p in items if isinstance(p, Paper)}


def _write(tmp_path: Path, text: str, encoding: str = "utf-8") -> list[SourceItem]:
    path = tmp_path / "refs.bib"
    path.write_bytes(text.encode(encoding))
    return list(read_bibtex_file(path))


def test_arxiv_export_fields() -> None:
    items = _read("arxiv-export.bib")
    assert len(items) == 3 and all(isinstance(item, Paper) for item in items)
    paper = _papers(items)["2503.11731"]
    assert paper.source == "bibtex"
    assert paper.title.startswith("Industrial-Grade Sensor Simulation via Gaussian Splatting")
    assert paper.categories == ("cs.CV",)
    assert len(paper.authors) == 16
    assert paper.authors[0] == "Xianming Zeng" and paper.authors[-1] == "Qiang Li"
    assert paper.submitted is None  # a bare year says too little
    assert paper.code_url is None  # the arxiv.org url is the paper itself


def test_latex_accents_are_decoded() -> None:
    papers = _papers(_read("arxiv-export.bib")) | _papers(_read("scholar.bib"))
    assert papers["2503.12028"].authors[0] == "F. Çengel"  # {\c{C}}
    assert papers["2503.11742"].authors[0] == "Moreno D'Incà"  # {\`a}
    assert papers["2503.11846"].authors[3] == "Peter Schüffler"  # {\"u}
    assert papers["2503.22000"].authors == ("András Kornai",)  # {\'a}
    assert papers["Attention is all you need"].authors[6] == "Łukasz Kaiser"  # {\L}


def test_last_first_names_are_turned_around_in_order() -> None:
    paper = _papers(_read("scholar.bib"))["2503.11846"]
    assert paper.authors == (
        "Alexander Weers", "Alexander H Berger", "Laurin Lux",
        "Peter Schüffler", "Daniel Rueckert", "Johannes C Paetzold",
    )  # fmt: skip


def test_von_parts_and_others() -> None:
    papers = _papers(_read("mixed.bib")) | _papers(_read("scholar.bib"))
    markup = next(p for p in papers.values() if p.title.startswith("In silico"))
    assert markup.authors == ("João Oliveira", "Jürgen Müller", "Anna van der Berg")
    # Google Scholar's "and others" is not a person.
    assert papers["2503.12141"].authors == ("Shayan Rokhva", "Babak Teimourpour", "Romina Babaei")


def test_scholar_arxiv_preprint_journal_gives_the_id_not_a_venue() -> None:
    papers = _papers(_read("scholar.bib"))
    assert papers["2503.11742"].journal_ref is None
    assert papers["2503.12141"].journal_ref is None  # booktitle = {arXiv preprint ...}
    vaswani = papers["Attention is all you need"]
    assert vaswani.arxiv_id is None  # kept, the store keys it by title
    assert vaswani.journal_ref == "Advances in neural information processing systems"


def test_broken_entry_is_rejected_with_its_line_and_the_others_import() -> None:
    items = _read("scholar.bib")
    rejected = [item for item in items if isinstance(item, Rejected)]
    assert len(rejected) == 1
    assert rejected[0].location == "scholar.bib:15"
    assert "jansen2025temporally" in rejected[0].reason
    assert "not valid BibTeX" in rejected[0].reason
    assert len(_papers(items)) == 5
    assert "2503.22000" in _papers(items)  # the entry right after the broken one


def test_latin1_file_is_read() -> None:
    papers = list(_papers(_read("latin1.bib")).values())
    assert papers[0].title == "Detección de anomalías en series temporales con redes neuronales"
    assert papers[0].authors == ("José García", "Françoise Müller", "Iñaki Ñúñez")
    assert papers[0].submitted == dt.date(2023, 11, 1)
    assert papers[1].authors == ("Hélène Lefèvre", "Björn Þórsson")


def test_cp1252_quotes_and_utf8_bom(tmp_path: Path) -> None:
    entry = "@article{a, title={\u201cQuoted\u201d \u2013 Caf\u00e9}, year={2024}}"
    assert _papers(_write(tmp_path, entry, "cp1252"))["\u201cQuoted\u201d \u2013 Caf\u00e9"]
    assert _papers(_write(tmp_path, entry, "utf-8-sig"))["\u201cQuoted\u201d \u2013 Caf\u00e9"]


def test_html_and_latex_in_titles_are_cleaned() -> None:
    papers = _papers(_read("mixed.bib"))
    assert papers["2503.12827"].title == (
        "GSBAK$^K$: $top$-$K$ Geometric Score-based Black-box Attack"
    )  # math stays as written
    assert papers["2503.14797"].title.startswith("FACTS&EVIDENCE: An Interactive Tool")
    markup = next(p for p in papers.values() if p.title.startswith("In silico"))
    assert markup.title == "In silico screening of RNA aptamers with deep learning & docking"
    # An unescaped % is a percent sign, not a LaTeX comment eating the rest.
    assert markup.abstract == (
        "We screen 10% of a library of $10^6$ aptamers and report a 50% speed-up; "
        "the code is at https://example.org/aptamers."
    )


def test_dblp_entry() -> None:
    paper = _papers(_read("mixed.bib"))["2503.14797"]
    assert paper.doi is None  # arXiv's own DOI adds nothing to the id
    assert paper.journal_ref is None  # "CoRR" is arXiv, not a venue
    assert paper.authors[-1] == "Yulia Tsvetkov"


def test_ieee_entry_with_string_month_and_doi() -> None:
    paper = _papers(_read("mixed.bib"))["Deep Residual Learning for Image Recognition"]
    assert paper.journal_ref == (
        "2016 IEEE Conference on Computer Vision and Pattern Recognition (CVPR)"
    )  # from @string
    assert paper.doi == "10.1109/CVPR.2016.90"
    assert paper.submitted == dt.date(2016, 6, 1)
    assert paper.authors == ("Kaiming He", "Xiangyu Zhang", "Shaoqing Ren", "Jian Sun")


def test_github_url_becomes_code_url_and_doi_loses_its_resolver() -> None:
    papers = _papers(_read("mixed.bib"))
    assert papers["2503.12827"].code_url == "https://github.com/example-org/GSBAK"
    assert papers["2503.12827"].submitted == dt.date(2025, 3, 1)  # month = mar
    markup = next(p for p in papers.values() if p.title.startswith("In silico"))
    assert markup.doi == "10.1089/cmb.2023.0412"


@pytest.mark.parametrize(
    ("fields", "arxiv_id", "versions"),
    [
        ("eprint={2503.11742v2}, archivePrefix={arXiv}", "2503.11742", (Version(2),)),
        ("eprint={hep-th/9901001}, eprinttype={arxiv}", "hep-th/9901001", ()),
        ("eprint={2023/1234}, archivePrefix={IACR}", None, ()),
        ("url={https://arxiv.org/pdf/2503.11742v3}", "2503.11742", (Version(3),)),
        ("url={https://github.com/x/2503.11742}", None, ()),
        ("doi={10.48550/arXiv.2503.11742}", "2503.11742", ()),
        ("journal={arXiv e-prints}, note={arXiv:2503.11742}", "2503.11742", ()),
    ],
)
def test_arxiv_id_sources(
    tmp_path: Path, fields: str, arxiv_id: str | None, versions: tuple[Version, ...]
) -> None:
    items = _write(tmp_path, f"@misc{{k, title={{T}}, {fields}}}")
    assert isinstance(items[0], Paper)
    assert (items[0].arxiv_id, items[0].versions) == (arxiv_id, versions)


@pytest.mark.parametrize(
    ("fields", "submitted"),
    [
        ("date={2025-03-14}, year={2025}, month={1}", dt.date(2025, 3, 14)),
        ("date={2025-03}", dt.date(2025, 3, 1)),
        ("year={2025}, month={13}", None),
        ("year={circa 2025}, month=feb", None),
        ("date={2025-02-30}", None),
    ],
)
def test_dates(tmp_path: Path, fields: str, submitted: dt.date | None) -> None:
    items = _write(tmp_path, f"@misc{{k, title={{T}}, {fields}}}")
    assert isinstance(items[0], Paper) and items[0].submitted == submitted


def test_absurdly_long_title_is_rejected(tmp_path: Path) -> None:
    items = _write(tmp_path, f"\n\n@article{{long, title={{{'Very ' * 250}long}}, year={{2025}}}}")
    assert items == [
        Rejected("refs.bib:3", "entry 'long': title is 1,254 characters (limit 1,000)")
    ]


def test_entry_without_title_and_duplicate_key_are_rejected(tmp_path: Path) -> None:
    text = "@misc{a, title={One}}\n@misc{b, author={Doe, J.}}\n@misc{a, title={Again}}\n"
    items = _write(tmp_path, text)
    assert items[0] == Paper(title="One", abstract="", source="bibtex")
    assert items[1] == Rejected("refs.bib:2", "entry 'b': missing title")
    assert isinstance(items[2], Rejected) and items[2].location == "refs.bib:3"
    assert "duplicate entry key 'a'" in items[2].reason


def test_a_malformed_name_does_not_lose_the_paper(tmp_path: Path) -> None:
    items = _write(tmp_path, "@misc{k, title={T}, author={Smith, J., Jr, Extra and Doe, Jane}}")
    assert isinstance(items[0], Paper)
    assert items[0].authors[-1] == "Jane Doe"
