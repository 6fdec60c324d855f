"""Web serving speed: the site under load from wrk, on the 54k-paper corpus.

    python bench/web.py [--limit N] [--seconds S] [--database-url URL] [--profile S] [--json OUT]

Loads the corpus into a fresh data directory as a user would (`paperroute
init`, `paperroute ingest file`, `paperroute index rebuild`), with the vectors
cached by bench/embed_corpus.py stored first as a past sync would have (a paper
whose text is not cached is embedded for real by the rebuild: slow). Then runs
`paperroute serve --workers 2` on 127.0.0.1 and drives each endpoint of
ENDPOINTS from wrk (Debian package `wrk`), a separate process, for --seconds
after a warm-up. A placeholder in a path takes the next value on each request:
{paper} real arXiv ids of the corpus, {query} search-box queries made from it
(bench/search_queries.py), {n} a token new on every request (it misses the page
cache, as a signed-in reader always does). Errors are socket errors, timeouts and every
response that is not 2xx. Baseline in the same run, from the same server and
middleware: a static file, the floor of the framework on this machine.

wrk keeps --connections requests in flight (a closed loop), so latency includes
queueing: p50 is about connections / (requests/s) once the server is saturated.
The server's CPU per request comes from /proc and does not depend on the load
(with PostgreSQL, the database's own processes count as other load).
--profile S adds S seconds of py-spy per endpoint, one request at a time.

About 10 minutes for the corpus (loading about 5, then 35 s per endpoint);
a quick look: --limit 2000 --seconds 3. Figures go to bench/results/web.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from rich.console import Console
from rich.table import Table
from search_queries import make_queries
from sqlalchemy import make_url

from ingest import DEFAULT_POSTGRES, drop_postgres, fresh_postgres
from paperroute.store.db import make_engine
from search import (
    CACHE,
    CORPUS,
    cpu_busy,
    load_papers,
    machine_line,
    preload_embeddings,
    prepare_corpus,
    timed,
)

BENCH = Path(__file__).parent
RESULTS = BENCH / "results" / "web.json"
PAPERROUTE = Path(sys.executable).parent / "paperroute"
WORKERS = 2
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A row of the table. kind "page": the issue's page targets apply; "baseline": none."""

    name: str
    path: str
    kind: str = "other"


# The site's routes still grow: add a row here, or pass --path, to measure another one.
# Anonymous pages come from a page cache (web/page_cache.py) once made; {n}, a token new on
# every request, misses it, as every page a signed-in reader sees does.
ENDPOINTS = (
    Endpoint("static file (baseline)", "/static/site.css", "baseline"),
    Endpoint("feed", "/", "page"),
    Endpoint("feed, uncached", "/?uncached={n}", "page"),
    Endpoint("paper page", "/papers/{paper}", "page"),
    Endpoint("paper page, uncached", "/papers/{paper}?uncached={n}", "page"),
    Endpoint("search", "/search?q={query}"),
    Endpoint("HF API daily papers", "/api/daily_papers"),
)
PAGE_TARGETS = {"p50_ms": 20.0, "p99_ms": 100.0, "rps": 300.0}  # from the issue
# And zero errors on every endpoint.

LUA = """
local paths = {
%s
}
local threads = {}
statuses = {}

function setup(thread)
  thread:set("first", #threads * 7)  -- each thread starts elsewhere in the list
  thread:set("tag", #threads)
  table.insert(threads, thread)
end

function init(args)
  n = first or 0
end

function request()
  n = n + 1
  local path = string.gsub(paths[n %% #paths + 1], "{n}", tag .. "-" .. n)
  return wrk.format("GET", path)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged, parts = {}, {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  for status, count in pairs(merged) do
    parts[#parts + 1] = string.format('"%%d": %%d', status, count)
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, ' ..
    '"max_us": %%d, "mean_us": %%.1f, "statuses": {%%s}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, table.concat(parts, ", ")))
end
"""


# --- loading the corpus ---------------------------------------------------------------


