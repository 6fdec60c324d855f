"""Keeping the derived index in step with the database.

On disk, `{home}/index/manifest.json` names the generation in use and the
watermark it has reached; a generation folder holds the lexical index, the
vectors and the catalog. Every file is replaced atomically and the manifest
is written last, so a kill at any moment leaves a usable index whose
watermark is at most one batch behind: the next sync redoes that batch, and
every write is an idempotent upsert. `last-sync` holds when the last complete
sync started: what `index check` shows as the node's last sync.

`follow_index` (`paperroute index sync --follow`) syncs every few seconds with
the model and the index kept loaded. A sync that finds nothing new writes
nothing, so web processes reopen the index only when it changed, and reads
only what changed in the last LOOK_BACK.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Generator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from paperroute.domain import Paper
from paperroute.index.catalog import Catalog, CatalogEntry
from paperroute.index.embed import Embedder, Vectors, embedding_text, text_hash
from paperroute.index.lexical import SCHEMA_VERSION, LexicalDoc, LexicalIndex
from paperroute.index.vectors import VectorIndex
from paperroute.store import embeddings as embedding_store
from paperroute.store import papers as paper_store
from paperroute.store.db import check_schema

__all__ = [
    "FOLLOW_EVERY",
    "SYNC_BATCH",
    "IndexCheck",
    "IndexFiles",
    "IndexMissing",
    "SyncProgress",
    "check_index",
    "follow_index",
    "index_in_use",
    "last_sync",
    "open_index",
    "rebuild_index",
    "sync_index",
]

log = logging.getLogger("paperroute.index")
SYNC_BATCH = 1000
# A paper stored on any node reaches this node's index within FOLLOW_EVERY (plus
# the sync itself), and its web processes within search.live.CHECK_EVERY more.
FOLLOW_EVERY = 2.0
RETRY_AT_MOST = 30.0  # seconds between tries while syncs keep failing
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
    # Everything committed before this moment is held (set by follow_index after a
    # complete sync): the next sync looks back from here, not from an old watermark.
    # Like LOOK_BACK, it takes the nodes' clocks to agree to well within LOOK_BACK.
    held_before: dt.datetime | None = None

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
        "lexical": SCHEMA_VERSION,
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
    if manifest is None or not _current(manifest, embedder):
        if not create:
            raise IndexMissing(
                f"there is no search index for {embedder.name} in {root} yet; "
                "run `paperroute index sync` to build it"
            )
        root.mkdir(parents=True, exist_ok=True)
        return _open_generation(root, _new_generation_name(), None, embedder)
    generation, _, watermark = index_in_use(root) or ("", "", None)
    return _open_generation(root, generation, watermark, embedder)


def _current(manifest: dict[str, object], embedder: Embedder) -> bool:
    """Whether the index in use is of this model and of today's lexical fields."""
    return manifest.get("model") == embedder.name and manifest.get("lexical", 1) == SCHEMA_VERSION


def _reopen_if_moved(index: IndexFiles, embedder: Embedder) -> None:
    """Another writer (a rebuild, a sync in another process) saved since `index` was
    read: carry on from what it saved rather than write an older state over it."""
    in_use = index_in_use(index.root)
    if in_use is None or in_use[1] != index.model:
        return
    generation, _, watermark = in_use
    if (generation, watermark) != (index.generation, index.watermark):
        fresh = _open_generation(index.root, generation, watermark, embedder)
        for field in fields(IndexFiles):
            setattr(index, field.name, getattr(fresh, field.name))


def last_sync(root: Path) -> dt.datetime | None:
    """When the last complete sync of the index under `root` started; None if unknown."""
    try:
        return dt.datetime.fromisoformat((root / "last-sync").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _write_last_sync(root: Path, moment: dt.datetime) -> None:
    tmp = root / f"last-sync.{uuid.uuid4().hex}.tmp"
    tmp.write_text(moment.isoformat())
    os.replace(tmp, root / "last-sync")


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
        try:
            with engine.begin() as conn:
                embedding_store.save_embeddings(
                    conn, embedder.name,
                    [(batch[i].paper_id, hashes[i], computed[n]) for n, i in enumerate(missing)],
                )  # fmt: skip
        except IntegrityError:  # another node stored these papers' vectors at the same moment
            pass  # the same model on the same text: ours serve as well
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
    stop: Callable[[], bool] | None = None,
) -> int:
    """Bring the index up to date from its watermark; return how many papers it took in.

    `stop` is asked after each saved batch: a sync told to stop resumes there next time.
    """
    return _sync_locked(engine, index, embedder, progress, batch_size, publish, stop)[0]


