"""Keeping the derived index in step with the database.

On disk, `{home}/index/manifest.json` names the generation in use and the
watermark it has reached; a generation folder holds the lexical index, the
vectors and the catalog. Every file is replaced atomically and the manifest
is written last, so a kill at any moment leaves a usable index whose
watermark is at most one batch behind: the next sync redoes that batch, and
every write is an idempotent upsert.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Callable, Generator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from paperroute.domain import Paper
from paperroute.index.catalog import Catalog, CatalogEntry
from paperroute.index.embed import Embedder, Vectors, embedding_text, text_hash
from paperroute.index.lexical import LexicalDoc, LexicalIndex
from paperroute.index.vectors import VectorIndex
from paperroute.store import embeddings as embedding_store
from paperroute.store import papers as paper_store

__all__ = [
    "SYNC_BATCH",
    "IndexCheck",
    "IndexFiles",
    "IndexMissing",
    "SyncProgress",
    "check_index",
    "index_in_use",
    "open_index",
    "rebuild_index",
    "sync_index",
]

SYNC_BATCH = 1000
SyncProgress = Callable[[int, int], None]  # (papers done, papers known to be left)


@dataclass(slots=True)
class IndexFiles:
    """One generation of the index, opened."""

    root: Path
    generation: str
    watermark: tuple[dt.datetime, int] | None
    model: str
    lexical: LexicalIndex
    vectors: VectorIndex
    catalog: Catalog

    @property
    def folder(self) -> Path:
        return self.root / self.generation

    def save(self) -> None:
        """Vectors and catalog first, the manifest last: it is the commit point."""
        self.lexical.commit()
        self.vectors.save(self.folder / "vectors.faiss")
        self.catalog.save(self.folder / "catalog.npz")
        _write_manifest(self.root, self.generation, self.watermark, self.model)


def _write_manifest(
    root: Path, generation: str, watermark: tuple[dt.datetime, int] | None, model: str
) -> None:
    data = {
        "generation": generation,
        "model": model,
        "watermark": [watermark[0].isoformat(), watermark[1]] if watermark else None,
    }
    tmp = root / f"manifest.{uuid.uuid4().hex}.tmp"
    tmp.write_text(json.dumps(data))
    os.replace(tmp, root / "manifest.json")


def _read_manifest(root: Path) -> dict[str, object] | None:
    try:
        return json.loads((root / "manifest.json").read_text())
    except FileNotFoundError:
        return None


def index_in_use(root: Path) -> tuple[str, str, tuple[dt.datetime, int] | None] | None:
    """The index in use under `root`: (generation, model, watermark); None if none was built."""
    manifest = _read_manifest(root)
    if manifest is None:
        return None
    raw = manifest.get("watermark")
    watermark = None
    if isinstance(raw, list) and len(raw) == 2:
        watermark = (dt.datetime.fromisoformat(str(raw[0])), int(raw[1]))  # type: ignore[arg-type]
    return str(manifest["generation"]), str(manifest.get("model")), watermark


def _open_generation(
    root: Path, generation: str, watermark: tuple[dt.datetime, int] | None, embedder: Embedder
) -> IndexFiles:
    folder = root / generation
    vectors_path, catalog_path = folder / "vectors.faiss", folder / "catalog.npz"
    return IndexFiles(
        root=root,
        generation=generation,
        watermark=watermark,
        model=embedder.name,
        lexical=LexicalIndex(folder / "lexical"),
        vectors=VectorIndex.load(vectors_path, embedder.dim)
        if vectors_path.exists()
        else VectorIndex(embedder.dim),
        catalog=Catalog.load(catalog_path) if catalog_path.exists() else Catalog(),
    )


class IndexMissing(RuntimeError):
    """There is no index for this model yet; the message says which command builds it."""


def open_index(root: Path, embedder: Embedder, *, create: bool = True) -> IndexFiles:
    """The generation in use; a new, empty one if there is none or the model changed.

    Readers pass `create=False` and get IndexMissing instead of an empty folder.
    """
    manifest = _read_manifest(root)
    if manifest is None or manifest.get("model") != embedder.name:
        if not create:
            raise IndexMissing(
                f"there is no search index for {embedder.name} in {root} yet; "
                "run `paperroute index sync` to build it"
            )
        root.mkdir(parents=True, exist_ok=True)
        return _open_generation(root, _new_generation_name(), None, embedder)
    generation, _, watermark = index_in_use(root) or ("", "", None)
    return _open_generation(root, generation, watermark, embedder)


def _new_generation_name() -> str:
    return f"gen-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def _vectors_for(
    engine: Engine, embedder: Embedder, batch: Sequence[paper_store.ChangedPaper]
) -> Vectors:
    """Stored vectors where the text is unchanged; the rest computed and stored first."""
    texts = [embedding_text(c.paper.title, c.paper.abstract) for c in batch]
    hashes = [text_hash(t) for t in texts]
    with engine.connect() as conn:
        stored = embedding_store.load_embeddings(conn, embedder.name, [c.paper_id for c in batch])
    out = np.zeros((len(batch), embedder.dim), dtype=np.float32)
    missing = [i for i, c in enumerate(batch) if stored.get(c.paper_id, ("",))[0] != hashes[i]]
    reused = set(range(len(batch))) - set(missing)
    for i in reused:
        out[i] = stored[batch[i].paper_id][1]
    if missing:
        computed = embedder.embed([texts[i] for i in missing])
        out[missing] = computed
        with engine.begin() as conn:
            embedding_store.save_embeddings(
                conn, embedder.name,
                [(batch[i].paper_id, hashes[i], computed[n]) for n, i in enumerate(missing)],
            )  # fmt: skip
    return out


def _apply(
    index: IndexFiles,
    batch: Sequence[paper_store.ChangedPaper],
    vectors: Vectors,
    fresh: set[int] | None,
) -> None:
    """Write a batch to all three parts; `fresh` holds the ids a new build has added so far."""
    docs = [_lexical_doc(c.paper_id, c.paper) for c in batch]
    if fresh is None:
        index.lexical.upsert(docs)
    else:  # a new build deletes only what it added itself: a paper changed mid-build
        index.lexical.delete([d.paper_id for d in docs if d.paper_id in fresh])
        index.lexical.upsert(docs, fresh=True)
        fresh.update(d.paper_id for d in docs)
    index.vectors.upsert(np.array([c.paper_id for c in batch], dtype=np.int64), vectors)
    index.catalog.upsert(
        CatalogEntry(c.paper_id, c.content_hash, c.paper.announced, c.paper.code_url is not None,
                     c.paper.categories)
        for c in batch
    )  # fmt: skip


def _lexical_doc(paper_id: int, paper: Paper) -> LexicalDoc:
    return LexicalDoc(paper_id, paper.title, paper.abstract, paper.authors, paper.categories,
                      paper.announced, paper.code_url is not None)  # fmt: skip


# Writers do not commit in the order of their clocks: a batch stamped 10:00:00
# can commit after one stamped 10:00:05 that a sync has already passed. Each
# sync therefore looks this far behind its watermark again, and skips what the
# catalog already holds unchanged.
LOOK_BACK = dt.timedelta(minutes=5)


@contextmanager
def _locked(root: Path) -> Generator[None]:
    """One writer per index folder: a sync and a rebuild never interleave."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sync_index(
    engine: Engine,
    index: IndexFiles,
    embedder: Embedder,
    *,
    progress: SyncProgress | None = None,
    batch_size: int = SYNC_BATCH,
    publish: bool = True,
) -> int:
    """Bring the index up to date from its watermark; return how many papers it took in."""
    with _locked(index.root):
        return _sync(engine, index, embedder, progress, batch_size, publish)


