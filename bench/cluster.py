"""A cluster under load with processes killed mid-work: nothing lost, nothing doubled.

    python bench/cluster.py [--papers N] [--seconds S] [--only postgresql|sqlite] [--json OUT]

PostgreSQL run: two "nodes" on this machine sharing a fresh database
(`paperroute_cluster` on the local server, dropped at the end). Each node has
its own PAPERROUTE_HOME (its own search index), its own `paperroute serve`
(one process) on its own port, its own `paperroute worker` (ingest and
digests every 10 s, leased) and its own `paperroute index sync --follow`.
Each process is started in a process group of its own (a new session), so a
kill -9 of a worker also kills the job it is running, as a machine dying
takes its children with it. For --seconds a load generator on 127.0.0.1
(asyncio + httpx) browses (feed, search, paper pages), votes through the API
with tokens, and subscribes to the digest through the site's form (CSRF
token from the form, confirmation link from the mail). During the load it
kills -9 node 2's web process, a worker while it runs an ingest (after the
run stored a page) and a worker while it sends digests, and restarts each
5 s later. Afterwards it waits for the workers and both index followers to
catch up, stops them, runs `paperroute index check` on both nodes, and
counts every item in the database and at the SMTP server.

SQLite run: the same load on one machine, `paperroute serve --workers 2`,
one `paperroute worker` and one index follower on one database file (WAL,
busy timeout), no kills; "database is locked" in any process's output and
5xx responses must be 0.

Counted: papers (every id the source released stored exactly once, and no
other paper added), votes (every vote a voter meant, recorded once; a vote
that failed is sent again, one in ten is sent twice on purpose), subscribers
(every confirmed visitor confirmed in the database, one row each), digests
(every confirmed subscriber due now has one outbox row for the period, and
its Message-ID arrived at the SMTP server exactly once). A digest that
arrives twice is listed with its arrival times: the sender's documented
window (digest/send.py: the server accepted it, the process died before the
row was marked sent) resends it with the same Message-ID after the claim
expires; it counts as a duplicate here.

Real: the processes, the databases, the site's HTTP (uvicorn on 127.0.0.1),
the arXiv API client and ingest pipeline, the index follower (new papers are
embedded by the model), the digest build and its SMTP delivery to an
aiosmtpd server on 127.0.0.1 in its own process (bench/mailsink.py), the
leases, kill -9. Simulated, and said in the output:
- the load balancer, modelled on the nginx of docs/deploy.md: each request
  goes to the next node in turn; when the connection fails before any
  response (refused, reset, closed) it is sent to the other node, as
  `proxy_next_upstream error timeout non_idempotent` does (votes and form
  posts are safe to repeat), and counted as a retry, not an error; a node
  that failed twice within 10 s gets no new requests for 10 s
  (`max_fails=2 fail_timeout=10s`). Any other failure (a timeout once the
  node took the request), any response that is not 2xx/3xx, and a request
  no node took is an error. It sets X-Forwarded-For (a distinct address per
  simulated visitor), as nginx does;
- arXiv: a loopback server speaks the arXiv API's Atom format (the shape of
  the recorded responses in ../shared/fixtures/arxiv-api) for --new-papers
  papers held out of the loaded corpus, released a few at a time over the
  load and served one slow page of 20 at a time, so that ingest adds
  genuinely new papers while the site is under load and a kill lands inside
  a run; every released id is known;
- the corpus: loaded before the load as bench/web.py does (papers without a
  cached vector get seeded random vectors), dated by announcement day as
  bench/digest.py does; node 2's index starts as a copy of node 1's
  (a node joining from a snapshot), then follows the database on its own;
- --subscribers confirmed daily readers are added to the database before the
  load (store functions, as bench/digest.py does), so a digest run is long
  enough to be killed while it sends; subscribers added during the load go
  through the form and the mailed link; voters' accounts and API tokens are
  made with store functions (what `paperroute user add` and `user token` do);
- short leases so a dead worker's job is taken over within the run:
  PAPERROUTE_JOB_LEASE=10 s, PAPERROUTE_DIGEST_LEASE=15 s; the schedule fires
  every 10 s (6-field cron, seconds last).

Quick look: --papers 5000 --seconds 40 --subscribers 100 --new-papers 100.
Figures go to bench/results/cluster.json; the exit code is 1 if anything was
lost or doubled, any request failed, a fault could not be injected or its job
was never taken over, an index check failed, or SQLite said "database is
locked".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import gzip
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from xml.sax.saxutils import escape

import httpx
import numpy as np
import orjson
from mailsink import SmtpServer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, create_engine, func, select, text

from digest import date_arrivals, preferences_for, saved_search_pool
from ingest import DEFAULT_POSTGRES, drop_postgres
from paperroute.digest.compose import due_period
from paperroute.index.sync import index_in_use
from paperroute.ingest.normalize import RecordError
from paperroute.ingest.sources.jsonl import record_to_paper
from paperroute.store.db import make_engine
from paperroute.store.papers import count_changed_since
from paperroute.store.schema import (
    digest_outbox,
    ingest_runs,
    job_leases,
    papers,
    subscribers,
    users,
    votes,
)
from paperroute.store.subscribers import active_subscribers, add_subscriber, confirm_subscriber
from paperroute.store.subscribers import set_papers_after as start_papers_after
from paperroute.store.users import add_user, create_api_token
from search import CACHE, CORPUS, bench_console
from web import (
    PAPERROUTE,
    fetch,
    free_port,
    load_site,
    placeholder_values,
    process_tree,
    site_env,
    wait_until_serving,
)

BENCH = Path(__file__).parent
RESULTS = BENCH / "results" / "cluster.json"
DB_NAME = "paperroute_cluster"
DOMAIN = "cluster.bench.example"  # reserved: no mail or link here ever leaves the machine
SITE = "https://papers.cluster.bench.example"  # links in mails; the benchmark sends their paths to a node
EVERY = "* * * * * */10"  # every 10 s
SCHEDULE = [
    {"cron": EVERY, "command": "ingest arxiv --query cat:cs.*"},
    {"cron": EVERY, "command": "digest send"},
]
JOB_LEASE_S, DIGEST_LEASE_S, DIGEST_RATE = 10, 15, 10
PAGE_SIZE, PAGE_DELAY_S, REQUEST_DELAY_S = 20, 0.3, 0.5
RESTART_AFTER_S = 5.0
MAX_FAILS, FAIL_TIMEOUT_S = 2, 10.0  # the balancer's, as in docs/deploy.md
ENDPOINTS = ("feed", "search", "paper page", "vote", "subscribe form", "subscribe",
             "confirm form", "confirm")  # fmt: skip
_CONNECTION_FAILED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError,
                      httpx.ReadError, httpx.WriteError)  # fmt: skip
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_XML_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the corpus, split into what is loaded and what arrives during the load ------------


def split_corpus(
    corpus: Path, out: Path, papers_wanted: int, held: int, seed: int
) -> list[dict[str, Any]]:
    """Write the first `papers_wanted` valid papers (0: all) but `held` of them to `out`;
    return the held-out records, in the order the source will release them."""
    lines: list[bytes] = []
    with gzip.open(corpus, "rb") as handle:
        for line in handle:
            if papers_wanted and len(lines) >= papers_wanted:
                break
            with contextlib.suppress(orjson.JSONDecodeError, RecordError):
                record_to_paper(orjson.loads(line))
                lines.append(line.rstrip(b"\n"))
    chosen = set(random.Random(seed).sample(range(len(lines)), min(held, len(lines) // 2)))
    with out.open("wb") as sink:
        sink.writelines(line + b"\n" for n, line in enumerate(lines) if n not in chosen)
    return [orjson.loads(lines[n]) for n in sorted(chosen)]


def _xml(value: str) -> str:
    return escape(_XML_CONTROL.sub("", value), {'"': "&quot;"})


def atom_entry(record: dict[str, Any]) -> str:
    """A paper as the arXiv API's Atom shows it (see ../shared/fixtures/arxiv-api)."""
    day = record.get("announced") or "2026-03-02"
    categories = record.get("categories") or ["cs.LG"]
    parts = [f"<entry><id>http://arxiv.org/abs/{record['id']}v1</id>",
             f"<updated>{day}T00:00:00Z</updated><published>{day}T00:00:00Z</published>",
             f"<title>{_xml(record['title'])}</title><summary>{_xml(record['summary'])}</summary>"]  # fmt: skip
    parts += [f"<author><name>{_xml(name)}</name></author>" for name in record["authors"]]
    parts += [f'<category term="{_xml(c)}" scheme="http://arxiv.org/schemas/atom"/>'
              for c in categories]  # fmt: skip
    parts.append(f'<arxiv:primary_category term="{_xml(categories[0])}"/>')
    if record.get("comment"):
        parts.append(f"<arxiv:comment>{_xml(record['comment'])}</arxiv:comment>")
    return "".join(parts) + "</entry>"


