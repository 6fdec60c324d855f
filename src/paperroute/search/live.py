"""The search a long-running process uses: opened on first need, reopened when the index moves."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from paperroute.index.embed import Embedder
from paperroute.index.sync import IndexMissing, open_index
from paperroute.search.service import Ranker, SearchService

__all__ = ["LiveSearch"]

CHECK_EVERY = 2.0  # seconds between looks at the manifest: new papers show within seconds


class LiveSearch:
    """Hands out a SearchService over the newest saved index generation.

    `index sync` and `index rebuild` (another process) commit by replacing
    manifest.json; a web process notices its new modification time and opens
    the index again, so it never serves a stale catalog next to fresh text.
    """

    def __init__(
        self,
        engine: Engine,
        root: Path,
        load_embedder: Callable[[], Embedder],
        *,
        observe: Callable[[float], None] | None = None,
    ) -> None:
        self.engine, self.root, self.observe = engine, root, observe
        self._load_embedder = load_embedder
        self._embedder: Embedder | None = None
        self._service: SearchService | None = None
        self._stamp: float | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def _manifest_stamp(self) -> float | None:
        try:
            return (self.root / "manifest.json").stat().st_mtime_ns / 1e9
        except FileNotFoundError:
            return None

    def index_exists(self) -> bool:
        """Whether an index has been built (cheap: nothing is opened or loaded)."""
        return self._manifest_stamp() is not None

    def service(self) -> SearchService:
        """The current service; IndexMissing when no index has been built."""
        now = time.monotonic()
        if self._service is not None and now - self._checked < CHECK_EVERY:
            return self._service
        with self._lock:
            self._checked = now
            stamp = self._manifest_stamp()
            if stamp is None:  # nothing built yet: do not load a model to find that out
                self._service = None
                raise IndexMissing(
                    f"there is no search index in {self.root} yet; "
                    "run `paperroute index rebuild` to build it"
                )
            if self._service is None or stamp != self._stamp:
                if self._embedder is None:
                    self._embedder = self._load_embedder()
                index = open_index(self.root, self._embedder, create=False)
                ranker = Ranker(index, self._embedder)
                self._service = SearchService(self.engine, ranker, observe=self.observe)
                self._stamp = stamp
            return self._service