def _sync(
    engine: Engine, index: IndexFiles, embedder: Embedder, progress: SyncProgress | None,
    batch_size: int, publish: bool,
) -> int:  # fmt: skip
    done = seen = 0
    fresh: set[int] | None = set() if index.watermark is None and len(index.vectors) == 0 else None
    cursor = (index.watermark[0] - LOOK_BACK, 0) if index.watermark else None
    with engine.connect() as conn:
        left = paper_store.count_changed_since(conn, cursor) if progress else 0
    held = index.catalog.content_hashes() if cursor else {}
    while True:
        with engine.connect() as conn:
            rows = paper_store.papers_changed_since(conn, cursor, batch_size)
        if not rows:
            return done
        cursor = (rows[-1].changed_at, rows[-1].paper_id)
        batch = [r for r in rows if held.get(r.paper_id) != r.content_hash]
        if batch:
            _apply(index, batch, _vectors_for(engine, embedder, batch), fresh)
        if index.watermark is None or cursor > index.watermark:
            index.watermark = cursor
        if publish:  # a new generation is saved once, when complete: no one reads it before
            index.save()
        done, seen = done + len(batch), seen + len(rows)
        if progress is not None:
            progress(seen, max(0, left - seen))


def rebuild_index(
    engine: Engine,
    root: Path,
    embedder: Embedder,
    *,
    progress: SyncProgress | None = None,
    batch_size: int = SYNC_BATCH,
) -> IndexFiles:
    """Build a new generation beside the one in use, then switch to it in one step.

    Until the switch, readers use the old generation; a build that dies leaves
    it in use, and its own folder is removed by the next rebuild.
    """
    with _locked(root):
        index = _open_generation(root, _new_generation_name(), None, embedder)
        _sync(engine, index, embedder, progress, batch_size, publish=False)
        index.vectors = index.vectors.compacted(embedder.dim)
        index.save()  # the switch: the manifest now names the new generation
        for folder in root.glob("gen-*"):
            if folder.name != index.generation:
                shutil.rmtree(folder, ignore_errors=True)
    return index


@dataclass(frozen=True, slots=True)
class IndexCheck:
    missing: list[int]  # in the database, not in the index
    stale: list[int]  # in both, but the index holds older content
    extra: list[int]  # in the index, no longer in the database
    unaligned: list[int]  # in some of lexical / vectors / catalog but not all
    papers: int
    indexed: int

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.extra or self.unaligned)


def check_index(engine: Engine, index: IndexFiles) -> IndexCheck:
    """Compare every paper's content hash in the database with the index."""
    with engine.connect() as conn:
        truth = paper_store.content_hashes(conn)
    held = index.catalog.content_hashes()
    parts = [set(held), set(index.lexical.all_ids()), set(index.vectors.ids().tolist())]
    return IndexCheck(
        missing=sorted(set(truth) - set(held)),
        stale=sorted(i for i in set(truth) & set(held) if truth[i] != held[i]),
        extra=sorted(set(held) - set(truth)),
        unaligned=sorted(set.union(*parts) - set.intersection(*parts)),
        papers=len(truth),
        indexed=len(held),
    )
