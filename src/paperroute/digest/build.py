"""Make a period's digests: compose and render each due subscriber's mail into the outbox.

Everything all subscribers share is read or computed once per run: the new
papers (once, however many windows), votes, dismissals, and each distinct
saved search. What is left per subscriber is pure work, rendering, and one
small transaction that writes the outbox row and moves the subscriber's
`papers_after` together, so a run that dies loses nothing and a second run
never makes a second row.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, Engine

from paperroute.config import Settings
from paperroute.digest.compose import (
    Candidate,
    Digest,
    Pool,
    Recommendation,
    compose_digest,
    due_period,
)
from paperroute.digest.render import DigestLinks, render_digest
from paperroute.domain import Paper
from paperroute.index.lexical import LexicalFilter, LexicalQuery
from paperroute.search.query import ParsedQuery, parse_query
from paperroute.search.service import Ranker
from paperroute.store.digest_papers import StoredPaper, dismissed_since, papers_stored_between
from paperroute.store.outbox import enqueue_digest, periods_done
from paperroute.store.subscribers import Subscriber, active_subscribers

__all__ = [
    "LOOKBACK",
    "SETTLE",
    "BuildCounts",
    "Links",
    "Recommender",
    "build_digests",
    "preview_digest",
]

log = logging.getLogger("paperroute.digest")

# Ingest stamps a batch before it commits: papers stored in the last minutes may
# not be visible yet, so a digest takes papers up to a little before `now` (the
# index sync looks back as far, for the same reason).
SETTLE = dt.timedelta(minutes=5)
# However long since a subscriber's last digest, a digest looks back at most this far.
LOOKBACK = dt.timedelta(days=14)
_SEARCH_DEPTH = 5000
_CHUNK = 2000
_NONE: frozenset[int] = frozenset()

Links = Callable[[Subscriber], tuple[str, str]]  # -> (unsubscribe URL, manage URL)
Recommender = Callable[[Subscriber, Pool], Sequence[Recommendation]]


@dataclass(slots=True)
class BuildCounts:
    due: int = 0  # due now (or asked for), not yet done for the period
    queued: int = 0  # written to the outbox, to be sent
    skipped: int = 0  # nothing new for them: recorded, not sent
    already: int = 0  # the period already had a digest (an earlier or concurrent run)
    failed: int = 0  # could not be made (an address or link that cannot be mailed): logged


@dataclass(frozen=True, slots=True)
class _Job:
    subscriber: Subscriber
    period: str
    after: dt.datetime  # the subscriber's papers are those stored after this


def _window_start(subscriber: Subscriber, until: dt.datetime) -> dt.datetime:
    floor = until - LOOKBACK
    return max(subscriber.papers_after or floor, floor)


def build_digests(
    engine: Engine,
    ranker: Ranker | None,
    settings: Settings,
    now: dt.datetime,
    *,
    links: Links,
    base_url: str,
    subscriber_ids: Sequence[int] | None = None,
    period: str | None = None,
    recommend: Recommender | None = None,
    site_name: str = "paperroute",
) -> BuildCounts:
    """Write the digest of every active subscriber whose digest is due, once per period.

    `period` forces that period for every selected subscriber, due or not.
    Without a search index (`ranker` None) saved searches match by words.
    """
    now = now.astimezone(dt.UTC)
    until = now - SETTLE
    counts = BuildCounts()
    jobs = _due_jobs(engine, now, until, subscriber_ids, period)
    counts.due = len(jobs)
    if not jobs:
        return counts
    with engine.connect() as conn:
        shared = _Shared.load(conn, ranker, [j.subscriber for j in jobs], until, now.date())
    for job in jobs:
        subscriber = job.subscriber
        digest = shared.compose(subscriber, job.after, recommend)
        message = message_id = None
        if digest is not None:
            unsubscribe_url, manage_url = links(subscriber)
            try:
                rendered = render_digest(
                    digest, period=job.period, sender=settings.mail_from, to=subscriber.email,
                    now=now, links=DigestLinks(base_url, unsubscribe_url, manage_url),
                    site_name=site_name,
                )  # fmt: skip
            except ValueError as exc:
                log.error("digest for subscriber %s not made: %s", subscriber.id, exc)
                counts.failed += 1
                continue
            message, message_id = rendered.message, rendered.message_id
        with engine.begin() as conn:
            added = enqueue_digest(
                conn, subscriber.id, job.period, now, papers_until=max(until, job.after),
                paper_ids=digest.paper_ids if digest else [], message_id=message_id,
                message=message,
            )  # fmt: skip
        if not added:
            counts.already += 1
        elif digest is None:
            counts.skipped += 1
        else:
            counts.queued += 1
    return counts


def preview_digest(
    conn: Connection,
    ranker: Ranker | None,
    subscriber: Subscriber,
    now: dt.datetime,
    *,
    recommend: Recommender | None = None,
) -> Digest | None:
    """The digest this subscriber would get if it were made now; nothing is written."""
    until = now.astimezone(dt.UTC) - SETTLE
    shared = _Shared.load(conn, ranker, [subscriber], until, now.date())
    return shared.compose(subscriber, _window_start(subscriber, until), recommend)


def _due_jobs(
    engine: Engine,
    now: dt.datetime,
    until: dt.datetime,
    subscriber_ids: Sequence[int] | None,
    period: str | None,
) -> list[_Job]:
    """Who gets a digest now and for which period, leaving out periods already done."""
    with engine.connect() as conn:
        by_period: dict[str, list[Subscriber]] = {}
        for subscriber in active_subscribers(conn, subscriber_ids):
            key = period or due_period(subscriber.preferences, now)
            if key is not None:
                by_period.setdefault(key, []).append(subscriber)
        done: set[tuple[int, str]] = set()
        for key, group in by_period.items():
            ids = [s.id for s in group]
            for start in range(0, len(ids), _CHUNK):
                done |= {(i, key) for i in periods_done(conn, key, ids[start : start + _CHUNK])}
    jobs = [
        _Job(s, key, _window_start(s, until))
        for key, group in by_period.items()
        for s in group
        if (s.id, key) not in done
    ]
    return sorted(jobs, key=lambda job: job.subscriber.id)


@dataclass(slots=True)
class _Shared:
    """What every subscriber of a run reads: read and computed once."""

    pools: _Pools
    dismissed: dict[int, set[int]]

    @classmethod
    def load(
        cls,
        conn: Connection,
        ranker: Ranker | None,
        subscribers: Sequence[Subscriber],
        until: dt.datetime,
        today: dt.date,
    ) -> _Shared:
        oldest = min(_window_start(s, until) for s in subscribers)
        stored = papers_stored_between(conn, oldest, until)
        users = any(s.user_id is not None for s in subscribers)
        dismissed = dismissed_since(conn, oldest) if users else {}
        searches = {q.strip() for s in subscribers for q in s.preferences.searches if q.strip()}
        hits = _search_hits(ranker, sorted(searches), stored, today)
        return cls(_Pools(stored, hits), dismissed)

    def compose(
        self, subscriber: Subscriber, after: dt.datetime, recommend: Recommender | None
    ) -> Digest | None:
        pool = self.pools.after(after)
        recommendations = recommend(subscriber, pool) if recommend is not None else ()
        exclude = _NONE
        if subscriber.user_id is not None:
            exclude = self.dismissed.get(subscriber.user_id, _NONE)
        return compose_digest(
            subscriber.preferences, pool, exclude=exclude, recommendations=recommendations
        )


class _Pools:
    """One Pool per distinct window; a window is the papers stored after some moment."""

    def __init__(self, stored: Sequence[StoredPaper], hits: Mapping[str, Sequence[int]]) -> None:
        self._stored = stored  # oldest first
        self._moments = [s.stored_at for s in stored]
        self._hits = hits
        self._pools: dict[int, Pool] = {}

    def after(self, moment: dt.datetime) -> Pool:
        start = bisect.bisect_right(self._moments, moment)
        pool = self._pools.get(start)
        if pool is None:
            window = self._stored[start:]
            pool = Pool((Candidate(s.paper_id, s.paper, s.popularity) for s in window), self._hits)
            self._pools[start] = pool
        return pool


# --- saved searches ----------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    ["a", "an", "and", "are", "as", "at", "based", "be", "by", "can", "do", "does", "for", "from",
     "how", "in", "into", "is", "it", "of", "on", "or", "the", "to", "toward", "towards", "using",
     "via", "what", "when", "which", "who", "why", "with"]
)  # fmt: skip
_SUFFIXES = ("ies", "es", "s", "ing", "ed")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


class _Text:
    """A paper's words, sorted, for prefix look-ups: "model" finds "models" and "modelling"."""

    def __init__(self, paper: Paper) -> None:
        folded = f"{paper.title} {paper.abstract}".casefold()
        self.words = sorted(set(_WORD.findall(folded)))
        self.flat = " ".join(_WORD.findall(folded))

    def has(self, word: str) -> bool:
        stem = _stem(word)
        at = bisect.bisect_left(self.words, stem)
        return at < len(self.words) and self.words[at].startswith(stem)

    def has_phrase(self, phrase: str) -> bool:
        return " ".join(_WORD.findall(phrase.casefold())) in self.flat