class FeedSource:
    """The arXiv API on 127.0.0.1: held-out papers, released a few at a time, served slowly."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.ids = [str(r["id"]) for r in records]
        self.entries = [atom_entry(r) for r in records]
        self.lock = threading.Lock()
        self.started: float | None = None
        self.release_s = 1.0
        self.frozen: int | None = None
        self.requests: list[tuple[float, int, int]] = []  # (monotonic time, start, entries)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def start(self, release_s: float) -> None:
        with self.lock:
            self.started, self.release_s = time.monotonic(), release_s

    def released(self) -> int:
        with self.lock:
            if self.frozen is not None:
                return self.frozen
            if self.started is None:
                return 0
            share = (time.monotonic() - self.started) / self.release_s
            return min(len(self.ids), int(len(self.ids) * share))

    def freeze(self) -> list[str]:
        """Release no more; the ids released so far: what the source offered."""
        count = self.released()
        with self.lock:
            self.frozen = count
        return self.ids[:count]

    def page(self, start: int, size: int) -> bytes:
        total = self.released()
        shown = self.entries[start : min(total, start + min(size, PAGE_SIZE))]
        with self.lock:
            self.requests.append((time.monotonic(), start, len(shown)))
        head = ("<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns:opensearch="
                '"http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" '
                'xmlns="http://www.w3.org/2005/Atom"><id>https://arxiv.org/api/cluster-bench</id>'
                f"<title>arXiv Query</title><updated>{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
                f"</updated><opensearch:itemsPerPage>{len(shown)}</opensearch:itemsPerPage>"
                f"<opensearch:totalResults>{total}</opensearch:totalResults>"
                f"<opensearch:startIndex>{start}</opensearch:startIndex>")  # fmt: skip
        return (head + "".join(shown) + "</feed>").encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != "/api/query":
                    self.send_error(404)
                    return
                query = parse_qs(url.query)
                start = int(query.get("start", ["0"])[0])
                size = int(query.get("max_results", ["10"])[0])
                time.sleep(PAGE_DELAY_S)  # a slow source: an ingest run lasts seconds
                body = source.page(start, size)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(200)  # a killed ingest job hangs up mid-page
                    self.send_header("Content-Type", "application/atom+xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- processes ---------------------------------------------------------------------------


@dataclass
class Proc:
    """A paperroute process in a process group of its own; kill() takes the whole group."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)  # one per start

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(self.argv, env=self.env, stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        self.pids.append(self.popen.pid)

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> list[int]:
        """kill -9 of the process group: the process and whatever job it runs. Their pids."""
        assert self.popen is not None
        members = [int(folder.name) for folder in process_tree(self.popen.pid)]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()
        return members

    def stop(self, timeout: float = 30) -> None:
        """SIGINT, then kill -9 of whatever is left of its group (only of a running one)."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()


def running_job(worker: Proc) -> tuple[str, float] | None:
    """The paperroute command a worker runs now, and for how many seconds."""
    if not worker.alive():
        return None
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    for folder in process_tree(worker.pid)[1:]:
        with contextlib.suppress(OSError, ValueError, IndexError):
            words = [w.decode() for w in (folder / "cmdline").read_bytes().split(b"\0") if w]
            if "paperroute" in words and "-m" in words:
                command = " ".join(words[words.index("paperroute") + 1 :])
                started = int((folder / "stat").read_text().rpartition(")")[2].split()[19])
                return command, uptime - started / CLOCK_TICKS
    return None


@dataclass
class Node:
    name: str
    home: Path
    env: dict[str, str]
    port: int
    web: Proc
    worker: Proc
    index: Proc

    def procs(self) -> list[Proc]:
        return [self.web, self.worker, self.index]


def wait_ready(proc: Proc, port: int, timeout: float = 180) -> None:
    """Until the process answers /readyz (database reachable, schema current)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(
                f"{proc.name} stopped:\n{proc.log.read_text(errors='replace')[-3000:]}"
            )
        with contextlib.suppress(OSError):
            if fetch(port, "/readyz", timeout=5)[0] == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{proc.name} not ready after {timeout:g} s")


# --- the load: a balancer in front of the nodes, and the simulated visitors ----------------


@dataclass
class EndpointStats:
    latencies_ms: list[float] = field(default_factory=list)
    requests: int = 0
    errors: int = 0
    retries: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)


