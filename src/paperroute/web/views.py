"""Paper page views for the trending score: once per visitor and day, written in batches.

A view is noted in memory on every paper page request, cached page or not,
and written with the next batch (every FLUSH_SECONDS, or MAX_PENDING views):
a page served from the cache must stay a dictionary lookup, not a write.
The table's key drops a visitor's second view of a day, here or on another
web node. Views noted but not yet written when a process dies are lost: a
few seconds of a popularity signal, never anything a reader made.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from paperroute.store.papers import ids_for_refs
from paperroute.store.signals import record_views
from paperroute.web.networks import client_network, keyed_hash

__all__ = ["ViewRecorder", "visitor_key"]

FLUSH_SECONDS = 10.0
MAX_PENDING = 500
MAX_HELD = 100_000
MAX_REF = 100  # characters: a paper key or arXiv id is far shorter
log = logging.getLogger("paperroute.web")
# Crawlers and link previews are not readers.
_ROBOT = re.compile(r"bot|crawl|spider|slurp|preview|fetch|monitor|curl|wget|python|http", re.I)


def visitor_key(secret: str, user_id: int | None, address: str, agent: str) -> str | None:
    """Who viewed, as a keyed hash (the address is never stored); None for a robot.

    A visitor is an account, or else an address (an IPv6 /64: one customer's
    block). The browser's User-Agent only tells robots apart: anyone can send
    a new one with every request, so it never makes a new visitor.
    """
    if user_id is not None:
        who = f"user:{user_id}"
    elif not agent or _ROBOT.search(agent):
        return None
    else:
        who = f"anon:{client_network(address, ipv4_prefix=32)}"
    return keyed_hash(secret, "view", who)


class ViewRecorder:
    def __init__(
        self,
        engine: Engine,
        *,
        flush_seconds: float = FLUSH_SECONDS,
        max_pending: int = MAX_PENDING,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine, self.flush_seconds, self.max_pending = engine, flush_seconds, max_pending
        self._monotonic = monotonic
        self._pending: set[tuple[str, dt.date, str]] = set()
        self._last_flush = monotonic()
        self._writing = False
        self._lock = threading.Lock()

    def note(self, paper_ref: str, day: dt.date, visitor: str) -> None:
        """A view of the paper with this key or arXiv id; written with the next batch.

        The batch is written by a thread of its own: a page never waits for
        the write (which, on SQLite, can wait for an ingest's lock).
        """
        with self._lock:
            if len(self._pending) < MAX_HELD:  # a database away for long loses views, not memory
                self._pending.add((paper_ref[:MAX_REF], day, visitor))
            due = not self._writing and (
                len(self._pending) >= self.max_pending
                or self._monotonic() - self._last_flush >= self.flush_seconds
            )
            if due:
                self._writing = True
        if due:
            threading.Thread(target=self._flush_in_background, daemon=True).start()

    def _flush_in_background(self) -> None:
        try:
            self.flush()
        except Exception:  # a popularity signal: logged and dropped, never a failed page
            log.exception("paper views not written")
        finally:
            with self._lock:
                self._writing = False

    def flush(self) -> None:
        """Write the views noted so far."""
        with self._lock:
            pending, self._pending = self._pending, set()
            self._last_flush = self._monotonic()
        if not pending:
            return
        with self.engine.begin() as conn:
            ids = ids_for_refs(conn, sorted({ref for ref, _, _ in pending}))
            record_views(conn, [(ids[r], d, v) for r, d, v in pending if r in ids])
