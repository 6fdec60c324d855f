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
        self._owners: npt.NDArray[np.int64] | None = None  # the row of each category slot
        self._category_masks: dict[tuple[str, ...], npt.NDArray[np.bool_]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    # -- changes ------------------------------------------------------------

    def upsert(self, entries: Iterable[CatalogEntry]) -> None:
        fresh = sorted({e.paper_id: e for e in entries}.values(), key=lambda e: e.paper_id)
        if not fresh:
            return
        codes = {c: i for i, c in enumerate(self.vocabulary)}
        for entry in fresh:
            for category in entry.categories:
                codes.setdefault(category, len(codes))
        self.vocabulary = list(codes)
        added = self._columns(fresh, codes)
        keep = ~np.isin(self.ids, added["ids"])
        self._merge(keep, added)

    def delete(self, paper_ids: Iterable[int]) -> None:
        keep = ~np.isin(self.ids, np.fromiter(paper_ids, dtype=np.int64))
        if not keep.all():
            self._merge(keep, self._columns([], {}))

    @staticmethod
    def _columns(entries: list[CatalogEntry], codes: dict[str, int]) -> dict[str, np.ndarray]:
        lengths = [len(e.categories) for e in entries]
        return {
            "ids": np.array([e.paper_id for e in entries], dtype=np.int64),
            "hashes": np.array([e.content_hash.encode() for e in entries], dtype="S32"),
            "announced": np.array([_days(e.announced) for e in entries], dtype=np.int32),
            "has_code": np.array([e.has_code for e in entries], dtype=bool),
            "lengths": np.array(lengths, dtype=np.int64),
            "cat_idx": np.array([codes[c] for e in entries for c in e.categories], dtype=np.int32),
        }

    def _merge(self, keep: npt.NDArray[np.bool_], added: dict[str, np.ndarray]) -> None:
        """Kept rows plus added ones, sorted by id again: vectorised, no per-paper Python."""
        lengths = np.diff(self.cat_ptr)
        kept_cats = self.cat_idx[np.repeat(keep, lengths)]
        ids = np.concatenate([self.ids[keep], added["ids"]])
        order = np.argsort(ids, kind="stable")
        all_lengths = np.concatenate([lengths[keep], added["lengths"]])
        all_cats = np.concatenate([kept_cats, added["cat_idx"]])
        # Gather each row's categories in the new row order, without a Python loop.
        starts = np.cumsum(all_lengths) - all_lengths
        new_lengths = all_lengths[order]
        rows = np.repeat(np.arange(len(order)), new_lengths)
        within = np.arange(int(new_lengths.sum())) - (np.cumsum(new_lengths) - new_lengths)[rows]
        pick = starts[order][rows] + within
        self.ids = ids[order]
        self.hashes = np.concatenate([self.hashes[keep], added["hashes"]])[order]
        self.announced = np.concatenate([self.announced[keep], added["announced"]])[order]
        self.has_code = np.concatenate([self.has_code[keep], added["has_code"]])[order]
        self.cat_ptr = np.concatenate([[0], np.cumsum(all_lengths[order])]).astype(np.int64)
        self.cat_idx = all_cats[pick].astype(np.int32)
        self._owners = None
        self._category_masks.clear()

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
        key = tuple(sorted(wanted))
        if key not in self._category_masks:  # a few categories are asked for again and again
            if len(self._category_masks) > 256:
                self._category_masks.clear()
            self._category_masks[key] = self._category_mask(key)
        return self._category_masks[key]

    def _category_mask(self, wanted: Sequence[str]) -> npt.NDArray[np.bool_]:
        chosen = np.array(
            [c in wanted or c.split(".")[0] in wanted for c in self.vocabulary], dtype=bool
        )
        if not len(self.cat_idx) or not chosen.any():
            return np.zeros(len(self.ids), dtype=bool)
        # A row matches when any of its categories does: mark the category
        # slots, then see which rows own a marked slot.
        if self._owners is None or len(self._owners) != len(self.cat_idx):
            self._owners = np.repeat(np.arange(len(self.ids)), np.diff(self.cat_ptr))
        mask = np.zeros(len(self.ids), dtype=bool)
        mask[self._owners[chosen[self.cat_idx]]] = True
        return mask

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