class Balancer:
    """nginx in front of the nodes, as docs/deploy.md sets it up: round robin; a connection
    that fails before any response is retried on the other node (proxy_next_upstream error
    timeout non_idempotent); a node that failed MAX_FAILS times within FAIL_TIMEOUT_S gets no
    new requests for FAIL_TIMEOUT_S (max_fails=2 fail_timeout=10s)."""

    def __init__(self, ports: list[int], timeout: float) -> None:
        no_cookies = CookieJar(DefaultCookiePolicy(allowed_domains=[]))  # visitors keep their own
        self.clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{p}", timeout=timeout,
                                          trust_env=False, cookies=no_cookies,
                                          limits=httpx.Limits(max_connections=64))
                        for p in ports]  # fmt: skip
        self.stats = {name: EndpointStats() for name in ENDPOINTS}
        self.turn = 0
        self.in_flight = [0] * len(ports)
        self.failed_at: list[list[float]] = [[] for _ in ports]
        self.down_until = [0.0] * len(ports)

    def order(self) -> list[int]:
        """The nodes to try, next in turn first; those marked down after the others."""
        self.turn += 1
        turn = [(self.turn + n) % len(self.clients) for n in range(len(self.clients))]
        now = time.monotonic()
        return sorted(turn, key=lambda node: self.down_until[node] > now)

    def failed(self, node: int) -> None:
        now = time.monotonic()
        recent = [t for t in self.failed_at[node] if t > now - FAIL_TIMEOUT_S] + [now]
        self.failed_at[node] = recent
        if len(recent) >= MAX_FAILS:
            self.down_until[node] = now + FAIL_TIMEOUT_S

    async def send(self, endpoint: str, method: str, path: str, headers: dict[str, str],
                   data: dict[str, str] | None = None) -> httpx.Response | None:  # fmt: skip
        """The response, or None when the request failed (counted as an error)."""
        stats = self.stats[endpoint]
        stats.requests += 1
        started = time.perf_counter()
        for attempt, node in enumerate(self.order()):
            stats.retries += attempt > 0
            self.in_flight[node] += 1
            try:
                response = await self.clients[node].request(
                    method, path, headers=headers, data=data
                )
            except _CONNECTION_FAILED as exc:
                stats.problems[f"{type(exc).__name__} (node {node + 1})"] += 1
                self.failed(node)
                continue
            except httpx.HTTPError as exc:  # a timeout while the node was working on it
                stats.problems[f"{type(exc).__name__} (node {node + 1})"] += 1
                stats.errors += 1
                return None
            finally:
                self.in_flight[node] -= 1
            stats.statuses[response.status_code] += 1
            if response.status_code >= 400:
                stats.errors += 1
                stats.problems[f"HTTP {response.status_code} (node {node + 1})"] += 1
                return None
            stats.latencies_ms.append((time.perf_counter() - started) * 1000)
            return response
        stats.errors += 1  # no node took it
        return None

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()


class MailWatcher:
    """Reads what the SMTP server received; hands each address its confirmation link."""

    def __init__(self, smtp: SmtpServer) -> None:
        self.smtp = smtp
        self.records: list[dict[str, Any]] = []
        self.links: dict[str, list[str]] = {}
        self.arrived: dict[str, asyncio.Event] = {}

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.poll()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)
        await self.poll()

    async def poll(self) -> None:
        new = await asyncio.to_thread(self.smtp.messages, len(self.records))
        self.records += new
        for record in new:
            for link in record["links"]:
                if "/digest/confirm/" in link:
                    for address in record["to"]:
                        self.links.setdefault(address, []).append(link)
                        self.event(address).set()

    def event(self, address: str) -> asyncio.Event:
        return self.arrived.setdefault(address, asyncio.Event())

    async def confirm_link(self, address: str, timeout: float) -> str | None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event(address).wait(), timeout)
        found = self.links.get(address)
        return found[-1] if found else None


@dataclass
class Voter:
    email: str
    token: str
    papers: list[str]
    intended: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    repeated: int = 0


@dataclass
class Flow:
    """One visitor subscribing through the form and the mailed link."""

    address: str
    ip: str
    subscribed: bool = False
    mailed: bool = False
    confirmed: bool = False
    stopped_at: str = ""


@dataclass
class Load:
    balancer: Balancer
    mail: MailWatcher
    until: float
    queries: list[str]
    paper_ids: list[str]
    voters: list[Voter]
    flows: list[Flow] = field(default_factory=list)


def _headers(ip: str, cookie: str = "") -> dict[str, str]:
    found = {"X-Forwarded-For": ip, "User-Agent": "paperroute-cluster-bench"}
    if cookie:
        found["Cookie"] = f"pr_csrf={cookie}"
    return found


async def read_pages(load: Load, n: int, think: float, seed: int) -> None:
    rng, ip = random.Random(seed * 1000 + n), f"10.1.{n // 250}.{n % 250 + 1}"
    while time.monotonic() < load.until:
        pick = rng.random()
        if pick < 0.25:
            await load.balancer.send("feed", "GET", "/", _headers(ip))
        elif pick < 0.6:
            await load.balancer.send("search", "GET", f"/search?q={rng.choice(load.queries)}",
                                     _headers(ip))  # fmt: skip
        else:
            await load.balancer.send("paper page", "GET", f"/papers/{rng.choice(load.paper_ids)}",
                                     _headers(ip))  # fmt: skip
        await asyncio.sleep(think)


async def cast_votes(
    load: Load, voter: Voter, every: float, repeat_share: float, seed: int
) -> None:
    """Each vote until it is acknowledged (a user seeing an error clicks again); some twice."""
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {voter.token}", "User-Agent": "paperroute-cluster-bench"}
    for paper in voter.papers:
        if time.monotonic() >= load.until:
            return
        voter.intended.add(paper)
        for _ in range(3):
            found = await load.balancer.send(
                "vote", "POST", f"/api/v1/papers/{paper}/vote", headers
            )
            if found is not None:
                voter.acknowledged.add(paper)
                break
            await asyncio.sleep(0.5)
        if rng.random() < repeat_share:  # the same vote again: it must still count once
            voter.repeated += 1
            await load.balancer.send("vote", "POST", f"/api/v1/papers/{paper}/vote", headers)
        await asyncio.sleep(every * rng.uniform(0.5, 1.5))


def _cookie_of(response: httpx.Response, current: str) -> str:
    for value in response.headers.get_list("set-cookie"):
        if value.startswith("pr_csrf="):
            return value.split(";", 1)[0].split("=", 1)[1]
    return current


async def _form_step(load: Load, flow: Flow, name: str, path: str, cookie: str,
                     data: dict[str, str] | None = None) -> tuple[str, str] | None:  # fmt: skip
    """GET a form (data None) or POST it; (cookie, page) or None when it failed."""
    method = "GET" if data is None else "POST"
    found = await load.balancer.send(name, method, path, _headers(flow.ip, cookie), data)
    if found is None:
        flow.stopped_at = name
        return None
    return _cookie_of(found, cookie), found.text


async def subscribe(load: Load, flow: Flow, mail_timeout: float) -> None:
    """The form, the confirmation mail's link, the confirm form: as a visitor does it."""
    step = await _form_step(load, flow, "subscribe form", "/digest/subscribe", "")
    token = _CSRF.search(step[1]) if step else None
    if step is None or token is None:
        flow.stopped_at = flow.stopped_at or "subscribe form (no CSRF token)"
        return
    data = {"email": flow.address, "csrf": token[1]}
    step = await _form_step(load, flow, "subscribe", "/digest/subscribe", step[0], data)
    if step is None:
        return
    flow.subscribed = True
    link = await load.mail.confirm_link(flow.address, mail_timeout)
    if link is None:
        flow.stopped_at = "no confirmation mail"
        return
    flow.mailed = True
    path = urlsplit(link).path
    step = await _form_step(load, flow, "confirm form", path, step[0])
    token = _CSRF.search(step[1]) if step else None
    if step is None or token is None:
        flow.stopped_at = flow.stopped_at or "confirm form (no CSRF token)"
        return
    step = await _form_step(load, flow, "confirm", path, step[0], {"csrf": token[1]})
    flow.confirmed = step is not None


