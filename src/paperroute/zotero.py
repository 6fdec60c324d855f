"""Zotero through its Web API v3: push a collection to a Zotero collection, pull one in.

The reader gives their Zotero API key for each sync (it is not stored). Items go
to Zotero as `preprint` items (repository arXiv, its arXiv id as archive ID, the
arXiv DOI), the way Zotero's own arXiv translator saves them; items come back as
`Paper`s for the library import, which matches them by arXiv id, DOI and title.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from paperroute.citations import split_name
from paperroute.domain import Paper, Rejected, SourceItem
from paperroute.ingest.normalize import RecordError, build_paper
from paperroute.ingest.sources.bibtex import arxiv_id_in_text, clean_doi

__all__ = ["ZoteroClient", "ZoteroError", "item_for_paper", "paper_for_item"]

PAGE = 100  # items per read, the API's largest page
WRITE_BATCH = 50  # items per write, the API's limit
_KEY_RE = re.compile(r"[A-Za-z0-9]{10,64}")


class ZoteroError(RuntimeError):
    """Zotero refused or could not be reached; the message says what to do."""


def item_for_paper(paper: Paper, collection_key: str) -> dict[str, Any]:
    """A Zotero `preprint` item for a paper, filed in one collection."""
    creators = []
    for name in paper.authors:
        given, family = split_name(name)
        creators.append({"creatorType": "author", "firstName": given, "lastName": family}
                        if given else {"creatorType": "author", "name": family})  # fmt: skip
    day = paper.submitted or paper.announced
    item: dict[str, Any] = {
        "itemType": "preprint",
        "title": paper.title,
        "creators": creators,
        "abstractNote": paper.abstract,
        "date": day.isoformat() if day else "",
        "url": paper.abs_url or "",
        "DOI": paper.doi or (f"10.48550/arXiv.{paper.arxiv_id}" if paper.arxiv_id else ""),
        "collections": [collection_key],
    }
    if paper.arxiv_id:
        item |= {"repository": "arXiv", "archiveID": f"arXiv:{paper.arxiv_id}"}
    if paper.comment:
        item["extra"] = f"Comment: {paper.comment}"
    return item


def paper_for_item(data: dict[str, Any]) -> Paper:
    """A Zotero item's data as a `Paper` (RecordError when it has no title)."""
    names: list[str] = []
    for creator in data.get("creators") or []:
        if isinstance(creator, dict):
            name = (
                creator.get("name")
                or f"{creator.get('firstName', '')} {creator.get('lastName', '')}"
            )
            names.append(" ".join(str(name).split()))
    texts = [data.get(k) for k in ("archiveID", "url", "DOI", "extra", "publicationTitle")]
    arxiv_id = next(
        (found for t in texts if isinstance(t, str) and (found := arxiv_id_in_text(t))), None
    )
    return build_paper(
        source="zotero",
        title=data.get("title"),
        abstract=data.get("abstractNote") if isinstance(data.get("abstractNote"), str) else "",
        arxiv_id=arxiv_id,
        authors=[n for n in names if n],
        doi=clean_doi(data.get("DOI")),
        journal_ref=data.get("publicationTitle") or None,
    )


@dataclass
class ZoteroClient:
    """One reader's Zotero library, by their API key; `base_url` is the API's address."""

    key: str
    base_url: str = "https://api.zotero.org"
    timeout: float = 30.0
    transport: httpx.BaseTransport | None = None

    def __post_init__(self) -> None:
        if not _KEY_RE.fullmatch(self.key.strip()):
            raise ZoteroError(
                "That is not a Zotero API key: make one at zotero.org/settings/keys "
                "(library access, and write access to push) and paste it whole"
            )
        headers = {"Zotero-API-Key": self.key.strip(), "Zotero-API-Version": "3"}
        self._http = httpx.Client(base_url=self.base_url.rstrip("/"), headers=headers,
                                  timeout=self.timeout, transport=self.transport)  # fmt: skip
        self._user: int | None = None

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ZoteroError(
                f"Zotero could not be reached ({type(exc).__name__}): try again later"
            ) from None
        if response.status_code == 403:
            raise ZoteroError(
                "Zotero refused the key: check it allows library access (and writing, to push)"
            )
        if response.status_code >= 400:
            raise ZoteroError(
                f"Zotero answered {response.status_code} to {method} {path}: try again later"
            )
        return response

    @property
    def user_id(self) -> int:
        if self._user is None:
            found = self._call("GET", f"/keys/{self.key.strip()}").json()
            self._user = int(found["userID"])
        return self._user

    def collections(self) -> dict[str, str]:
        """The library's collections: name -> key."""
        found: dict[str, str] = {}
        for item in self._pages(f"/users/{self.user_id}/collections"):
            found.setdefault(str(item["data"]["name"]), str(item["key"]))
        return found

    def ensure_collection(self, name: str) -> str:
        """The key of the collection with this name, made if there is none."""
        existing = self.collections().get(name)
        if existing is not None:
            return existing
        created = self._write(f"/users/{self.user_id}/collections", [{"name": name}])
        return created[0]

    def items(self, collection_key: str) -> list[dict[str, Any]]:
        """The data of every top-level item in a collection."""
        path = f"/users/{self.user_id}/collections/{collection_key}/items/top"
        return [item["data"] for item in self._pages(path)]

    def add_items(self, items: Sequence[dict[str, Any]]) -> int:
        """Create items (50 a request); how many Zotero took."""
        made = 0
        for start in range(0, len(items), WRITE_BATCH):
            made += len(
                self._write(
                    f"/users/{self.user_id}/items", list(items[start : start + WRITE_BATCH])
                )
            )
        return made

    def _pages(self, path: str) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            response = self._call(
                "GET", path, params={"format": "json", "limit": PAGE, "start": start}
            )
            page = response.json()
            yield from page
            total = int(response.headers.get("Total-Results", start + len(page)))
            start += len(page)
            if not page or start >= total:
                return

    def _write(self, path: str, objects: list[dict[str, Any]]) -> list[str]:
        # A write token makes a retried request a no-op instead of a duplicate.
        headers = {"Zotero-Write-Token": secrets.token_hex(16)}
        result = self._call("POST", path, json=objects, headers=headers).json()
        if result.get("failed"):
            first = next(iter(result["failed"].values()))
            raise ZoteroError(f"Zotero refused an item: {first.get('message', first)}")
        return [
            str(key)
            for _, key in sorted(result.get("success", {}).items(), key=lambda kv: int(kv[0]))
        ]


def zotero_papers(items: Sequence[dict[str, Any]]) -> list[SourceItem]:
    """Zotero items as entries for the library import (notes and attachments left out)."""
    entries: list[SourceItem] = []
    for n, data in enumerate(items, 1):
        if data.get("itemType") in ("note", "attachment", "annotation"):
            continue
        try:
            entries.append(paper_for_item(data))
        except RecordError as exc:
            entries.append(Rejected(f"Zotero item {data.get('key') or n}", str(exc)))
    return entries
