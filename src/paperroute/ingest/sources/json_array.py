"""The elements of a JSON array, read from a file a piece at a time.

`orjson.loads` of a whole file holds all of it, and all of its objects, at
once. Here only one element's text is held, and not even that when it is
longer than the limit: it is then skipped unread, and the reader goes on.
The scan for where an element ends looks only at brackets, braces, commas and
strings, each found by a regular expression, so long strings cost one search.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

__all__ = ["CHUNK", "MAX_RECORD_BYTES", "ArrayError", "array_elements"]

CHUNK = 64 * 1024
# The longest record a file may hold. No paper comes near: 5,000 authors of
# 300 characters each, the limits of a record, are 1.5 MB.
MAX_RECORD_BYTES = 4 * 1024 * 1024

_NOT_SPACE = re.compile(rb"[^ \t\n\r]")
_OUTSIDE = re.compile(rb'["\[\]{},]')  # what matters outside a string
# A string's body up to its closing quote, escapes and all, in one match. The
# quantifiers are possessive: a backtracking one keeps a record of each escape
# it passed (98 MB for a 4 MB string of them).
_STRING_BODY = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+', re.DOTALL)


class ArrayError(ValueError):
    """The array itself is broken; the message says where, by element number."""


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class _Scanner:
    """Where a JSON value ends, found in its text fed a piece at a time."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escaped = False

    def end_in(self, text: bytes, pos: int) -> int | None:
        """The index of the `,` or `]` after the value, or None when all of `text` is in it."""
        while True:
            if self.escaped:
                if pos >= len(text):
                    return None
                pos, self.escaped = pos + 1, False
            if self.in_string:
                body = _STRING_BODY.match(text, pos)
                pos = body.end() if body else pos  # it always matches, if only nothing
                if pos >= len(text):
                    return None
                if text[pos] == ord("\\"):  # the last byte: what it escapes comes next
                    self.escaped = True
                    return None
                pos, self.in_string = pos + 1, False
                continue
            found = _OUTSIDE.search(text, pos)
            if found is None:
                return None
            pos, byte = found.end(), text[found.start()]
            if byte == ord('"'):
                self.in_string = True
            elif byte in b"[{":
                self.depth += 1
            elif byte == ord(",") and self.depth == 0:
                return found.start()
            elif byte in b"]}":
                if self.depth == 0:  # the array's own closing bracket
                    return found.start()
                self.depth -= 1


class _Pieces:
    """A file's bytes, read as needed; what was consumed is let go."""

    def __init__(self, handle: _Readable) -> None:
        self._handle = handle
        self.text = b""
        self.pos = 0

    def more(self, size: int) -> bool:
        """Read up to `size` more bytes, dropping those before `pos`; False at the end."""
        data = self._handle.read(size)
        if not data:
            return False
        self.text = self.text[self.pos :] + data
        self.pos = 0
        return True

    def peek(self) -> bytes:
        """The next byte that is not white space (without consuming it); b"" at the end."""
        while (found := _NOT_SPACE.search(self.text, self.pos)) is None:
            self.pos = len(self.text)
            if not self.more(CHUNK):
                return b""
        self.pos = found.start()
        return self.text[self.pos : self.pos + 1]

    def element(self, number: int, limit: int) -> bytes | None:
        """The next element's text, or None when it is longer than `limit` (then skipped)."""
        scanner = _Scanner()
        start = scanned = self.pos
        kept = True
        while (end := scanner.end_in(self.text, scanned)) is None:
            kept = kept and len(self.text) - start <= limit
            self.pos = start if kept else len(self.text)  # what is let go on reading more
            scanned = len(self.text) - self.pos
            # Growing by what is held (up to a quarter of the limit): a long element is O(n).
            if not self.more(max(CHUNK, min(scanned, limit // 4)) if kept else CHUNK):
                raise ArrayError(f"the file ends inside record {number}; is it cut short?")
            start = 0
        self.pos = end
        return self.text[start:end] if kept and end - start <= limit else None


def array_elements(handle: _Readable, limit: int = MAX_RECORD_BYTES) -> Iterator[bytes | None]:
    """The text of each element of the JSON array in `handle`, None for one over `limit`.

    Raises ArrayError, after the elements before the damage, where the array
    is broken; an element that is not valid JSON is the caller's to find.
    Elements are numbered from 0 in messages, as `papers.json[3]` names them.
    """
    pieces = _Pieces(handle)
    if pieces.peek() != b"[":
        raise ArrayError("the file does not start with [")
    pieces.pos += 1
    if pieces.peek() == b"]":
        return
    number = 0
    while True:
        yield pieces.element(number, limit)
        after = pieces.peek()
        pieces.pos += 1
        if after == b"]":
            break
        if after != b",":
            shown = repr(after) if after else "the end of the file"
            raise ArrayError(f"expected , or ] after record {number}, found {shown}")
        number += 1
    if pieces.peek():
        raise ArrayError("there is more after the array's closing ]")