async def start_subscribers(load: Load, every: float, tag: str, mail_timeout: float) -> None:
    running: list[asyncio.Task[None]] = []
    n = 0
    while time.monotonic() < load.until:
        flow = Flow(f"visitor{n}-{tag}@{DOMAIN}", f"10.2.{n // 250}.{n % 250 + 1}")
        load.flows.append(flow)
        running.append(asyncio.create_task(subscribe(load, flow, mail_timeout)))
        n += 1
        await asyncio.sleep(every)
    await asyncio.gather(*running)


# --- faults ---------------------------------------------------------------------------------


@dataclass
class Fault:
    at: float  # seconds into the load
    target: str
    doing: str
    pids: list[int]
    proc: Proc | None = None
    port: int = 0
    job: str = ""  # the job killed with a worker ("ingest", "digest")
    in_flight: int = 0
    restarted_at: float | None = None
    ready_at: float | None = None
    taken_over: str = ""


@dataclass
class Run:
    """What a run's tasks share: the processes, the database, the clock of the load."""

    kind: str
    nodes: list[Node]
    engine: Engine
    source: FeedSource
    started: float = 0.0
    seconds: float = 60.0
    faults: list[Fault] = field(default_factory=list)
    leases: list[tuple[float, str, str | None, str]] = field(default_factory=list)
    settled: str = ""
    wall_start: float = 0.0  # time.time() at the start of the load: when mails arrived

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def workers(self) -> list[Proc]:
        return [n.worker for n in self.nodes]


def outbox_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(digest_outbox.c.status, func.count()).group_by(digest_outbox.c.status)
        )
        return {status: count for status, count in rows}


def ingest_state(engine: Engine) -> str | None:
    """The arXiv run in progress once it has stored a page (None before): a kill now lands
    between two committed pages, and the next run must resume from the watermark."""
    with engine.connect() as conn:
        row = conn.execute(select(ingest_runs).where(ingest_runs.c.source == "arxiv-api")
                           .order_by(ingest_runs.c.id.desc()).limit(1)).first()  # fmt: skip
    if row is None or row.status != "running" or row.watermark is None:
        return None
    return (f"ingest run #{row.id}: {row.new} new papers stored so far, next page at "
            f"start={row.watermark}")  # fmt: skip


def digest_state(engine: Engine) -> str | None:
    """The outbox once digests are going out and some still wait (None before and after)."""
    counts = outbox_counts(engine)
    if not counts.get("sent") or not counts.get("pending", 0) + counts.get("sending", 0):
        return None
    return f"outbox then: {dict(sorted(counts.items()))}"


async def kill_web(run: Run, balancer: Balancer) -> None:
    node = run.nodes[-1]
    in_flight = balancer.in_flight[len(run.nodes) - 1]
    pids = node.web.kill()
    run.faults.append(Fault(run.elapsed(), f"{node.name} web", f"serving the load ({in_flight} "
                            "of its requests in flight)", pids, node.web, node.port,
                            in_flight=in_flight))  # fmt: skip


async def kill_worker_in(run: Run, job: str, killed: set[str]) -> bool:
    """kill -9 a worker (and its job) while it runs `job`; False if none does yet."""
    order = sorted(run.nodes, key=lambda n: n.name in killed)  # a node not yet hit first
    for node in order:
        worker = node.worker
        found = running_job(worker)
        if found is None or not found[0].startswith(job) or found[1] < 1.5:
            continue
        state = await asyncio.to_thread(
            ingest_state if job == "ingest" else digest_state, run.engine
        )
        if state is None:
            continue
        pids = worker.kill()
        killed.add(node.name)
        run.faults.append(Fault(run.elapsed(), f"{node.name} worker", f"`{found[0]}` for "
                                f"{found[1]:.1f} s; {state}", pids, worker, job=job))  # fmt: skip
        return True
    return False


async def restart(run: Run, fault: Fault) -> None:
    assert fault.proc is not None
    fault.proc.start()
    fault.restarted_at = run.elapsed()
    if fault.port:  # a web process: back in service when it answers /readyz
        await asyncio.to_thread(wait_ready, fault.proc, fault.port)
        fault.ready_at = run.elapsed()


async def inject_faults(run: Run, balancer: Balancer) -> None:
    """kill -9 node 2's web process at a quarter of the load (while it answers requests), a
    worker mid-ingest and a worker mid-digest as soon as one is seen doing so; each restarted
    RESTART_AFTER_S later."""
    window = (0.15 * run.seconds, 0.85 * run.seconds)
    wanted, killed = {"web", "ingest", "digest"}, set[str]()
    restarts: list[asyncio.Task[None]] = []
    while run.elapsed() < window[1] or any(f.restarted_at is None for f in run.faults):
        await asyncio.sleep(0.2)
        t = run.elapsed()
        # node 2's web process at a quarter of the load, once it has requests in flight
        busy = balancer.in_flight[len(run.nodes) - 1] > 0 or t >= 0.25 * run.seconds + 5
        if "web" in wanted and t >= 0.25 * run.seconds and busy:
            await kill_web(run, balancer)
            wanted.discard("web")
        for job in ("ingest", "digest"):
            if (
                job in wanted
                and window[0] <= t < window[1]
                and await kill_worker_in(run, job, killed)
            ):
                wanted.discard(job)
        for fault in run.faults:
            if fault.restarted_at is None and fault.at + RESTART_AFTER_S <= run.elapsed():
                fault.restarted_at = -1.0  # being restarted
                restarts.append(asyncio.create_task(restart(run, fault)))
    await asyncio.gather(*restarts)
    for job in sorted(wanted):
        run.faults.append(Fault(-1, job, "NOT INJECTED: never seen running in the window", []))


