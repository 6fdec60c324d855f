"""Make a period's digests: compose and render each due subscriber's mail into the outbox.

Everything all subscribers share is read or computed once per run: the new
papers (once, however many windows), votes, dismissals, and each distinct
saved search. What is left per subscriber is pure work, rendering, and its
share of a short transaction that writes the outbox row and moves the
subscriber's `papers_after` together, so a run that dies loses nothing and a
second run never makes a second row.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

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
from paperroute.digest.render import DigestLinks, RenderedDigest, render_digest
from paperroute.index.lexical import LexicalFilter, LexicalQuery
from paperroute.rank.trending import rank_trending
from paperroute.search.query import ParsedQuery, parse_query
from paperroute.search.service import Ranker
from paperroute.store.digest_papers import (
    StoredPaper,
    dismissed_since,
    hold_subscribers,
    papers_stored_between,
)
from paperroute.store.outbox import enqueue_digest, periods_done
from paperroute.store.signals import signals_for
from paperroute.store.subscribers import Subscriber, active_subscribers

__all__ = [
    "LOOKBACK",
    "SETTLE",
    "WRITE_BATCH",
    "BuildCounts",
    "Links",
    "Recommender",
    "build_digests",
    "candidates",
    "preview_digest",
    "preview_digests",
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
# Subscribers written per transaction (their mails rendered before it starts):
# every row goes in with its papers_after move or not at all, as with one
# transaction each, but a commit per subscriber cost more than the rest of the
# write (~1 ms on SQLite, a WAL flush on PostgreSQL). Small, so the write lock
# is held for milliseconds.
WRITE_BATCH = 20
_NONE: frozenset[int] = frozenset()

Links = Callable[[Subscriber], tuple[str, str]]  # -> (unsubscribe URL, manage URL)
Recommender = Callable[[Subscriber, Pool], Sequence[Recommendation]]
Progress = Callable[[int, int], None]  # (done, total)


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
    progress: Progress | None = None,
) -> BuildCounts:
    """Write the digest of every active subscriber whose digest is due, once per period.

    `period` forces that period for every selected subscriber, due or not.
    Without a search index (`ranker` None) saved searches match by words.
    `progress(done, total)` hears of each subscriber done.
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
    made: list[_Made] = []
    for done, job in enumerate(jobs):
        if progress is not None:
            progress(done, len(jobs))
        subscriber = job.subscriber
        digest = shared.compose(subscriber, job.after, recommend)
        rendered = None
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
        made.append(_Made(job, digest.paper_ids if digest else [], rendered))
        if len(made) == WRITE_BATCH:
            _write(engine, made, now, until, counts)
            made = []
    _write(engine, made, now, until, counts)
    if progress is not None:
        progress(len(jobs), len(jobs))
    return counts


@dataclass(frozen=True, slots=True)
class _Made:
    job: _Job
    paper_ids: list[int]
    rendered: RenderedDigest | None  # None: nothing new, recorded as skipped


def _write(
    engine: Engine, made: Sequence[_Made], now: dt.datetime, until: dt.datetime, counts: BuildCounts
) -> None:
    """Record made digests in the outbox, each with its subscriber's new `papers_after`.

    One short transaction for a few subscribers (mails are rendered before it
    starts): all of them are recorded or none, and a commit per subscriber
    would cost more than the rest of its work.
    """
    if not made:
        return
    added: list[bool] = []
    with engine.begin() as conn:
        hold_subscribers(conn, [m.job.subscriber.id for m in made])
        for m in made:
            added.append(
                enqueue_digest(
                    conn, m.job.subscriber.id, m.job.period, now,
                    papers_until=max(until, m.job.after), paper_ids=m.paper_ids,
                    message_id=m.rendered.message_id if m.rendered else None,
                    message=m.rendered.message if m.rendered else None,
                )
            )  # fmt: skip
    for m, new in zip(made, added, strict=True):
        if not new:
            counts.already += 1
        elif m.rendered is None:
            counts.skipped += 1
        else:
            counts.queued += 1


def preview_digest(
    conn: Connection,
    ranker: Ranker | None,
    subscriber: Subscriber,
    now: dt.datetime,
    *,
    recommend: Recommender | None = None,
) -> Digest | None:
    """The digest this subscriber would get if it were made now; nothing is written."""
    return preview_digests(conn, ranker, [subscriber], now, recommend=recommend)[subscriber.id]


def preview_digests(
    conn: Connection,
    ranker: Ranker | None,
    subscribers: Sequence[Subscriber],
    now: dt.datetime,
    *,
    recommend: Recommender | None = None,
) -> dict[int, Digest | None]:
    """Several subscribers' digests as they would be made now, reading what they share once."""
    if not subscribers:
        return {}
    until = now.astimezone(dt.UTC) - SETTLE
    shared = _Shared.load(conn, ranker, subscribers, until, now.date())
    return {s.id: shared.compose(s, _window_start(s, until), recommend) for s in subscribers}


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
        return cls(_Pools(stored, candidates(conn, stored, today), hits), dismissed)

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


def candidates(conn: Connection, stored: Sequence[StoredPaper], today: dt.date) -> list[Candidate]:
    """New papers as a digest ranks them: with their trending score and what makes it."""
    signals = signals_for(conn, [s.paper_id for s in stored])
    trends = {t.paper_id: t for t in rank_trending(list(signals.values()), today)}
    found: list[Candidate] = []
    for s in stored:
        trend = trends.get(s.paper_id)
        score, note = (trend.score, trend.describe()) if trend and trend.points else (0.0, "")
        found.append(Candidate(s.paper_id, s.paper, s.popularity, score, note))
    return found


