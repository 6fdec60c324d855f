"""A polite HTTP client for the network sources: delay, timeouts, a deadline, retries."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import socket
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["FetchError", "FetchPolicy", "PoliteClient"]

USER_AGENT = "paperroute/0.1 (self-hosted paper discovery)"


class FetchError(RuntimeError):
    """A request that failed for good; the message names the URL and what to do."""


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    timeout: float = 30.0  # for each read: a server silent this long has stalled
    # For the whole request, headers and body: a server that trickles a byte
    # now and then never trips the read timeout, and would hold a run for ever.
    deadline: float = 60.0
    delay: float = 3.0  # arXiv asks for 3 s between requests
    retries: int = 4
    backoff: float = 2.0  # first wait after a failure; doubles each time
    max_wait: float = 300.0  # cap on any single wait, Retry-After included
    max_bytes: int = 64 * 1024 * 1024  # no feed page is this big; a runaway body is refused


_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT, whatever the header forgot to say
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - time.time())


class _Sockets:
    """The sockets of a client's connections, as httpcore's trace reports them opened.

    httpx has no deadline for a whole request; shutting the sockets down is
    what wakes a read that is waiting for the next trickled byte.
    """

    def __init__(self) -> None:
        self._open: weakref.WeakSet[socket.socket] = weakref.WeakSet()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                self._open.add(sock)

    def shut_down(self) -> None:
        for sock in list(self._open):
            with contextlib.suppress(OSError):  # closed already
                # The plain socket's shutdown: an SSL socket's own drops its state first.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """Ends a request still running after its deadline, wherever it waits."""

    def __init__(self, url: str, seconds: float, sockets: _Sockets) -> None:
        self.url, self.seconds, self._sockets = url, seconds, sockets
        self._started = time.monotonic()
        self._expired = threading.Event()
        self._timer = threading.Timer(min(seconds, threading.TIMEOUT_MAX), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        self._expired.set()
        self._sockets.shut_down()

    def check(self) -> None:
        """Raise FetchError once the deadline has passed."""
        if self._expired.is_set() or time.monotonic() - self._started > self.seconds:
            raise FetchError(
                f"{self.url} did not finish its answer within {self.seconds:g} s "
                "(PAPERROUTE_REQUEST_DEADLINE); the server is stalled or far too slow: "
                "try again later, or raise the deadline if this source is always this slow"
            )


class PoliteClient:
    """GET with a pause between requests and retries with backoff.

    Retries transport errors, timeouts, 429 and 5xx; honours `Retry-After`.
    Any other 4xx is returned to the caller, which knows what the body means
    (arXiv reports a malformed query as a 400 with an Atom error entry).
    `sleep` and `clock` are passed in so tests run without waiting.
    """

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self._sleep = sleep
        self._clock = clock
        self._last_request: float | None = None
        self._sockets = _Sockets()
        self._client = httpx.Client(
            timeout=self.policy.timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
        )

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _wait_turn(self) -> None:
        if self._last_request is not None:
            remaining = self.policy.delay - (self._clock() - self._last_request)
            if remaining > 0:
                self._sleep(remaining)
        self._last_request = self._clock()

    def get(self, url: str, params: Mapping[str, str | int] | None = None) -> httpx.Response:
        """GET with retries; any 4xx but 429 is the caller's to read."""
        request = self._client.build_request("GET", url, params=params)
        wait = self.policy.backoff
        problem = ""
        for attempt in range(self.policy.retries + 1):
            self._wait_turn()
            try:
                response = self._send(request)
            except httpx.TimeoutException:
                problem, pause = f"timed out after {self.policy.timeout:g} s", wait
            except httpx.TransportError as exc:
                problem, pause = f"could not connect ({exc.__class__.__name__}: {exc})", wait
            except httpx.RequestError as exc:  # redirect loops, broken encodings: no retry helps
                raise FetchError(f"{request.url} failed: {exc.__class__.__name__}: {exc}") from None
            else:
                if response.status_code not in _RETRY_STATUSES:
                    return response
                problem = f"answered HTTP {response.status_code}"
                asked = _retry_after(response)
                pause = wait if asked is None else asked
            if attempt < self.policy.retries:
                self._sleep(min(pause, self.policy.max_wait))
                wait *= 2
        raise FetchError(
            f"{request.url} {problem} ({self.policy.retries + 1} attempts); "
            "check the address and your connection, then run the command again: "
            "it resumes where it stopped"
        )

    def _send(self, request: httpx.Request) -> httpx.Response:
        """Send and read the body within the deadline, refusing one larger than allowed."""
        request.extensions = {**request.extensions, "trace": self._sockets.trace}
        with _Watchdog(str(request.url), self.policy.deadline, self._sockets) as watchdog:
            try:
                response = self._client.send(request, stream=True)
                try:
                    body = self._read_body(response, watchdog)
                finally:
                    response.close()
            except httpx.HTTPError:
                watchdog.check()  # the watchdog cut the connection: say so, not "disconnected"
                raise
        # The body is already decoded: drop the headers that describe the wire form.
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in {"content-encoding", "content-length"}]  # fmt: skip
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    def _read_body(self, response: httpx.Response, watchdog: _Watchdog) -> bytes:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > self.policy.max_bytes:
                raise FetchError(
                    f"{response.request.url} sent more than {self.policy.max_bytes:,} bytes; "
                    "refusing to read it (is the address right?)"
                )
            watchdog.check()
        return bytes(body)