def read_leases(engine: Engine) -> list[tuple[str, str | None, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(job_leases.c.name, job_leases.c.holder, job_leases.c.firing))
        return [(r.name, r.holder, str(r.firing)) for r in rows]


async def watch_leases(run: Run, stop: asyncio.Event) -> None:
    """Every change of a job lease (holder, firing), to see who took over a dead worker's job."""
    last: dict[str, tuple[str | None, str]] = {}
    while not stop.is_set():
        for name, holder, firing in await asyncio.to_thread(read_leases, run.engine):
            if last.get(name) != (holder, firing):
                last[name] = (holder, firing)
                run.leases.append((run.elapsed(), name, holder, firing))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


def describe_takeovers(run: Run) -> None:
    """For each killed worker: when its job next ran, and on which worker."""
    owners = {pid: proc.name for node in run.nodes for proc in node.procs() for pid in proc.pids}
    for fault in run.faults:
        if not fault.job or not fault.pids:
            continue
        dead = f":{fault.pids[0]}:"
        for t, name, holder, _ in run.leases:
            if t > fault.at and name.startswith(fault.job) and holder and dead not in holder:
                pid = int(holder.split(":")[1])
                fault.taken_over = f"at {t:.1f} s by {owners.get(pid, holder)} (pid {pid})"
                break
        else:
            fault.taken_over = "NEVER taken over"
        if fault.job == "ingest":  # where the next run asked the source to start from
            later = [start for t, start, _ in run.source.requests if t - run.started > fault.at]
            fault.taken_over += f"; its first page asked start={later[0]}" if later else ""


# --- one run ----------------------------------------------------------------------------------


def node_env(home: Path, db_url: str, source: FeedSource, smtp: SmtpServer) -> dict[str, str]:
    env = {k: v for k, v in site_env(home, db_url).items() if "proxy" not in k.lower()}
    env |= {"PAPERROUTE_ARXIV_API_URL": f"http://127.0.0.1:{source.port}",
            "PAPERROUTE_REQUEST_DELAY": str(REQUEST_DELAY_S), "PAPERROUTE_REQUEST_TIMEOUT": "15",
            "PAPERROUTE_SMTP_HOST": "127.0.0.1", "PAPERROUTE_SMTP_PORT": str(smtp.port),
            "PAPERROUTE_SMTP_SECURITY": "none", "PAPERROUTE_MAIL_FROM": f"Papers <digest@{DOMAIN}>",
            "PAPERROUTE_BASE_URL": SITE, "PAPERROUTE_SCHEDULE": json.dumps(SCHEDULE),
            "PAPERROUTE_JOB_LEASE": str(JOB_LEASE_S), "PAPERROUTE_DIGEST_LEASE": str(DIGEST_LEASE_S),
            "PAPERROUTE_DIGEST_RATE": str(DIGEST_RATE), "PYTHONUNBUFFERED": "1", "COLUMNS": "160",
            "NO_PROXY": "127.0.0.1,localhost"}  # fmt: skip
    return env


def add_voters(
    engine: Engine, count: int, per_voter: int, ids: list[str], seed: int
) -> list[Voter]:
    """Accounts with an API token, each with its own papers to vote for (no two share one)."""
    shuffled = random.Random(seed).sample(ids, min(len(ids), count * per_voter))
    now = dt.datetime.now(dt.UTC)
    found: list[Voter] = []
    with engine.begin() as conn:
        for n in range(count):
            email = f"voter{n}@{DOMAIN}"
            user = add_user(conn, email, now)
            token = create_api_token(conn, user.id, "cluster bench", now)
            found.append(Voter(email, token, shuffled[n * per_voter : (n + 1) * per_voter]))
    return found


def add_readers(engine: Engine, count: int, searches: list[str], seed: int) -> int:
    """Confirmed daily readers (UTC) whose digest is due now, with varied interests."""
    rng, now = random.Random(seed), dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        for n in range(count):
            prefs = dataclasses.replace(preferences_for(rng, now, searches), frequency="daily",
                                        timezone="UTC", send_hour=rng.randint(0, now.hour),
                                        include_trending=True)  # fmt: skip
            subscriber = add_subscriber(conn, f"reader{n}@{DOMAIN}", now - dt.timedelta(days=30),
                                        preferences=prefs)  # fmt: skip
            confirm_subscriber(conn, subscriber.id, now - dt.timedelta(days=30))
            start_papers_after(conn, subscriber.id, now - dt.timedelta(days=1, hours=1))
    return count


def prepare(args: argparse.Namespace, kind: str, work: Path, db_url: str, source: FeedSource,
            smtp: SmtpServer, console: Console) -> tuple[list[Node], dict[str, Any]]:  # fmt: skip
    """Load the corpus through node 1, then set up every node's home and processes."""
    homes = [work / "node1", work / "node2"] if kind == "PostgreSQL" else [work / "node1"]
    env1 = node_env(homes[0], db_url if kind == "PostgreSQL" else "", source, smtp)
    load_args = argparse.Namespace(corpus=work / "loaded.jsonl", limit=0, cache=args.cache,
                                   synthetic_uncached=True, seed=args.seed)  # fmt: skip
    console.print(f"[bold]{kind}[/]: loading the corpus through node 1 …")
    loaded = load_site(load_args, work, env1, db_url)
    nodes: list[Node] = []
    for n, home in enumerate(homes, start=1):
        env = env1 if n == 1 else node_env(home, db_url, source, smtp)
        if n > 1:
            shutil.copytree(homes[0] / "index", home / "index")
        port = free_port()
        workers = "2" if kind == "SQLite" else "1"
        web = Proc(f"node {n} web", [str(PAPERROUTE), "serve", "--port", str(port), "--workers",
                                     workers], env, work / f"node{n}-web.log")  # fmt: skip
        worker = Proc(f"node {n} worker", [str(PAPERROUTE), "worker"], env,
                      work / f"node{n}-worker.log")  # fmt: skip
        index = Proc(f"node {n} index", [str(PAPERROUTE), "index", "sync", "--follow", "--every",
                                         "2"], env, work / f"node{n}-index.log")  # fmt: skip
        nodes.append(Node(f"node {n}", home, env, port, web, worker, index))
    return nodes, loaded


async def drive(args: argparse.Namespace, run: Run, load: Load, smtp_stop: asyncio.Event) -> None:
    """The load for --seconds (faults injected meanwhile in the PostgreSQL run)."""
    tasks = [asyncio.create_task(read_pages(load, n, args.think, args.seed))
             for n in range(args.readers)]  # fmt: skip
    tasks += [asyncio.create_task(cast_votes(load, v, args.vote_every, 0.1, args.seed + n))
              for n, v in enumerate(load.voters)]  # fmt: skip
    tasks.append(asyncio.create_task(start_subscribers(load, args.subscribe_every,
                                                       f"{args.seed}", args.mail_timeout)))  # fmt: skip
    lease_stop = asyncio.Event()
    watchers = [asyncio.create_task(load.mail.watch(smtp_stop)),
                asyncio.create_task(watch_leases(run, lease_stop))]  # fmt: skip
    if run.kind == "PostgreSQL" and not args.no_faults:
        tasks.append(asyncio.create_task(inject_faults(run, load.balancer)))
    await asyncio.gather(*tasks)
    run.source.freeze()
    await settle(args, run)
    lease_stop.set()
    smtp_stop.set()
    await asyncio.gather(*watchers)


def caught_up(run: Run, offered: list[str]) -> tuple[bool, str]:
    """Every offered paper stored, every due digest made and out of the outbox, every
    node's index at the database's last change (the lag `index check` shows)."""
    now = dt.datetime.now(dt.UTC)
    with run.engine.connect() as conn:
        lags = [count_changed_since(conn, (index_in_use(n.home / "index") or ("", "", None))[2])
                for n in run.nodes]  # fmt: skip
        stored = conn.execute(select(func.count()).where(papers.c.arxiv_id.in_(offered))).scalar_one()  # fmt: skip
        due = {s.id: p for s in active_subscribers(conn) if (p := due_period(s.preferences, now))}
        rows = conn.execute(select(digest_outbox.c.subscriber_id, digest_outbox.c.period,
                                   digest_outbox.c.status)).all()  # fmt: skip
    made = {(r.subscriber_id, r.period) for r in rows}
    waiting = sum(r.status in ("pending", "sending") for r in rows)
    unmade = sum((sid, period) not in made for sid, period in due.items())
    done = stored == len(offered) and not waiting and not unmade and not any(lags)
    return done, (f"{stored}/{len(offered)} new papers stored, {unmade} digests not made, "
                  f"{waiting} waiting, index lag {lags} papers")  # fmt: skip


async def settle(args: argparse.Namespace, run: Run) -> None:
    """After the load: let the workers and index followers finish what it brought."""
    offered = run.source.ids[: run.source.released()]
    deadline = time.monotonic() + args.settle
    status = ""
    while time.monotonic() < deadline:
        done, status = await asyncio.to_thread(caught_up, run, offered)
        if done:
            break
        await asyncio.sleep(2)
    run.settled = f"{status} at {run.elapsed():.0f} s"


def run_cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    done = subprocess.run([str(PAPERROUTE), *args], env=env, capture_output=True, text=True)
    return done.returncode, (done.stdout + done.stderr).strip()


def check_indexes(nodes: list[Node]) -> list[dict[str, Any]]:
    """`paperroute index check` on each node, as its follower left the index; when it is not
    clean, what a `paperroute index sync` then takes in and a second check."""
    found: list[dict[str, Any]] = []
    for node in nodes:
        code, checked = run_cli(node.env, "index", "check")
        entry: dict[str, Any] = {"node": node.name, "clean": code == 0, "check": checked}
        if code:
            entry["sync"] = run_cli(node.env, "index", "sync")[1].splitlines()[-1:]
            entry["after_sync_clean"] = run_cli(node.env, "index", "check")[0] == 0
        found.append(entry)
    return found


# --- counting every item -----------------------------------------------------------------------


def count_papers(engine: Engine, offered: list[str], loaded: int) -> dict[str, Any]:
    with engine.connect() as conn:
        per_id = dict(conn.execute(select(papers.c.arxiv_id, func.count())
                                   .where(papers.c.arxiv_id.in_(offered))
                                   .group_by(papers.c.arxiv_id)).all())  # fmt: skip
        total = conn.execute(select(func.count()).select_from(papers)).scalar_one()
        runs = dict(Counter(conn.execute(select(ingest_runs.c.status)
                                         .where(ingest_runs.c.source == "arxiv-api")).scalars()))  # fmt: skip
    lost = [i for i in offered if i not in per_id]
    doubled = sum(n - 1 for n in per_id.values()) + max(0, total - loaded - len(offered))
    return {"kind": "papers (ingested during the load)", "expected": len(offered),
            "once": sum(n == 1 for n in per_id.values()), "lost": len(lost),
            "duplicates": doubled, "lost_ids": lost[:20],
            "note": f"{total:,} papers in all = {loaded:,} loaded + {len(offered)} offered"
                    f"{'' if total == loaded + len(offered) else ' (MISMATCH)'}; "
                    f"arXiv ingest runs: {runs}"}  # fmt: skip


def count_votes(engine: Engine, voters: list[Voter]) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(users.c.email, papers.c.arxiv_id, func.count())
                            .join(votes, votes.c.user_id == users.c.id)
                            .join(papers, papers.c.id == votes.c.paper_id)
                            .where(users.c.email.in_([v.email for v in voters]))
                            .group_by(users.c.email, papers.c.arxiv_id)).all()  # fmt: skip
    recorded = {(r[0], r[1]): r[2] for r in rows}
    intended = {(v.email, p) for v in voters for p in v.intended}
    acked = {(v.email, p) for v in voters for p in v.acknowledged}
    lost = intended - set(recorded)
    extra = set(recorded) - intended
    return {"kind": "votes", "expected": len(intended), "once": sum(n == 1 for n in recorded.values()),
            "lost": len(lost), "duplicates": sum(n - 1 for n in recorded.values()) + len(extra),
            "note": f"{len(acked)} acknowledged, {sum(v.repeated for v in voters)} sent twice on "
                    f"purpose; lost and acknowledged: {len(lost & acked)}"}  # fmt: skip


