"""The error a source raises when it cannot go on."""

from __future__ import annotations

__all__ = ["SourceError"]


class SourceError(RuntimeError):
    """A source that cannot go on; the message names the URL or file and what to do."""
