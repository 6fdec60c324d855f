"""Importing a library on the site: an upload files what is here in a collection and says
what is not; a file that is no library, or too big, gets a sentence."""

from __future__ import annotations

from httpx import Response

from tests.web.conftest import Site

END = "ER  - "  # RIS ends each record with this tag and its trailing space
RIS = "\n".join([
    "TY  - PREPRINT", "TI  - Paper number 1", "AU  - Lovelace, Ada",
    "UR  - https://arxiv.org/abs/2503.00001", END, "",
    "TY  - JOUR", "TI  - PAPER NUMBER 2.", "AU  - Turing, Alan", END, "",
    "TY  - BOOK", "TI  - A Book That Is Not on This Site", END, "",
]).encode()  # fmt: skip


def _upload(site: Site, name: str, data: bytes, collection: str = "From Zotero") -> Response:
    return site.client.post(
        "/for-you/library",
        data={"csrf": site.csrf("/for-you"), "collection": collection},
        files={"library": (name, data, "application/octet-stream")},
    )


def test_an_upload_files_the_papers_and_lists_the_rest(site: Site) -> None:
    site.sign_in("reader@example.org")
    page = _upload(site, "My Library.ris", RIS)
    assert page.status_code == 200, page.text
    assert "Imported 3 entries: 2 found here" in page.text and "From Zotero" in page.text
    assert "A Book That Is Not on This Site" in page.text
    collections = site.client.get("/collections").text
    assert "From Zotero" in collections and "2 papers" in collections


def test_a_library_bigger_than_a_form_is_taken(site: Site) -> None:
    site.sign_in("reader@example.org")
    padding = (
        b"TY  - BOOK\nTI  - Filler entry with a long abstract\nAB  - "
        + b"x" * 5000
        + b"\nER  - \n\n"
    )
    big = RIS + padding * 300  # about 1.5 MB: over the 1 MB form limit, under the upload's
    assert len(big) > 1_000_000
    page = _upload(site, "big.ris", big)
    assert page.status_code == 200 and "Imported 303 entries" in page.text


def test_what_is_no_library_gets_a_sentence(site: Site) -> None:
    site.sign_in("reader@example.org")
    page = _upload(site, "notes.txt", b"just some words")
    assert page.status_code == 400
    assert "not BibTeX, RIS or CSL-JSON" in page.text
    huge = _upload(site, "huge.ris", b"x" * 10_200_000)
    assert huge.status_code == 413


def test_only_a_signed_in_reader_can_import(site: Site) -> None:
    page = site.client.post(
        "/for-you/library", data={"csrf": site.csrf("/signin")},
        files={"library": ("a.ris", RIS, "text/plain")}, follow_redirects=False,
    )  # fmt: skip
    assert page.status_code in (401, 303)
