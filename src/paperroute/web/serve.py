"""Serving with several worker processes, each with its own listening socket.

uvicorn's own `--workers` shares one socket between workers, and whichever
worker wakes first accepts every connection waiting: under keep-alive load
(a reverse proxy, a benchmark) one worker often ended with all of them while
the other idled. Here each worker binds its own socket with SO_REUSEPORT and
the kernel spreads new connections over them. A worker that dies is started
again; SIGINT or SIGTERM stops them all.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from paperroute.web.metrics import MULTIPROCESS_DIR

__all__ = ["PortInUse", "serve_workers"]

APP = "paperroute.app:create_app_from_env"
RESTART_PAUSE = 1.0  # seconds before a dead worker is started again: no tight crash loop


class PortInUse(OSError):
    """Another program listens on the address."""


def _listener(host: str, port: int, *, share: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if share:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def _worker(host: str, port: int) -> None:
    import uvicorn

    sock = _listener(host, port, share=True)
    config = uvicorn.Config(APP, factory=True, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


def serve_workers(host: str, port: int, workers: int) -> None:
    """Run `workers` server processes on host:port until SIGINT or SIGTERM."""
    # Bound once without SO_REUSEPORT first: a port another program holds is an
    # error here, instead of the kernel quietly sharing it with that program.
    _listener(host, port, share=False).close()
    # Each worker writes its metrics here, so /metrics on any of them shows all.
    metrics_folder = tempfile.mkdtemp(prefix="paperroute-metrics-")
    os.environ[MULTIPROCESS_DIR] = metrics_folder
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> BaseProcess:
        process = context.Process(target=_worker, args=(host, port), daemon=True)
        process.start()
        return process

    def stop(_signal: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    running = [start() for _ in range(workers)]
    try:
        while not stopping:
            time.sleep(0.2)
            for n, process in enumerate(running):
                if not process.is_alive() and not stopping:
                    time.sleep(RESTART_PAUSE)
                    running[n] = start()
    finally:
        for process in running:
            if process.is_alive():
                process.terminate()  # uvicorn finishes the requests in flight
        for process in running:
            process.join(10)
            if process.is_alive():
                process.kill()
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, handler)
        os.environ.pop(MULTIPROCESS_DIR, None)
        shutil.rmtree(metrics_folder, ignore_errors=True)
