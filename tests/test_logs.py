"""Logs as text or as one JSON object per line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest

from paperroute.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide loggers: put them back for the other tests."""
    saved = {name: (lg.handlers[:], lg.level, lg.propagate)
             for name in ("paperroute", "uvicorn.error") for lg in [logging.getLogger(name)]}  # fmt: skip
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate


def test_json_lines_carry_the_extra_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "INFO")
    log = logging.getLogger("paperroute.worker")
    log.info("index sync: done", extra={"job": "index sync", "seconds": 1.5})
    log.debug("not shown at INFO")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    lines = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["message"] == "index sync: done" and lines[0]["level"] == "info"
    assert lines[0]["job"] == "index sync" and lines[0]["seconds"] == 1.5
    assert lines[0]["logger"] == "paperroute.worker" and lines[0]["time"].endswith("+00:00")
    assert len(lines) == 2 and "ValueError: boom" in lines[1]["error"]


def test_text_is_one_readable_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("text", "INFO")
    logging.getLogger("paperroute.digest").warning("digest for subscriber 3 not made")
    assert "WARNING paperroute.digest: digest for subscriber 3 not made" in capsys.readouterr().err