def count_subscribers(engine: Engine, flows: list[Flow]) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(subscribers.c.email, subscribers.c.confirmed_at)
                            .where(subscribers.c.email.in_([f.address for f in flows]))).all()  # fmt: skip
    stored = Counter(r.email for r in rows)
    confirmed = {r.email for r in rows if r.confirmed_at is not None}
    lost = [f for f in flows if (f.subscribed and f.address not in stored)
            or (f.confirmed and f.address not in confirmed)]  # fmt: skip
    stops = Counter(f.stopped_at for f in flows if f.stopped_at)
    return {"kind": "subscribers (form + mailed link)", "expected": sum(f.subscribed for f in flows),
            "once": sum(n == 1 for n in stored.values()), "lost": len(lost),
            "duplicates": sum(n - 1 for n in stored.values()),
            "note": f"{len(flows)} visitors: {sum(f.mailed for f in flows)} got the link, "
                    f"{sum(f.confirmed for f in flows)} confirmed"
                    + (f"; stopped at: {dict(stops)}" if stops else "")}  # fmt: skip


def count_digests(
    engine: Engine, mail: list[dict[str, Any]], now: dt.datetime, wall_start: float
) -> dict[str, Any]:
    """Each confirmed subscriber due now: one outbox row for the period, one mail received.
    A digest received twice is shown with its outbox row: how often it was claimed to send
    (more than once: its first sender died holding it) and when each copy arrived."""
    with engine.connect() as conn:
        due = {s.id: (s.email, p) for s in active_subscribers(conn)
               if (p := due_period(s.preferences, now))}  # fmt: skip
        rows = conn.execute(select(digest_outbox.c.subscriber_id, digest_outbox.c.period,
                                   digest_outbox.c.status, digest_outbox.c.message_id,
                                   digest_outbox.c.attempts, digest_outbox.c.sent_at)).all()  # fmt: skip
    arrivals: dict[tuple[str, str], list[float]] = {}
    for m in mail:
        for to in m["to"]:
            arrivals.setdefault((to, _bare(m["message_id"])), []).append(m["at"] - wall_start)
    by_key = {(r.subscriber_id, r.period): r for r in rows}
    lost, skipped, statuses, doubled = 0, 0, Counter[str](), list[dict[str, Any]]()
    for sid, (email, period) in due.items():
        row = by_key.get((sid, period))
        statuses[row.status if row else "not made"] += 1
        if row is not None and row.status == "skipped":
            skipped += 1
            continue
        times = arrivals.get((email, _bare(row.message_id or "")), []) if row else []
        lost += not times
        if len(times) > 1:  # the same digest (same Message-ID) received again
            doubled.append({"to": email, "claims": row.attempts if row else 0,
                            "copies": len(times),
                            "received_at_s": [round(t, 2) for t in times]})  # fmt: skip
    digest_ids = {_bare(r.message_id) for r in rows if r.message_id}
    others = sum(_bare(m["message_id"]) not in digest_ids for m in mail)
    reclaimed = sum(r.attempts > 1 for r in rows)
    note = (f"outbox rows of the period: {dict(statuses)} ({skipped} skipped: nothing new for "
            f"them, not sent by design); {reclaimed} claimed twice (a sender died holding them "
            f"or the server said 'try later'); other mails received: {others} (confirmations)")  # fmt: skip
    for d in doubled:
        note += (f"; RECEIVED TWICE, same Message-ID: {d['to']} (claimed {d['claims']} times, "
                 f"copies at {d['received_at_s']} s)")  # fmt: skip
    return {"kind": "digests (due subscribers)", "expected": len(due) - skipped,
            "once": len(due) - skipped - lost - len(doubled), "lost": lost,
            "duplicates": sum(d["copies"] - 1 for d in doubled), "doubled": doubled,
            "note": note}  # fmt: skip


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>")


