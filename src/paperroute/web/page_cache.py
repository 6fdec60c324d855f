"""Rendered pages for visitors who are not signed in, kept for half a minute per process.

Such a page is the same for every anonymous visitor (it holds no form token),
so the busiest pages cost a dictionary lookup instead of queries and
templates. What it costs: a vote shows to anonymous readers up to TTL seconds
late. Signed-in readers always get fresh pages.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from fastapi import Request
from starlette.responses import Response

__all__ = ["PageCache", "cached_page"]

TTL = 30.0
MAX_PAGES = 1000  # about 50 MB at the largest pages (a day of 50 abstracts)


class PageCache:
    def __init__(self, ttl: float = TTL, max_pages: int = MAX_PAGES) -> None:
        self.ttl, self.max_pages = ttl, max_pages
        self._pages: OrderedDict[str, tuple[float, int, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[int, bytes] | None:
        with self._lock:
            found = self._pages.get(key)
            if found is None or time.monotonic() - found[0] > self.ttl:
                return None
            self._pages.move_to_end(key)
            return found[1], found[2]

    def put(self, key: str, status: int, body: bytes) -> None:
        with self._lock:
            self._pages[key] = (time.monotonic(), status, body)
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)


def cached_page(request: Request, signed_in: bool, make: Callable[[], Response]) -> Response:
    """The page from the cache for an anonymous visitor, else made (and kept if anonymous)."""
    if signed_in:
        return make()
    cache: PageCache = request.app.state.page_cache
    key = request.url.path + "?" + request.url.query
    hit = cache.get(key)
    if hit is not None:
        return Response(hit[1], status_code=hit[0], media_type="text/html")
    response = make()
    if response.status_code == 200 and response.media_type == "text/html":
        cache.put(key, response.status_code, bytes(response.body))
    return response