class _Pools:
    """One Pool per distinct window; a window is the papers stored after some moment."""

    def __init__(
        self,
        stored: Sequence[StoredPaper],
        found: Sequence[Candidate],
        hits: Mapping[str, Sequence[int]],
    ) -> None:
        self._candidates = found  # parallel to stored, oldest first
        self._moments = [s.stored_at for s in stored]
        self._hits = hits
        self._pools: dict[int, Pool] = {}

    def after(self, moment: dt.datetime) -> Pool:
        start = bisect.bisect_right(self._moments, moment)
        pool = self._pools.get(start)
        if pool is None:
            pool = Pool(self._candidates[start:], self._hits)
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


class _Words:
    """Which new papers say which words: saved searches match against this, not the index.

    The index ranks any paper with any of the words (BM25 is an OR); a digest
    must show only papers that say what the search asks, and papers the index
    has not taken in yet must match too.
    """

    def __init__(self, stored: Sequence[StoredPaper]) -> None:
        self.papers = {s.paper_id: s for s in stored}
        self.postings: dict[str, set[int]] = {}
        for s in stored:
            for word in set(_WORD.findall(f"{s.paper.title} {s.paper.abstract}".casefold())):
                self.postings.setdefault(word, set()).add(s.paper_id)
        self.vocabulary = sorted(self.postings)
        self._prefixes: dict[str, set[int]] = {}
        self._flat: dict[int, str] = {}

    def with_word(self, word: str) -> set[int]:
        """Papers with a word starting like this one: "models" finds "model" and "modelling"."""
        stem = _stem(word)
        found = self._prefixes.get(stem)
        if found is None:
            found = set()
            at = bisect.bisect_left(self.vocabulary, stem)
            while at < len(self.vocabulary) and self.vocabulary[at].startswith(stem):
                found |= self.postings[self.vocabulary[at]]
                at += 1
            self._prefixes[stem] = found
        return found

    def says(self, paper_id: int, phrase: str) -> bool:
        flat = self._flat.get(paper_id)
        if flat is None:
            paper = self.papers[paper_id].paper
            flat = " ".join(_WORD.findall(f"{paper.title} {paper.abstract}".casefold()))
            self._flat[paper_id] = flat
        return f" {' '.join(_WORD.findall(phrase.casefold()))} " in f" {flat} "

    def matching(self, parsed: ParsedQuery) -> set[int]:
        """Papers with every phrase and the words: all of up to three, three in four of more."""
        terms = [w for t in parsed.terms for w in _WORD.findall(t.casefold())]
        words = [w for w in terms if w not in _STOP] or terms
        if not words:
            found = set(self.papers)
        elif len(words) <= 3:
            found = set.intersection(*(self.with_word(w) for w in words))
        else:
            hits = Counter(pid for w in words for pid in self.with_word(w))
            found = {pid for pid, n in hits.items() if n * 4 >= len(words) * 3}
        for phrase in parsed.phrases:
            found = {pid for pid in found if self.says(pid, phrase)}
        return {pid for pid in found if _passes_filters(parsed, pid, self)}


def _passes_filters(parsed: ParsedQuery, paper_id: int, words: _Words) -> bool:
    """The query's operators: categories, dates, has:code, authors, exclusions."""
    paper = words.papers[paper_id].paper
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
    return not any(words.says(paper_id, x) for x in parsed.excluded)


def _search_hits(
    ranker: Ranker | None, texts: Sequence[str], stored: Sequence[StoredPaper], today: dt.date
) -> dict[str, list[int]]:
    """Each saved search's matches among the new papers, best first; each search runs once.

    The search index gives the order (BM25, as the site's search box); papers
    it does not hold yet come after, most popular first.
    """
    if not texts or not stored:
        return {}
    words = _Words(stored)
    days = [s.paper.announced for s in stored if s.paper.announced is not None]
    earliest = min(days) if days else None
    hits: dict[str, list[int]] = {}
    for text in texts:
        parsed = parse_query(text, today=today)
        if parsed.arxiv_id is not None:
            hits[text] = [s.paper_id for s in stored if s.paper.arxiv_id == parsed.arxiv_id]
            continue
        if parsed.is_empty:
            continue
        found = words.matching(parsed)
        ranked: list[int] = []
        if ranker is not None and len(found) > 1:
            ranked = [i for i in _ranked_ids(ranker, parsed, earliest) if i in found]
        rest = sorted(found.difference(ranked), key=lambda i: (-words.papers[i].popularity, -i))
        hits[text] = ranked + rest
    return hits


def _ranked_ids(ranker: Ranker, parsed: ParsedQuery, earliest: dt.date | None) -> list[int]:
    """Lexical matches in BM25 order, announced no earlier than the new papers."""
    since = parsed.since
    if earliest is not None and (since is None or earliest > since):
        since = earliest
    ids, _ = ranker.index.lexical.search(
        LexicalQuery(parsed.terms, parsed.phrases, parsed.excluded, parsed.authors),
        LexicalFilter(parsed.categories, since, parsed.until, parsed.has_code),
        limit=_SEARCH_DEPTH,
    )
    return ids
