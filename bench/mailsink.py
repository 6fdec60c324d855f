"""An SMTP server on 127.0.0.1 in its own process (aiosmtpd) that takes every message.

It counts what it accepts per recipient (bench/digest.py); with `record=True`
it also keeps a short record of each message, for a benchmark that must see
what arrived: its recipients, Message-ID and Subject, and the links of a
plain-text mail (a confirmation link, say). The server runs in a process of
its own so that a benchmark's other work never slows what it accepts.
"""

from __future__ import annotations

import multiprocessing
import re
import sys
import time
from collections import Counter
from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any

__all__ = ["SmtpServer"]

_LINK = re.compile(r"https?://[^\s<>\"]+")


def _record_of(rcpt_tos: list[str], content: bytes) -> dict[str, Any]:
    """What a benchmark checks of one message; the body is read only for plain-text mail."""
    message = message_from_bytes(content, policy=default_policy)
    links: list[str] = []
    if message.get_content_type() == "text/plain":
        links = _LINK.findall(str(message.get_content()))
    return {"to": list(rcpt_tos), "message_id": str(message.get("Message-ID") or ""),
            "subject": str(message.get("Subject") or ""), "links": links,
            "at": time.time()}  # fmt: skip


def _serve_smtp(port: int, pipe: Any, record: bool) -> None:
    """An aiosmtpd server that counts (and records) what it accepts; reports when asked."""
    from aiosmtpd.controller import Controller

    received: Counter[str] = Counter()
    sizes = [0]
    records: list[dict[str, Any]] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            for rcpt in envelope.rcpt_tos:
                received[rcpt] += 1
            sizes[0] += len(envelope.content)
            if record:
                records.append(_record_of(envelope.rcpt_tos, envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port, data_size_limit=0)
    controller.start()
    pipe.send("ready")
    while (order := pipe.recv()) != "stop":
        if order == "report":
            pipe.send((dict(received), sizes[0]))
        elif order == "reset":
            received.clear()
            sizes[0] = 0
            records.clear()
        elif isinstance(order, tuple) and order[0] == "since":
            pipe.send(records[order[1] :])
    controller.stop()


class SmtpServer:
    """The server's process, and what it has received so far."""

    def __init__(self, port: int, *, record: bool = False) -> None:
        self.port = port
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve_smtp, args=(port, child, record), daemon=True
        )
        self._process.start()
        if self._pipe.recv() != "ready":
            sys.exit("the SMTP server did not start")

    def report(self) -> tuple[dict[str, int], int]:
        """Messages per recipient, and the bytes of all of them."""
        self._pipe.send("report")
        return self._pipe.recv()

    def messages(self, since: int = 0) -> list[dict[str, Any]]:
        """The records of the messages accepted after the first `since` (record=True only)."""
        self._pipe.send(("since", since))
        return self._pipe.recv()

    def reset(self) -> None:
        self._pipe.send("reset")

    def stop(self) -> None:
        self._pipe.send("stop")
        self._process.join(10)