def _sync_locked(
    engine: Engine, index: IndexFiles, embedder: Embedder, progress: SyncProgress | None,
    batch_size: int, publish: bool, stop: Callable[[], bool] | None,
) -> tuple[int, bool]:  # fmt: skip
    """(papers taken in, whether the sync went to the end rather than stopping)."""
    started = dt.datetime.now(dt.UTC)
    with _locked(index.root):
        _reopen_if_moved(index, embedder)
        done, complete = _sync(engine, index, embedder, progress, batch_size, publish, stop)
        if complete and publish:
            _write_last_sync(index.root, started)
    return done, complete


def _start(index: IndexFiles) -> tuple[dt.datetime, int] | None:
    """Where a sync starts reading: LOOK_BACK before the watermark, or before the last
    complete sync when that is later (a follower then reads only what is new)."""
    if index.watermark is None:
        return None
    since = max(index.watermark[0], index.held_before or index.watermark[0])
    return (since - LOOK_BACK, 0)


def _sync(
    engine: Engine, index: IndexFiles, embedder: Embedder, progress: SyncProgress | None,
    batch_size: int, publish: bool, stop: Callable[[], bool] | None = None,
) -> tuple[int, bool]:  # fmt: skip
    done = seen = 0
    fresh: set[int] | None = set() if index.watermark is None and len(index.vectors) == 0 else None
    cursor = _start(index)
    with engine.connect() as conn:
        left = paper_store.count_changed_since(conn, cursor) if progress else 0
    while True:
        with engine.connect() as conn:
            rows = paper_store.papers_changed_since(conn, cursor, batch_size)
        if not rows:
            return done, True
        cursor = (rows[-1].changed_at, rows[-1].paper_id)
        held = _held_hashes(index.catalog, [r.paper_id for r in rows])
        batch = [r for r in rows if held.get(r.paper_id) != r.content_hash]
        if batch:
            _apply(index, batch, _vectors_for(engine, embedder, batch), fresh)
        moved = index.watermark is None or cursor > index.watermark
        if moved:
            index.watermark = cursor
        # A new generation is saved once, when complete: no one reads it before. A
        # look-back that found nothing new saves nothing: readers reopen on each save.
        if publish and (batch or moved):
            index.save()
        done, seen = done + len(batch), seen + len(rows)
        if progress is not None:
            progress(seen, max(0, left - seen))
        if stop is not None and stop():
            return done, False


def _held_hashes(catalog: Catalog, paper_ids: Sequence[int]) -> dict[int, str]:
    """The content hash the index holds for each of these papers that it holds.

    A lookup in the catalog's sorted ids: a look-back over a few papers does not
    pay for all of them.
    """
    wanted = np.asarray(paper_ids, dtype=np.int64)
    rows = np.minimum(np.searchsorted(catalog.ids, wanted), max(len(catalog.ids) - 1, 0))
    found = catalog.ids[rows] == wanted if len(catalog.ids) else np.zeros(len(wanted), bool)
    return {
        int(i): h.decode() for i, h in zip(wanted[found], catalog.hashes[rows[found]], strict=True)
    }


def follow_index(
    engine: Engine,
    root: Path,
    embedder: Embedder,
    *,
    stop: threading.Event,
    every: float = FOLLOW_EVERY,
    batch_size: int = SYNC_BATCH,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> None:
    """Sync the index under `root` every `every` seconds until `stop` is set.

    The model and the index stay loaded between syncs. A sync that fails (the
    database away, an old schema) is logged and tried again, each wait longer
    than the last up to RETRY_AT_MOST seconds.
    """
    index: IndexFiles | None = None
    failures = 0
    while not stop.is_set():
        started = clock()
        try:
            if index is None:
                check_schema(engine)  # as `serve` does: never index with an older program
                index = open_index(root, embedder)
            taken, complete = _sync_locked(engine, index, embedder, None, batch_size, True,
                                           stop.is_set)  # fmt: skip
        except Exception as exc:
            failures += 1
            wait = min(every * 2 ** (failures - 1), RETRY_AT_MOST)
            cause = getattr(exc, "orig", None) or exc  # the driver's words, not the SQL
            log.error("index sync failed (%s); trying again in %g s", cause, wait,
                      exc_info=failures == 1)  # fmt: skip
            stop.wait(wait)
            continue
        if complete:
            index.held_before = started
        if failures:
            log.info("index sync works again after %d failed tries", failures)
        failures = 0
        if taken:
            log.info("index sync: %d papers taken in", taken, extra={"papers": taken})
        stop.wait(every)


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
        started = dt.datetime.now(dt.UTC)
        index = _open_generation(root, _new_generation_name(), None, embedder)
        _sync(engine, index, embedder, progress, batch_size, publish=False)
        index.vectors = index.vectors.compacted(embedder.dim)
        index.save()  # the switch: the manifest now names the new generation
        _write_last_sync(root, started)
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
