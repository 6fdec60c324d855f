"""What the index holds of each paper besides text: content hash and filter fields.

Columns in numpy arrays sorted by paper id, so a filter over a million papers
(category, date range, has code) is a few vectorised comparisons, and
`index check` can compare content hashes with the database.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["Catalog", "CatalogEntry"]

_EPOCH = dt.date(1970, 1, 1)
_NO_DATE = np.iinfo(np.int32).min


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    paper_id: int
    content_hash: str
    announced: dt.date | None
    has_code: bool
    categories: Sequence[str]


def _days(day: dt.date | None) -> int:
    return (day - _EPOCH).days if day is not None else int(_NO_DATE)


class Catalog:
    def __init__(self) -> None:
        self.ids = np.zeros(0, dtype=np.int64)
        self.hashes = np.zeros(0, dtype="S32")
        self.announced = np.zeros(0, dtype=np.int32)
        self.has_code = np.zeros(0, dtype=bool)
        self.cat_ptr = np.zeros(1, dtype=np.int64)  # row i's categories: cat_idx[ptr[i]:ptr[i+1]]
        self.cat_idx = np.zeros(0, dtype=np.int32)
        self.vocabulary: list[str] = []

    def __len__(self) -> int:
        return len(self.ids)

    # -- changes ------------------------------------------------------------

    def upsert(self, entries: Iterable[CatalogEntry]) -> None:
        fresh = {e.paper_id: e for e in entries}
        if fresh:
            self._rebuild(self._entries(exclude=fresh.keys()) + list(fresh.values()))

    def delete(self, paper_ids: Iterable[int]) -> None:
        gone = set(paper_ids)
        if gone & set(self.ids.tolist()):
            self._rebuild(self._entries(exclude=gone))

    def _entries(self, exclude: Iterable[int]) -> list[CatalogEntry]:
        skip = set(exclude)
        return [
            CatalogEntry(
                int(pid),
                self.hashes[row].decode(),
                None
                if self.announced[row] == _NO_DATE
                else _EPOCH + dt.timedelta(days=int(self.announced[row])),
                bool(self.has_code[row]),
                [
                    self.vocabulary[c]
                    for c in self.cat_idx[self.cat_ptr[row] : self.cat_ptr[row + 1]]
                ],
            )
            for row, pid in enumerate(self.ids)
            if int(pid) not in skip
        ]

    def _rebuild(self, entries: list[CatalogEntry]) -> None:
        entries.sort(key=lambda e: e.paper_id)
        codes = {c: i for i, c in enumerate(self.vocabulary)}
        for entry in entries:
            for category in entry.categories:
                codes.setdefault(category, len(codes))
        self.vocabulary = list(codes)
        self.ids = np.array([e.paper_id for e in entries], dtype=np.int64)
        self.hashes = np.array([e.content_hash.encode() for e in entries], dtype="S32")
        self.announced = np.array([_days(e.announced) for e in entries], dtype=np.int32)
        self.has_code = np.array([e.has_code for e in entries], dtype=bool)
        lengths = [len(e.categories) for e in entries]
        self.cat_ptr = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
        self.cat_idx = np.array([codes[c] for e in entries for c in e.categories], dtype=np.int32)

    # -- reading ------------------------------------------------------------

    def content_hashes(self) -> dict[int, str]:
        return dict(zip(self.ids.tolist(), (h.decode() for h in self.hashes), strict=True))

    def allowed(
        self,
        categories: Sequence[str] = (),
        since: dt.date | None = None,
        until: dt.date | None = None,
        has_code: bool = False,
    ) -> npt.NDArray[np.int64] | None:
        """Ids passing a filter (an archive like "cs" matches its classes); None: no filter."""
        if not (categories or since or until or has_code):
            return None
        mask = np.ones(len(self.ids), dtype=bool)
        if since is not None:
            mask &= self.announced >= _days(since)
        if until is not None:
            mask &= (self.announced <= _days(until)) & (self.announced != _NO_DATE)
        if has_code:
            mask &= self.has_code
        if categories:
            mask &= self._in_categories(categories)
        return self.ids[mask]

    def _in_categories(self, wanted: Sequence[str]) -> npt.NDArray[np.bool_]:
        codes = [
            i for i, c in enumerate(self.vocabulary)
            if c in wanted or c.split(".")[0] in wanted
        ]  # fmt: skip
        hit = np.isin(self.cat_idx, codes).astype(np.int64)
        counts = np.add.reduceat(np.append(hit, 0), self.cat_ptr[:-1]) if len(hit) else hit
        empty = self.cat_ptr[1:] == self.cat_ptr[:-1]  # reduceat gives a neighbour's value there
        return (counts > 0) & ~empty if len(hit) else np.zeros(len(self.ids), dtype=bool)

    # -- files --------------------------------------------------------------

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as handle:
            np.savez(handle, ids=self.ids, hashes=self.hashes, announced=self.announced,
                     has_code=self.has_code, cat_ptr=self.cat_ptr, cat_idx=self.cat_idx,
                     vocabulary=np.array(self.vocabulary, dtype=str))  # fmt: skip
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Catalog:
        catalog = cls()
        with np.load(path) as data:
            catalog.ids, catalog.hashes = data["ids"], data["hashes"]
            catalog.announced, catalog.has_code = data["announced"], data["has_code"]
            catalog.cat_ptr, catalog.cat_idx = data["cat_ptr"], data["cat_idx"]
            catalog.vocabulary = [str(v) for v in data["vocabulary"]]
        return catalog
