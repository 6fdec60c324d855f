"""Logging for the site, the worker and the commands: text for people, JSON for collectors.

PAPERROUTE_LOG_FORMAT=json writes one JSON object per line (time, level,
logger, message, and the fields a call passes in `extra`), which log
collectors (journald, Loki, CloudWatch) read without parsing rules.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys

import orjson

__all__ = ["JsonFormatter", "configure_logging"]

# Attributes every LogRecord has: anything else on a record came from `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    """Send paperroute's logs (and uvicorn's) to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # uvicorn's own notices (startup, shutdown) only from warnings up: errors in requests.
    for name, threshold in (("paperroute", level.upper()), ("uvicorn.error", "WARNING")):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(threshold)
        logger.propagate = False