def scan_logs(procs: list[Proc]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for proc in procs:
        log = proc.log.read_text(errors="replace") if proc.log.exists() else ""
        found[proc.name] = {
            "database is locked": log.lower().count("database is locked"),
            "tracebacks": log.count("Traceback (most recent call last)"),
            "jobs failed": re.findall(r": (failed \(exit code \d+\)) in", log),
            "jobs done": len(re.findall(r": done in ", log)),
            "errors": [line for line in log.splitlines() if " ERROR " in line][:8],
        }  # fmt: skip
    return found


# --- running it ----------------------------------------------------------------------------------


def fresh_database(admin_url: str) -> str:
    drop_postgres(admin_url, DB_NAME)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{DB_NAME}"


@contextlib.contextmanager
def database(args: argparse.Namespace, kind: str, work: Path) -> Generator[str]:
    if kind == "SQLite":
        yield f"sqlite:///{(work / 'node1' / 'paperroute.db').resolve()}"
        return
    url = fresh_database(args.postgres)
    try:
        yield url
    finally:
        drop_postgres(args.postgres, DB_NAME)


def start_nodes(nodes: list[Node]) -> None:
    for node in nodes:
        node.web.start()
    for node in nodes:
        if node.web.argv[-1] == "2":  # serve --workers 2: wait until both workers settled
            assert node.web.popen is not None
            wait_until_serving(node.web.popen, node.port, node.web.log)
        else:
            wait_ready(node.web, node.port)


def load_values(work: Path, seed: int) -> tuple[list[str], list[str]]:
    values = placeholder_values(work / "corpus.jsonl", 300, seed)
    with (work / "corpus.jsonl").open("rb") as handle:
        ids = [str(orjson.loads(line)["id"]) for line in handle]
    return values["query"], ids


async def load_and_check(args: argparse.Namespace, run: Run, smtp: SmtpServer, work: Path,
                         loaded: int) -> dict[str, Any]:  # fmt: skip
    queries, ids = load_values(work, args.seed)
    per_voter = int(args.seconds / args.vote_every * 1.6) + 5
    voters = add_voters(run.engine, args.voters, per_voter, ids, args.seed)
    page_ids = [quote(i) for i in random.Random(args.seed).sample(ids, min(300, len(ids)))]
    balancer = Balancer([n.port for n in run.nodes], args.timeout)
    load = Load(balancer, MailWatcher(smtp), 0.0, queries, page_ids, voters)
    for node in run.nodes:
        node.index.start()
    for worker in run.workers():
        worker.start()
    run.started, run.wall_start = time.monotonic(), time.time()
    run.seconds, load.until = args.seconds, run.started + args.seconds
    run.source.start(release_s=0.7 * args.seconds)
    try:
        await drive(args, run, load, asyncio.Event())
    finally:
        await balancer.close()
    for proc in [*run.workers(), *(n.index for n in run.nodes)]:
        proc.stop()
    await load.mail.poll()  # anything sent after the watcher's last look
    describe_takeovers(run)
    offered = run.source.ids[: run.source.released()]
    indexes = check_indexes(run.nodes)
    now = dt.datetime.now(dt.UTC)
    items = [count_papers(run.engine, offered, loaded), count_votes(run.engine, voters),
             count_subscribers(run.engine, load.flows),
             count_digests(run.engine, load.mail.records, now, run.wall_start)]  # fmt: skip
    return {"endpoints": summarise(balancer, args.seconds), "items": items, "indexes": indexes,
            "faults": [fault_row(f) for f in run.faults],
            "source_requests": len(run.source.requests), "offered": len(offered),
            "mails": len(load.mail.records), "settled": run.settled,
            "seconds": args.seconds}  # fmt: skip


def summarise(balancer: Balancer, seconds: float) -> list[dict[str, Any]]:
    rows = []
    for name, s in balancer.stats.items():
        ms = np.array(s.latencies_ms) if s.latencies_ms else np.array([np.nan])
        rows.append({"endpoint": name, "requests": s.requests, "errors": s.errors,
                     "retries": s.retries, "rps": s.requests / seconds,
                     "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
                     "statuses": dict(s.statuses), "problems": dict(s.problems)})  # fmt: skip
    return rows


def fault_row(f: Fault) -> dict[str, Any]:
    return {"at_s": round(f.at, 1), "target": f.target, "doing": f.doing, "pids": f.pids,
            "restarted_at_s": f.restarted_at, "ready_at_s": f.ready_at,
            "taken_over": f.taken_over}  # fmt: skip


def run_one(args: argparse.Namespace, kind: str, console: Console) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-cluster-{kind.lower()}-", dir=args.workdir))
    held = split_corpus(args.corpus, work / "loaded.jsonl", args.papers, args.new_papers, args.seed)
    source, smtp = FeedSource(held), SmtpServer(free_port(), record=True)
    nodes: list[Node] = []
    try:
        with database(args, kind, work) as db_url:
            nodes, loaded = prepare(args, kind, work, db_url, source, smtp, console)
            engine = make_engine(db_url)
            try:
                arrivals = date_arrivals(engine, dt.datetime.now(dt.UTC))
                searches = saved_search_pool(work / "corpus.jsonl", args.seed)
                add_readers(engine, args.subscribers, searches, args.seed)
                start_nodes(nodes)
                console.print(f"{kind}: {loaded['papers']:,} papers loaded, {len(held)} held out "
                              f"for the source, {args.subscribers} readers subscribed; load for "
                              f"{args.seconds:g} s …")  # fmt: skip
                run = Run(kind, nodes, engine, source)
                result = asyncio.run(load_and_check(args, run, smtp, work, loaded["papers"]))
            finally:
                for node in nodes:
                    node.web.stop()
                engine.dispose()
        result["logs"] = scan_logs([p for n in nodes for p in n.procs()])
        result |= {"kind": kind, "load": loaded, "arrivals": arrivals, "work": str(work)}
        return result
    finally:
        for node in nodes:
            for proc in node.procs():
                proc.stop(5)
        smtp.stop()
        source.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


# --- reporting -------------------------------------------------------------------------------------


def endpoint_table(title: str, rows: list[dict[str, Any]]) -> Table:
    caption = ("p50/p99: requests that succeeded, from the first try to the answer (a retry's "
               "time included); errors: no node took it, a timeout, or a status >= 400")  # fmt: skip
    table = Table(title=title, caption=caption)
    for column in ("endpoint", "requests", "req/s", "errors", "retries (other node)", "p50 ms",
                   "p99 ms"):  # fmt: skip
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for r in rows:
        table.add_row(r["endpoint"], f"{r['requests']:,}", f"{r['rps']:.1f}",
                      f"[red]{r['errors']:,}[/]" if r["errors"] else "0", f"{r['retries']:,}",
                      f"{r['p50_ms']:.0f}", f"{r['p99_ms']:.0f}")  # fmt: skip
    total = {k: sum(r[k] for r in rows) for k in ("requests", "errors", "retries")}
    table.add_row("all", f"{total['requests']:,}", f"{sum(r['rps'] for r in rows):.1f}",
                  f"{total['errors']:,}", f"{total['retries']:,}", "", "", style="bold")  # fmt: skip
    return table


def fault_table(faults: list[dict[str, Any]]) -> Table:
    injected = sum(f["at_s"] >= 0 for f in faults)
    table = Table(title=f"Faults injected: {injected} (kill -9 of the process group)")
    for column in ("at s", "killed", "what it was doing", "restarted s", "serving again s",
                   "its job taken over"):  # fmt: skip
        table.add_column(column, justify="right" if column.endswith(" s") else "left")
    for f in faults:
        ready = f"{f['ready_at_s']:.1f}" if f["ready_at_s"] is not None else ""
        restarted = f"{f['restarted_at_s']:.1f}" if f["restarted_at_s"] is not None else ""
        table.add_row(f"{f['at_s']:.1f}", f["target"], f["doing"], restarted, ready,
                      f["taken_over"] or "—")  # fmt: skip
    return table


def items_table(items: list[dict[str, Any]]) -> Table:
    table = Table(title="Items at the end")
    for column in ("kind", "expected", "present once", "lost (must be 0)",
                   "duplicates (must be 0)", "notes"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("kind", "notes") else "right")
    for i in items:
        table.add_row(i["kind"], f"{i['expected']:,}", f"{i['once']:,}",
                      f"[red]{i['lost']}[/]" if i["lost"] else "0",
                      f"[red]{i['duplicates']}[/]" if i["duplicates"] else "0", i["note"])  # fmt: skip
    return table


def verdict(result: dict[str, Any]) -> list[str]:
    """What is wrong with a run; empty when it met every requirement."""
    wrong = [f"{r['endpoint']}: {r['errors']} failed requests {r['problems']}"
             for r in result["endpoints"] if r["errors"]]  # fmt: skip
    wrong += [f"{i['kind']}: {i['lost']} lost, {i['duplicates']} duplicates"
              for i in result["items"] if i["lost"] or i["duplicates"]]  # fmt: skip
    wrong += [f"{f['target']}: {f['doing']}" for f in result["faults"] if f["at_s"] < 0]
    wrong += [f"{f['target']}: its job was never taken over" for f in result["faults"]
              if f["taken_over"].startswith("NEVER")]  # fmt: skip
    wrong += [f"{i['node']}: index check failed" for i in result["indexes"] if not i["clean"]]
    locked = sum(log["database is locked"] for log in result["logs"].values())
    if locked:
        wrong.append(f'"database is locked" {locked} times in the processes\' output')
    return wrong


def print_run(console: Console, result: dict[str, Any]) -> None:
    kind = result["kind"]
    shape = ("2 nodes, each `serve` (1 process) + `worker` + `index sync --follow`"
             if kind == "PostgreSQL" else "`serve --workers 2` + `worker` + `index sync --follow`")  # fmt: skip
    title = (f"{kind}, {shape}: {result['load']['papers']:,} papers loaded, {result['offered']} "
             f"arriving, {result['seconds']:g} s of load")  # fmt: skip
    console.print(endpoint_table(title, result["endpoints"]))
    if result["faults"]:
        console.print(fault_table(result["faults"]))
    console.print(items_table(result["items"]))
    fives = sum(n for r in result["endpoints"] for code, n in r["statuses"].items() if code >= 500)
    console.print(f"5xx responses: {fives}. After the load: {result['settled']}; "
                  f"{result['source_requests']} pages "
                  f"served by the arXiv stand-in, {result['mails']} mails received.")  # fmt: skip
    for index in result["indexes"]:
        state = "[green]clean[/]" if index["clean"] else "[red]NOT clean[/]"
        console.print(f"index check on {index['node']}: {state}")
        if not index["clean"]:
            console.print(index["check"], markup=False)
            console.print(f"then `index sync`: {index['sync']}; check clean after it: "
                          f"{index['after_sync_clean']}")  # fmt: skip
    for name, log in result["logs"].items():
        console.print(f"{name}: {log['jobs done']} jobs done, failed: {log['jobs failed'] or 'none'}; "
                      f"tracebacks {log['tracebacks']}, \"database is locked\" "
                      f"{log['database is locked']}")  # fmt: skip
        for line in log["errors"]:
            console.print(f"  {line[:220]}", markup=False)
    for line in verdict(result) or ["every requirement met"]:
        console.print(
            f"{kind}: {line}", style="red" if line != "every requirement met" else "green"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--cache", type=Path, default=CACHE, help="vector cache (read only)")
    parser.add_argument(
        "--papers", type=int, default=0, help="first N papers of the corpus (0: all)"
    )
    parser.add_argument("--new-papers", type=int, default=300,
                        help="held out of the load, offered by the source during it")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=60, help="of load")
    parser.add_argument("--readers", type=int, default=6, help="visitors browsing without pause")
    parser.add_argument("--think", type=float, default=0.1, help="s between a reader's requests")
    parser.add_argument("--voters", type=int, default=10)
    parser.add_argument("--vote-every", type=float, default=1.0, help="s between a voter's votes")
    parser.add_argument("--subscribe-every", type=float, default=1.5, help="s between visitors "
                        "subscribing")  # fmt: skip
    parser.add_argument("--subscribers", type=int, default=300, help="readers subscribed before")
    parser.add_argument("--timeout", type=float, default=20, help="s a request may take")
    parser.add_argument("--mail-timeout", type=float, default=60, help="s to wait for a mail")
    parser.add_argument("--settle", type=float, default=240, help="s the workers may take after")
    parser.add_argument("--only", choices=("postgresql", "sqlite"))
    parser.add_argument("--no-faults", action="store_true", help="PostgreSQL without kills")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, metavar="URL",
                        help=f"the server's admin database; {DB_NAME} is made there and dropped")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, help="make the run folders here (default: /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the run folders (logs)")
    parser.add_argument("--json", type=Path, default=RESULTS, help="write the figures here")
    return parser.parse_args()


