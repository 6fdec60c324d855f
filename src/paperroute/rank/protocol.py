"""Who the simulated readers of `paperroute eval recommend` are, and which papers count for them.

A corpus file has no readers, so they are made from authorship; names serve
only here, to build readers and their targets. Every method is then handed
the papers without their author field (`Simulation.papers`), except under
the `authorship` protocol, which is a sanity check and never a measure of
quality.

- History H: papers announced in [cutoff - 365 days, cutoff); window W:
  [cutoff, cutoff + 30 days).
- Names are compared normalised (Unicode-folded, lower case, spaces
  collapsed); a name whose given part is initials only ("J. Smith") or
  missing ("Smith") is not a reader: too many people share it.
- Reader: a name on at least 3 papers of H; what they liked: all those papers.
- Close collaborators: names on at least 2 of the reader's H papers that
  have at most 10 authors.
- Targets, `collaborators` (the default): papers of W with at most 10
  authors, a close collaborator among them and the reader not. The reader's
  own W papers are not candidates. `own` and `authorship`: the reader's own
  W papers (every paper of W is a candidate).
- Readers without targets are dropped, and counted.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from paperroute.domain import Paper

__all__ = [
    "HISTORY",
    "WINDOW",
    "Protocol",
    "SimulatedReader",
    "Simulation",
    "initials_only",
    "normalise_name",
]

HISTORY = dt.timedelta(days=365)
WINDOW = dt.timedelta(days=30)
MIN_HISTORY_PAPERS = 3
MIN_SHARED_PAPERS = 2  # with the reader, to be a close collaborator
MAX_AUTHORS = 10  # larger author lists say little about who works with whom

Ids = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]

_INITIALS = re.compile(r"(?:\w\.)+|\w|(?:\w\.?-)+\w\.?")


class Protocol(StrEnum):
    collaborators = "collaborators"
    own = "own"
    authorship = "authorship"


def normalise_name(name: str) -> str:
    """Unicode-folded (accents dropped), lower case, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(folded.casefold().split())


def initials_only(name: str) -> bool:
    """Whether a normalised name's given part (all but the last word) is only initials."""
    words = name.split()
    return len(words) < 2 or all(_INITIALS.fullmatch(w) for w in words[:-1])


@dataclass(frozen=True, slots=True)
class SimulatedReader:
    name: str  # normalised; never shown to a method
    liked: Ids  # pool rows: their papers in H
    targets: Ids  # positions among the window's papers
    excluded: Ids = field(
        default_factory=lambda: np.zeros(0, np.int64)
    )  # positions: not candidates


@dataclass(slots=True)
class Simulation:
    """A cutoff's pool of papers, as the methods see them, and its readers."""

    protocol: Protocol
    cutoff: dt.date
    papers: list[Paper]  # the pool, H then W, without authors unless the protocol is authorship
    history: Ids  # rows of H
    window: Ids  # rows of W, in order: a method's scores are over these
    readers: list[SimulatedReader]
    dropped: int  # readers without a target
    vectors: Vectors | None = None  # embeddings of the pool's rows (zeros where not needed)

    @classmethod
    def make(
        cls, papers: Iterable[Paper], cutoff: dt.date, protocol: Protocol = Protocol.collaborators
    ) -> Simulation:
        start, end = cutoff - HISTORY, cutoff + WINDOW
        unique = {_identity(p): p for p in papers if p.announced and start <= p.announced < end}
        pool = sorted(unique.values(), key=lambda p: (p.announced, _identity(p)))
        days = np.array([p.announced.toordinal() for p in pool if p.announced], dtype=np.int64)
        history = np.flatnonzero(days < cutoff.toordinal())
        window = np.flatnonzero(days >= cutoff.toordinal())
        names = [tuple(dict.fromkeys(normalise_name(a) for a in p.authors)) for p in pool]
        readers, dropped = _readers(names, history, window, protocol)
        seen = pool if protocol is Protocol.authorship else [replace(p, authors=()) for p in pool]
        return cls(protocol, cutoff, seen, history, window, readers, dropped)

    def rows_needed(self, readers: Sequence[SimulatedReader], extra: Ids | None = None) -> Ids:
        """The pool rows these readers' runs read: their liked papers, the window, `extra`."""
        parts = [self.window, *(r.liked for r in readers)]
        if extra is not None:
            parts.append(extra)
        return np.unique(np.concatenate(parts).astype(np.int64))


def _identity(paper: Paper) -> str:
    return paper.arxiv_id or paper.key or paper.title


def _readers(
    names: Sequence[tuple[str, ...]], history: Ids, window: Ids, protocol: Protocol
) -> tuple[list[SimulatedReader], int]:
    written: defaultdict[str, list[int]] = defaultdict(list)
    for row in history:
        for name in names[row]:
            written[name].append(int(row))
    readers = {n for n, rows in written.items()
               if len(rows) >= MIN_HISTORY_PAPERS and not initials_only(n)}  # fmt: skip
    later: defaultdict[str, list[int]] = defaultdict(list)
    for position, row in enumerate(window):
        for name in names[row]:
            later[name].append(position)
    close = _collaborators(names, history, readers) if protocol is Protocol.collaborators else {}
    out: list[SimulatedReader] = []
    dropped = 0
    for name in sorted(readers):
        own = np.array(sorted(later.get(name, [])), dtype=np.int64)
        if protocol is Protocol.collaborators:
            found = {p for c in close.get(name, ()) for p in later.get(c, ())}
            rows = window[sorted(found)] if found else []
            targets = [int(p) for p, r in zip(sorted(found), rows, strict=True)
                       if len(names[r]) <= MAX_AUTHORS and name not in names[r]]  # fmt: skip
            reader = SimulatedReader(name, np.array(written[name]), np.array(targets, np.int64),
                                     own)  # fmt: skip
        else:
            reader = SimulatedReader(name, np.array(written[name]), own)
        if len(reader.targets):
            out.append(reader)
        else:
            dropped += 1
    return out, dropped


def _collaborators(
    names: Sequence[tuple[str, ...]], history: Ids, readers: set[str]
) -> dict[str, set[str]]:
    """Per reader, the names on at least MIN_SHARED_PAPERS of their small-team H papers."""
    shared: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for row in history:
        team = names[row]
        if len(team) > MAX_AUTHORS:
            continue
        for name in team:
            if name in readers:
                shared[name].update(other for other in team if other != name)
    return {reader: {n for n, count in counts.items() if count >= MIN_SHARED_PAPERS}
            for reader, counts in shared.items()}  # fmt: skip
