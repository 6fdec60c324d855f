"""Prometheus metrics at `/metrics`: request and search latency, papers, ingests, outbox.

Latencies are measured in each web process. With several workers
(`paperroute serve --workers N`) they write to files in one folder
(PROMETHEUS_MULTIPROC_DIR, which `serve` sets up), so a scrape that lands on
any worker sees all of them. Counts of papers, ingested records and digests
waiting are read from the database at scrape time: the same on every node.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperroute.store.stats import metric_counts

__all__ = ["MULTIPROCESS_DIR", "RequestTimer", "observe_search", "router"]

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUEST_SECONDS = Histogram(
    "paperroute_request_seconds", "Time to answer a request, by route", ["route", "method", "status"],
    buckets=_BUCKETS,
)  # fmt: skip
SEARCH_SECONDS = Histogram("paperroute_search_seconds", "Time to run one search", buckets=_BUCKETS)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

router = APIRouter(include_in_schema=False)


def observe_search(seconds: float) -> None:
    SEARCH_SECONDS.observe(seconds)


class RequestTimer:
    """ASGI middleware: each request's time, labelled by its route's pattern (not its path,
    which would make a series per paper)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or (
                "static" if scope["path"].startswith("/static") else "unmatched"
            )
            method = scope["method"] if scope["method"] in _METHODS else "other"
            REQUEST_SECONDS.labels(name, method, str(status[0])).observe(
                time.perf_counter() - started
            )


class _StoreCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        with self.engine.connect() as conn:
            counts = metric_counts(conn)
        papers = GaugeMetricFamily("paperroute_papers", "Papers stored (hidden ones included)")
        papers.add_metric([], counts.papers)
        yield papers
        ingested = GaugeMetricFamily("paperroute_ingested_records", "Records read by ingest runs, "
                                     "by source and outcome", labels=["source", "outcome"])  # fmt: skip
        for (source, outcome), n in sorted(counts.ingested.items()):
            ingested.add_metric([source, outcome], n)
        yield ingested
        outbox = GaugeMetricFamily("paperroute_outbox_digests", "Digests in the outbox, by status",
                                   labels=["status"])  # fmt: skip
        for status, n in sorted(counts.outbox.items()):
            outbox.add_metric([status], n)
        yield outbox


@router.get("/metrics")
def metrics(request: Request) -> Response:
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_DIR):
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessCollector())
    registry.register(_StoreCollector(request.app.state.engine))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _ProcessCollector(Collector):
    """This process's histograms, when there is one process."""

    def collect(self) -> Iterator[Metric]:
        yield from REQUEST_SECONDS.collect()
        yield from SEARCH_SECONDS.collect()
