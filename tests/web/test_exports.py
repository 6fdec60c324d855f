"""What reference managers read: Highwire meta tags and COinS on pages, RIS and CSL-JSON
files for a paper, a collection, a search and the for-you list, read back by the
libraries those tools use (rispy, citeproc-py)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

import rispy
from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
from citeproc.source.json import CiteProcJSON
from lxml import html

from paperroute.store.collections import add_paper, create_collection
from paperroute.store.papers import ids_for_refs, set_hidden, upsert_papers
from paperroute.store.users import add_user
from tests.web.conftest import NOW, Site, make_paper

TEX_PAPER = make_paper(
    21, "2026-03-20", ["cs.CV", "cs.LG"], title=r"$D^3$-RSMDE: 40$\times$ Faster Depth",
    authors=["Ada Lovelace", "Ludwig van Beethoven"], doi="10.1000/xyz",
    journal_ref="Phys. Rev. D 10, 123 (2026)", abstract="We estimate depth.",
)  # fmt: skip


def _add(site: Site, *papers: object) -> None:
    with site.engine.begin() as conn:
        upsert_papers(conn, list(papers), NOW - dt.timedelta(hours=1))  # type: ignore[arg-type]


def _meta(page: str) -> dict[str, list[str]]:
    """The page's citation_* tags as Zotero's Embedded Metadata translator reads them."""
    tags: dict[str, list[str]] = {}
    for meta in html.fromstring(page).xpath("//head/meta[starts-with(@name, 'citation_')]"):
        tags.setdefault(meta.get("name"), []).append(meta.get("content"))
    return tags


def test_a_paper_page_carries_highwire_tags(site: Site) -> None:
    _add(site, TEX_PAPER)
    tags = _meta(site.client.get("/papers/2503.00021").text)
    assert tags["citation_title"] == ["D^3-RSMDE: 40\u00d7 Faster Depth"]
    assert tags["citation_author"] == ["Ada Lovelace", "Ludwig van Beethoven"]
    assert tags["citation_publication_date"] == ["2026/03/20"]
    assert tags["citation_arxiv_id"] == ["2503.00021"]
    assert tags["citation_pdf_url"] == ["https://arxiv.org/pdf/2503.00021"]
    assert tags["citation_doi"] == ["10.1000/xyz"]
    assert tags["citation_journal_title"] == ["Phys. Rev. D 10, 123 (2026)"]
    plain = _meta(site.client.get("/papers/2503.00001").text)
    assert plain["citation_doi"] == ["10.48550/arXiv.2503.00001"]  # arXiv's own DOI


def test_lists_carry_one_coins_span_per_paper(site: Site) -> None:
    tree = html.fromstring(site.client.get("/?day=2026-03-20").text)
    spans = tree.xpath("//span[@class='Z3988']/@title")
    articles = tree.xpath("//article[contains(@class, 'paper')]")
    assert spans and len(spans) == len(articles)
    fields = parse_qs(spans[0])
    assert fields["ctx_ver"] == ["Z39.88-2004"] and fields["rft.genre"] == ["preprint"]
    assert fields["rft.atitle"][0].startswith("Paper number")
    assert fields["rft.au"] == ["Lovelace, Ada", "Turing, Alan"]


def test_a_paper_as_ris_reads_back_with_rispy(site: Site) -> None:
    _add(site, TEX_PAPER)
    response = site.client.get("/papers/2503.00021.ris")
    assert response.headers["content-type"].startswith("application/x-research-info-systems")
    (record,) = rispy.loads(response.text)
    assert record["type_of_reference"] == "JOUR"
    assert record["title"] == "D^3-RSMDE: 40\u00d7 Faster Depth"
    assert record["authors"] == ["Lovelace, Ada", "van Beethoven, Ludwig"]
    assert record["doi"] == "10.1000/xyz" and record["year"] == "2026"
    assert "https://arxiv.org/abs/2503.00021" in record["urls"]


def _reference(items: list[dict[str, object]]) -> str:
    """The items' bibliography as citeproc-py renders it in its bundled Harvard style."""
    source = CiteProcJSON(items)
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, source, formatter.plain)
    for item in items:
        bibliography.register(Citation([CitationItem(str(item["id"]))]))
    return "\n".join(str(entry) for entry in bibliography.bibliography())


def test_a_paper_as_csl_json_renders_with_citeproc(site: Site) -> None:
    _add(site, TEX_PAPER)
    items = site.client.get("/papers/2503.00021.csl.json").json()
    assert items[0]["author"][1] == {"given": "Ludwig", "family": "van Beethoven"}
    assert items[0]["issued"] == {"date-parts": [[2026, 3, 20]]}
    text = _reference(items)
    assert "Lovelace, A." in text and "D^3-RSMDE" in text and "2026" in text


def test_collection_exports_leave_hidden_papers_out_and_private_ones_private(site: Site) -> None:
    with site.engine.begin() as conn:
        owner = add_user(conn, "owner@example.org", NOW)
        ids = ids_for_refs(conn, ["2503.00001", "2503.00002"])
        public = create_collection(conn, owner.id, "Open", NOW, is_public=True)
        private = create_collection(conn, owner.id, "Mine", NOW)
        for paper_id in ids.values():
            add_paper(conn, public.id, paper_id, NOW)
            add_paper(conn, private.id, paper_id, NOW)
        set_hidden(conn, ids["2503.00002"], NOW)
    records = rispy.loads(site.client.get(f"/collections/{public.id}/export.ris").text)
    assert [r["accession_number"] for r in records] == ["arXiv:2503.00001"]
    assert len(site.client.get(f"/collections/{public.id}/export.csl.json").json()) == 1
    assert "2503.00001" in site.client.get(f"/collections/{public.id}/export.bib").text
    assert site.client.get(f"/collections/{private.id}/export.ris").status_code == 404
    unknown = site.client.get(f"/collections/{public.id}/export.doc")
    assert unknown.status_code == 400 and "csl.json" in unknown.text


def test_for_you_export_needs_a_reader(site: Site) -> None:
    assert site.client.get("/for-you/export.ris", follow_redirects=False).status_code == 303
    site.sign_in("reader@example.org")
    response = site.client.get("/for-you/export.csl.json")
    assert response.status_code == 200 and isinstance(response.json(), list)
    assert "for-you-2026-03-20.csl.json" in response.headers["content-disposition"]