def run_cli(env: dict[str, str], *args: str) -> float:
    """Run `paperroute args`; seconds taken. Stops the benchmark with its output on failure."""
    started = time.perf_counter()
    done = subprocess.run([str(PAPERROUTE), *args], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"`paperroute {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def load_site(args: argparse.Namespace, work: Path, env: dict[str, str], db_url: str) -> dict:
    """The corpus (or its first --limit papers) loaded and indexed; what each step took."""
    subset = work / "corpus.jsonl"
    prep = prepare_corpus(args.corpus, subset, args.limit, args.cache, cached_only=False)
    if prep["uncached"] and not args.synthetic_uncached:
        print(f"{prep['uncached']:,} of {prep['papers']:,} papers are not in the vector cache: "
              "the index rebuild embeds them for real (about 20 papers/s).")  # fmt: skip
    seconds = {"init": run_cli(env, "init")}
    seconds["ingest file"] = run_cli(env, "ingest", "file", str(subset))
    engine = make_engine(db_url)
    stored, ms = timed(preload_embeddings, engine, args.cache)
    seconds["store cached vectors"] = ms / 1000
    if args.synthetic_uncached and stored["missing"]:
        made, ms = timed(store_synthetic_vectors, engine, args.seed)
        print(f"{made:,} papers got SYNTHETIC vectors (seeded random unit vectors): latency is "
              "that of real vectors, but their similar papers and semantic ranks are noise.")  # fmt: skip
        seconds["store synthetic vectors"] = ms / 1000
        stored = stored | {"missing": 0, "synthetic": made}
    engine.dispose()
    seconds["index rebuild"] = run_cli(env, "index", "rebuild")
    return {"papers": prep["papers"], "embedded_for_real": stored["missing"],
            "synthetic_vectors": stored.get("synthetic", 0), "seconds": seconds}  # fmt: skip


def store_synthetic_vectors(engine: Any, seed: int) -> int:
    """A seeded random unit vector for every paper still without one (--synthetic-uncached)."""
    import numpy as np
    from sqlalchemy import select

    from paperroute.index.embed import MiniLMOnnx, embedding_text, text_hash
    from paperroute.store.embeddings import save_embeddings
    from paperroute.store.schema import paper_embeddings, papers

    with engine.connect() as conn:
        done = select(paper_embeddings.c.paper_id)
        rows = conn.execute(
            select(papers.c.id, papers.c.title, papers.c.abstract).where(papers.c.id.not_in(done))
        ).all()
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((len(rows), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    found = [(r.id, text_hash(embedding_text(r.title, r.abstract)), vectors[n])
             for n, r in enumerate(rows)]  # fmt: skip
    with engine.begin() as conn:
        for start in range(0, len(found), 5000):
            save_embeddings(conn, MiniLMOnnx.name, found[start : start + 5000])
    return len(found)


def placeholder_values(subset: Path, count: int, seed: int) -> dict[str, list[str]]:
    """URL-encoded values for each placeholder, `count` of each, the same for a seed."""
    papers = load_papers(subset)
    ids = sorted(p.arxiv_id for p in papers if p.arxiv_id)
    chosen = random.Random(seed).sample(ids, min(count, len(ids)))
    queries = make_queries([(p.title, p.authors) for p in papers], count, seed)
    return {"paper": [quote(i, safe="/") for i in chosen],
            "query": [quote_plus(q.text) for q in queries]}  # fmt: skip


def expand(path: str, values: dict[str, list[str]]) -> list[str]:
    """The paths a request cycles through: one per value of the path's placeholders.
    {n} is left for wrk, which puts a new token there on every request."""
    names = [name for _, name, _, _ in string.Formatter().parse(path) if name and name != "n"]
    unknown = set(names) - set(values)
    if unknown:
        sys.exit(f"{path}: no values for {', '.join(sorted(unknown))}; known: {', '.join(values)}")
    count = max((len(values[name]) for name in names), default=1)
    return [path.format(n="{n}", **{k: values[k][i % len(values[k])] for k in names})
            for i in range(count)]  # fmt: skip


# --- the server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Only ever 127.0.0.1: no proxy from the environment may take these requests elsewhere.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(port: int, path: str, timeout: float = 60) -> tuple[int, int, str]:
    """(status, body bytes, content type) of one GET; an HTTP error status is an answer too."""
    try:
        with _LOCAL.open(f"http://127.0.0.1:{port}{path}", timeout=timeout) as reply:
            return reply.status, len(reply.read()), reply.headers.get("content-type", "")
    except urllib.error.HTTPError as error:
        return error.code, len(error.read()), error.headers.get("content-type", "")


def log_tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def wait_until_serving(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until the server answers and its workers have settled: uvicorn replaces a worker that
    misses a health check (5 s), which a slow start on a busy machine can do."""
    deadline, settled, seen = time.monotonic() + 300, 0.0, None
    while True:
        if server.poll() is not None:
            sys.exit(f"paperroute serve stopped (exit {server.returncode}):\n{log_tail(log)}")
        if time.monotonic() > deadline:
            sys.exit(f"paperroute serve did not settle within 300 s:\n{log_tail(log)}")
        workers = set(worker_pids(server.pid))
        if workers != seen or len(workers) < WORKERS:
            seen, settled = workers, time.monotonic()
        elif time.monotonic() - settled > 6:
            with contextlib.suppress(OSError):
                fetch(port, "/", timeout=10)
                return
        time.sleep(0.5)


@contextlib.contextmanager
def serving(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`paperroute serve` on 127.0.0.1:port until the block ends; its output goes to log."""
    command = [str(PAPERROUTE), "serve", "--workers", str(WORKERS), "--port", str(port)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # fmt: skip
    try:
        wait_until_serving(server, port, log)
        yield server
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # its own session: only its workers
            server.wait()


def process_tree(root: int) -> list[Path]:
    """/proc folders of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid = int(stat.read_text().rpartition(")")[2].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(Path(f"/proc/{pid}"))
        todo += children.get(pid, [])
    return found


def cpu_by_process(root: int) -> dict[int, float]:
    """CPU seconds (user + system) each process of the tree has used so far."""
    found = {}
    for folder in process_tree(root):
        with contextlib.suppress(OSError, IndexError):
            fields = (folder / "stat").read_text().rpartition(")")[2].split()
            found[int(folder.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found


def tree_rss_mb(root: int) -> float:
    total = 0
    for folder in process_tree(root):
        with contextlib.suppress(OSError, ValueError):
            for line in (folder / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def machine_cpu_s() -> float:
    """Busy CPU seconds of the whole machine so far, all cores."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS  # less idle and iowait


def client_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has been waited for
    return usage.ru_utime + usage.ru_stime


# --- driving it with wrk ------------------------------------------------------------------


def wrk_script(paths: list[str], folder: Path) -> Path:
    if any("]==]" in p for p in paths):
        sys.exit("a path may not contain ]==]")
    script = folder / "paths.lua"
    script.write_text(LUA % ",\n".join(f"[==[{p}]==]" for p in paths))
    return script


def run_wrk(args: argparse.Namespace, port: int, script: Path, seconds: float) -> dict:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds:g}s",
               f"--timeout={args.timeout:g}s", "-s", str(script), f"http://127.0.0.1:{port}/"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"^RESULT (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode or not found:
        sys.exit(f"wrk failed ({' '.join(command)}):\n{done.stdout}\n{done.stderr}")
    figures = json.loads(found.group(1))
    figures["statuses"] = {int(k): v for k, v in figures["statuses"].items()}
    return figures


def measure(args: argparse.Namespace, server: int, port: int, paths: list[str], work: Path) -> dict:
    """wrk on the paths after a warm-up, with the CPU each side used meanwhile."""
    script = wrk_script(paths, work)
    if args.warmup:
        run_wrk(args, port, script, args.warmup)
    before = (cpu_by_process(server), client_cpu_s(), machine_cpu_s())
    figures = run_wrk(args, port, script, args.seconds)
    after = (cpu_by_process(server), client_cpu_s(), machine_cpu_s())
    used = {pid: cpu - before[0].get(pid, 0.0) for pid, cpu in after[0].items()}
    server_s, client_s, machine_s = sum(used.values()), after[1] - before[1], after[2] - before[2]
    split = sorted((used.get(pid, 0.0) for pid in worker_pids(server)), reverse=True)
    wall = figures["duration_us"] / 1e6
    requests = max(1, figures["requests"])
    not_2xx = sum(n for status, n in figures["statuses"].items() if not 200 <= status < 300)
    socket_errors = sum(figures[k] for k in ("connect", "read", "write", "timeout"))
    return {
        "requests": figures["requests"], "rps": figures["requests"] / wall,
        "p50_ms": figures["p50_us"] / 1000, "p90_ms": figures["p90_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000, "max_ms": figures["max_us"] / 1000,
        "mean_ms": figures["mean_us"] / 1000, "errors": not_2xx + socket_errors,
        "not_2xx": not_2xx, "socket_errors": socket_errors, "statuses": figures["statuses"],
        "kb_per_response": figures["bytes"] / requests / 1024,
        "server_cpu_ms_per_request": server_s * 1000 / requests, "server_cores": server_s / wall,
        "worker_cpu_split": [w / max(server_s, 1e-9) for w in split], "client_cores": client_s / wall,
        "other_cores": max(0.0, machine_s - server_s - client_s) / wall,
    }  # fmt: skip


def verdict(endpoint: Endpoint, figures: dict) -> tuple[bool | None, str]:
    """Whether the endpoint met its targets, and what it missed."""
    if endpoint.kind == "baseline":
        return None, "baseline"
    missed = ["errors"] if figures.get("errors", 1) else []
    if endpoint.kind == "page" and "rps" in figures:
        t = PAGE_TARGETS
        missed += [name for name, ok in (("p50", figures["p50_ms"] <= t["p50_ms"]),
                   ("p99", figures["p99_ms"] <= t["p99_ms"]), ("req/s", figures["rps"] >= t["rps"]))
                   if not ok]  # fmt: skip
    return not missed, "✓" if not missed else "✗ " + ", ".join(missed)


def bench_one(args: argparse.Namespace, endpoint: Endpoint, paths: list[str], server: int,
              port: int, work: Path, console: Console) -> dict:  # fmt: skip
    status, size, kind = fetch(port, paths[0])  # also loads what the route loads lazily
    row = {"endpoint": endpoint.name, "path": endpoint.path, "kind": endpoint.kind,
           "distinct_paths": len(paths), "probe": {"path": paths[0], "status": status,
           "bytes": size, "content_type": kind}}  # fmt: skip
    if status == 404 and not args.run_missing:
        console.print(f"{endpoint.path}: 404 on {paths[0]}: not served yet, skipped")
    else:
        console.print(f"{endpoint.name}: {endpoint.path} ({len(paths)} paths) ...")
        workers = set(worker_pids(server))
        row.update(measure(args, server, port, paths, work))
        row["workers_replaced"] = len(workers - set(worker_pids(server)))
        if args.profile:
            row["profile"] = profile_worker(args, server, port, work, endpoint.name)
    row["met"], row["verdict"] = verdict(endpoint, row)
    return row


def bench_endpoints(args: argparse.Namespace, endpoints: list[Endpoint], values: dict,
                    env: dict[str, str], work: Path, console: Console) -> tuple[list[dict], dict]:  # fmt: skip
    port = free_port()
    with serving(env, port, work / "serve.log") as server:
        workers = worker_pids(server.pid)
        rows = [bench_one(args, e, expand(e.path, values), server.pid, port, work, console)
                for e in endpoints]  # fmt: skip
        serve = {"rss_mb": tree_rss_mb(server.pid), "workers_at_start": len(workers),
                 "workers_replaced": len(set(workers) - set(worker_pids(server.pid)))}  # fmt: skip
    log = (work / "serve.log").read_text(errors="replace")
    serve.update(log_lines=len(log.splitlines()), tracebacks=log.count("Traceback"),
                 log_tail=log_tail(work / "serve.log"))  # fmt: skip
    return rows, serve


# --- profiling ------------------------------------------------------------------------------

# Frames named in a profile besides our own code: the library calls a request waits on.
LIBRARY_STEPS = ("Connection.execute", "do_execute", "Template.render", "TemplateResponse",
                 "fetchall", "dump_json", "jsonable_encoder", "serialize_response")  # fmt: skip


# Top frames of a thread that waits: the event loop between events (uvloop waits in C, under
# Runner.run), an idle pool thread, a worker's health-check thread.
IDLE = ("Runner.run ", "EpollSelector.select ", "Condition.wait ", "Connection._recv ",
        "Connection.poll ")  # fmt: skip
# "(/…/site-packages/pkg/mod.py:12)" -> "(pkg/mod.py)": one entry per function.
SOURCE = re.compile(r"\((?:.*/(?:site-packages|src|python3\.\d+)/)?(.*?):\d+\)$")


def worker_pids(server: int) -> list[int]:
    """The uvicorn workers: the server's spawned children, not its resource tracker."""
    return [int(folder.name) for folder in process_tree(server)[1:]
            if b"spawn_main" in (folder / "cmdline").read_bytes()]  # fmt: skip


def py_spy() -> str:
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(PAPERROUTE.parent))
    if not found:
        sys.exit("--profile needs py-spy: pip install py-spy")
    return found


def profile_worker(args: argparse.Namespace, server: int, port: int, work: Path, name: str) -> dict:
    """py-spy samples of the workers while wrk sends one request at a time: the shares are
    those of a request's own work, not of threads waiting for the GIL."""
    out = work / f"profile-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.txt"
    load = ["wrk", "-t1", "-c1", f"-d{args.profile + 2:g}s", "-s", str(work / "paths.lua"),
            f"http://127.0.0.1:{port}/"]  # fmt: skip
    with subprocess.Popen(load, stdout=subprocess.DEVNULL):
        time.sleep(1)
        subprocess.run([py_spy(), "record", "--pid", str(server), "--subprocesses", "--nonblocking",
                        "--rate", "100", "--duration", f"{args.profile:g}", "--format", "raw",
                        "-o", str(out)], capture_output=True, check=True)  # fmt: skip
    return {"raw": str(out), **summarise_stacks(out.read_text())}


def summarise_stacks(raw: str, top: int = 14) -> dict:
    """Share of the busy samples in each frame (inclusive: ours and LIBRARY_STEPS) and at the
    top of the stack (self: where the CPU is spent). Threads waiting for work are left out."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [SOURCE.sub(r"(\1)", f) for f in stack.split(";")]
        if frames[-1].startswith(IDLE):
            continue
        inclusive.update(dict.fromkeys(frames, int(count)))
        own[frames[-1]] += int(count)
    total = max(1, own.total())
    named = [(f, n) for f, n in inclusive.most_common()
             if "paperroute/" in f or any(step in f for step in LIBRARY_STEPS)]  # fmt: skip
    return {"samples": own.total(),
            "inclusive": [(f, n / total) for f, n in named[:top]],
            "self": [(f, n / total) for f, n in own.most_common(top)]}  # fmt: skip


# --- reporting ---------------------------------------------------------------------------


def results_table(title: str, rows: list[dict]) -> Table:
    table = Table(title=title)
    for column in ("endpoint", "path", "req/s", "p50 ms", "p99 ms", "errors", "KB",
                   "CPU ms/req", "cores used", "split %", "target met?"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("endpoint", "path") else "right")
    for r in rows:
        if "rps" not in r:
            table.add_row(r["endpoint"], r["path"], *["—"] * 8, "✗ not served (404)")
            continue
        split = "/".join(f"{share:.0%}".rstrip("%") for share in r["worker_cpu_split"])
        table.add_row(r["endpoint"], r["path"], f"{r['rps']:,.0f}", f"{r['p50_ms']:.1f}",
                      f"{r['p99_ms']:.1f}", f"{r['errors']:,}", f"{r['kb_per_response']:.1f}",
                      f"{r['server_cpu_ms_per_request']:.2f}", f"{r['server_cores']:.2f}",
                      split, r["verdict"])  # fmt: skip
    return table


def print_notes(console: Console, args: argparse.Namespace, rows: list[dict], serve: dict) -> None:
    t = PAGE_TARGETS
    budget = (os.cpu_count() or 1) * 1000 / t["rps"]
    console.print(f"Targets: feed and paper pages p50 ≤ {t['p50_ms']:g} ms, p99 ≤ "
                  f"{t['p99_ms']:g} ms, ≥ {t['rps']:g} req/s (on {os.cpu_count()} cores: at "
                  f"most {budget:.1f} ms of CPU per request, client included); zero errors "
                  "everywhere.")  # fmt: skip
    console.print(f"wrk: {args.threads} thread(s), {args.connections} connections, "
                  f"{args.seconds:g} s per endpoint after {args.warmup:g} s warm-up, timeout "
                  f"{args.timeout:g} s; server: {serve['workers_at_start']} workers, "
                  f"{serve['rss_mb']:,.0f} MB resident at the end. CPU ms/req and cores used: "
                  "the server's processes; split %: each worker's share.")  # fmt: skip
    for r in rows:
        odd = {s: n for s, n in r.get("statuses", {}).items() if not 200 <= s < 300}
        if odd or r.get("socket_errors"):
            console.print(f"[red]{r['endpoint']}: statuses {odd}, socket errors "
                          f"{r['socket_errors']:,}[/red]")  # fmt: skip
        if r.get("workers_replaced"):
            console.print(f"[red]{r['endpoint']}: {r['workers_replaced']} worker(s) replaced "
                          "by uvicorn during the run (a missed health check or a crash)[/red]")  # fmt: skip
        if r.get("other_cores", 0) > 0.1:
            console.print(f"[yellow]{r['endpoint']}: other processes used "
                          f"{r['other_cores']:.2f} cores meanwhile: figures are pessimistic."
                          "[/yellow]")  # fmt: skip
    if serve["workers_replaced"] or serve["tracebacks"]:
        console.print(f"[red]{serve['workers_replaced']} worker(s) replaced during the run, "
                      f"{serve['tracebacks']} traceback(s) in the server log.[/red]")  # fmt: skip
    if serve["tracebacks"] or any(r.get("errors") for r in rows):
        console.print(f"Server log, last lines:\n{serve['log_tail']}", markup=False)
    for r in rows:
        if "profile" in r:
            console.print(profile_table(r["endpoint"], r["profile"]))


def profile_table(endpoint: str, profile: dict) -> Table:
    title = f"Profile of {endpoint}, one request at a time: {profile['samples']:,} busy samples"
    table = Table(title=title)
    for column in ("in frame (and below)", "%", "on CPU in frame", "% "):
        table.add_column(column, justify="right" if "%" in column else "left")
    inclusive, own = profile["inclusive"], profile["self"]
    for i in range(max(len(inclusive), len(own))):
        left = (inclusive[i][0], f"{inclusive[i][1]:.0%}") if i < len(inclusive) else ("", "")
        right = (own[i][0], f"{own[i][1]:.0%}") if i < len(own) else ("", "")
        table.add_row(*left, *right)
    return table


def load_table(load: dict) -> Table:
    table = Table(title=f"Loading {load['papers']:,} papers")
    table.add_column("step")
    table.add_column("s", justify="right")
    for step, seconds in load["seconds"].items():
        table.add_row(step, f"{seconds:,.1f}")
    return table


# --- main --------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--cache", type=Path, default=CACHE, help="vector cache (read only)")
    parser.add_argument("--limit", type=int, default=0, help="first N papers only (0: all)")
    parser.add_argument("--database-url", default="", metavar="URL",
                        help="PostgreSQL server (e.g. " + DEFAULT_POSTGRES + "): a fresh database "
                        "is created there and dropped after; default: SQLite")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=30, help="per endpoint")
    parser.add_argument("--warmup", type=float, default=5, help="s of load before each endpoint")
    parser.add_argument("--connections", type=int, default=8, help="requests kept in flight")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--timeout", type=float, default=5, help="s before wrk counts an error")
    parser.add_argument("--values", type=int, default=200, help="papers and queries to rotate")
    parser.add_argument("--only", action="append", default=[], metavar="WORD",
                        help="endpoints whose name or path holds WORD (repeatable)")  # fmt: skip
    parser.add_argument("--path", action="append", default=[],
                        help="one more endpoint, e.g. '/c/cs.CV' or '/papers/{paper}' (repeatable)")  # fmt: skip
    parser.add_argument("--run-missing", action="store_true", help="load routes that answer 404")
    parser.add_argument("--profile", type=float, default=0, metavar="S",
                        help="then S s of py-spy on one worker per endpoint (needs py-spy)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--synthetic-uncached", action="store_true",
                        help="give papers missing from the vector cache seeded random vectors "
                        "instead of embedding them (hours on 2 cores); the output says so")  # fmt: skip
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true",
                        help="serve what an earlier run with this --workdir loaded (SQLite)")  # fmt: skip
    parser.add_argument("--json", type=Path, default=RESULTS, help="write the figures here")
    return parser.parse_args()


def chosen_endpoints(args: argparse.Namespace) -> list[Endpoint]:
    endpoints = list(ENDPOINTS) + [Endpoint(path, path) for path in args.path]
    if args.only:
        endpoints = [e for e in endpoints
                     if any(w in e.name or w in e.path for w in args.only)]  # fmt: skip
    return endpoints


def site_env(home: Path, db_url: str) -> dict[str, str]:
    """This process's environment without any PAPERROUTE_* setting but ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERROUTE_")}
    env["PAPERROUTE_HOME"] = str(home)
    if db_url:
        env["PAPERROUTE_DATABASE_URL"] = db_url
    return env


def check_wrk() -> str:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: install it with `apt-get install wrk` (Debian/Ubuntu), "
                 "or `make bench-web`, which does.")  # fmt: skip
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (done.stdout + done.stderr).split(" Copyright")[0].strip()


def run(args: argparse.Namespace, work: Path, console: Console, report: dict) -> None:
    home, db_name = work / "home", ""
    db_url = f"sqlite:///{(home / 'paperroute.db').resolve()}"
    if args.database_url:
        db_url, db_name = fresh_postgres(args.database_url)
    try:
        env = site_env(home, db_url if args.database_url else "")
        if args.reuse:
            report["load"] = json.loads((work / "load.json").read_text())
        else:
            report["load"] = load_site(args, work, env, db_url)
            (work / "load.json").write_text(json.dumps(report["load"]))
        console.print(load_table(report["load"]))
        values = placeholder_values(work / "corpus.jsonl", args.values, args.seed)
        report["values"] = values
        rows, report["serve"] = bench_endpoints(args, chosen_endpoints(args), values, env, work,
                                                console)  # fmt: skip
        report["results"] = rows
    finally:
        if db_name:
            drop_postgres(args.database_url, db_name)
    store = "PostgreSQL" if db_name else "SQLite"
    title = f"paperroute serve --workers {WORKERS}, {report['load']['papers']:,} papers, {store}"
    console.print(results_table(title, rows))
    print_notes(console, args, rows, report["serve"])


def main() -> None:
    args = parse_args()
    if args.reuse and (not args.workdir or args.database_url):
        sys.exit("--reuse needs the --workdir of an earlier run, with SQLite")
    version = check_wrk()
    console = Console()
    if not console.is_terminal:  # piped to a file: wide enough for the tables
        console = Console(width=max(console.width, 150))
    busy = cpu_busy()
    machine = f"{machine_line(busy)}, {version}"
    console.print(machine)
    if busy > 0.1:
        console.print("[yellow]Another process is using the CPU: figures are pessimistic.[/yellow]")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-web-"))
    work.mkdir(parents=True, exist_ok=True)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    if args.database_url:  # no password in the results
        settings["database_url"] = make_url(args.database_url).render_as_string()
    report: dict[str, Any] = {"machine": machine, "cpu_busy_before_start": busy,
                              "settings": settings}  # fmt: skip
    try:
        run(args, work, console, report)
    finally:
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2, default=str))
            console.print(f"Figures written to {args.json}")
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