def _covers(parsed: ParsedQuery, text: _Text) -> bool:
    """Whether a paper says what the search asks: every phrase, and its words.

    Up to three words must all be there; of longer questions, three in four.
    The index ranks any paper with any word; a digest shows only real matches.
    """
    if not all(text.has_phrase(p) for p in parsed.phrases):
        return False
    words = [w for t in parsed.terms for w in _WORD.findall(t.casefold()) if w not in _STOP]
    found = sum(text.has(w) for w in words)
    return found == len(words) if len(words) <= 3 else found * 4 >= len(words) * 3


def _passes_filters(parsed: ParsedQuery, paper: Paper, text: _Text) -> bool:
    """The query's operators, for papers the index has not seen yet."""
    if parsed.categories and not any(
        c == want or c.startswith(want + ".")
        for c in paper.categories
        for want in parsed.categories
    ):
        return False
    day = paper.announced
    if (parsed.since and (day is None or day < parsed.since)) or (
        parsed.until and (day is None or day > parsed.until)
    ):
        return False
    if parsed.has_code and not paper.code_url:
        return False
    names = " ".join(paper.authors).casefold()
    if any(a.casefold() not in names for a in parsed.authors):
        return False
    return not any(text.has_phrase(x) for x in parsed.excluded)


def _search_hits(
    ranker: Ranker | None, texts: Sequence[str], stored: Sequence[StoredPaper], today: dt.date
) -> dict[str, list[int]]:
    """Each saved search's matches among the new papers, best first; each search runs once."""
    if not texts or not stored:
        return {}
    by_id = {s.paper_id: s for s in stored}
    indexed = _indexed(ranker, list(by_id))
    # Papers the index has not taken in yet, or that its date filter cannot see.
    unindexed = [s for s in stored if s.paper_id not in indexed or s.paper.announced is None]
    days = [s.paper.announced for s in stored if s.paper.announced is not None]
    earliest = min(days) if days else None
    texts_of: dict[int, _Text] = {}

    def text_of(paper_id: int) -> _Text:
        found = texts_of.get(paper_id)
        if found is None:
            found = texts_of[paper_id] = _Text(by_id[paper_id].paper)
        return found

    hits: dict[str, list[int]] = {}
    for query in texts:
        parsed = parse_query(query, today=today)
        if parsed.arxiv_id is not None:
            hits[query] = [s.paper_id for s in stored if s.paper.arxiv_id == parsed.arxiv_id]
            continue
        if parsed.is_empty:
            continue
        found = _ranked_ids(ranker, parsed, earliest) if ranker is not None and indexed else []
        ranked = [i for i in found if i in by_id and _covers(parsed, text_of(i))]
        late = [
            s for s in unindexed
            if _covers(parsed, text_of(s.paper_id))
            and _passes_filters(parsed, s.paper, text_of(s.paper_id))
        ]  # fmt: skip
        late.sort(key=lambda s: -s.popularity)
        hits[query] = list(dict.fromkeys([*ranked, *(s.paper_id for s in late)]))
    return hits


def _ranked_ids(ranker: Ranker, parsed: ParsedQuery, earliest: dt.date | None) -> list[int]:
    """Lexical matches (BM25 order) announced no earlier than the new papers."""
    since = parsed.since
    if earliest is not None and (since is None or earliest > since):
        since = earliest
    ids, _ = ranker.index.lexical.search(
        LexicalQuery(parsed.terms, parsed.phrases, parsed.excluded, parsed.authors),
        LexicalFilter(parsed.categories, since, parsed.until, parsed.has_code),
        limit=_SEARCH_DEPTH,
    )
    return ids


def _indexed(ranker: Ranker | None, paper_ids: Iterable[int]) -> set[int]:
    """Which of these papers the search index holds."""
    if ranker is None:
        return set()
    wanted = np.fromiter(paper_ids, dtype=np.int64)
    catalog = ranker.index.catalog
    held = catalog.ids if len(catalog) else np.array(ranker.index.lexical.all_ids())
    return set(wanted[np.isin(wanted, held)].tolist())