SIMULATED = (
    "Simulated: the load balancer (round robin; a connection failing before any response is "
    "sent to the other node and counted as a retry; max_fails=2 fail_timeout=10s; "
    "X-Forwarded-For set per visitor); arXiv "
    "(a loopback server speaking its API's Atom, releasing held-out corpus papers during the "
    "load); vectors of uncached papers (seeded random); readers subscribed before the load and "
    "voters' accounts made with store functions; leases shortened (job 10 s, digest 15 s)."
)


def main() -> None:
    args = parse_args()
    console, machine, busy = bench_console(180)
    kinds = {"postgresql": ["PostgreSQL"], "sqlite": ["SQLite"]}.get(args.only or "",
                                                                   ["PostgreSQL", "SQLite"])  # fmt: skip
    report: dict[str, Any] = {"machine": machine, "cpu_busy_before_start": busy,
                              "settings": {k: str(v) for k, v in vars(args).items()},
                              "simulated": SIMULATED, "runs": {}}  # fmt: skip
    wrong: list[str] = []
    try:
        for kind in kinds:
            result = run_one(args, kind, console)
            report["runs"][kind] = result
            print_run(console, result)
            wrong += verdict(result)
    finally:
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2, default=str))
            console.print(f"Figures written to {args.json}")
    console.print(SIMULATED)
    console.print(machine)
    if wrong:
        sys.exit(1)


if __name__ == "__main__":
    main()
