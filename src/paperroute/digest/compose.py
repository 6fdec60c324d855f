"""What goes in one subscriber's digest, and when it is due: pure functions, no database, no clock.

A digest is made of sections in a fixed order: trending, each saved search,
each followed category, recommended for you, and (for a subscriber who
follows nothing) the newest papers. The sections take turns picking their
best paper not yet picked until the subscriber's maximum is reached, so none
can crowd out the others; each picked paper then shows once, in the first
section it belongs to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from paperroute.domain import Paper
from paperroute.store.subscribers import Preferences

__all__ = [
    "MAX_PAPERS",
    "Candidate",
    "Digest",
    "DigestItem",
    "Pool",
    "Ranked",
    "Recommendation",
    "Section",
    "compose_digest",
    "describe_period",
    "due_period",
    "period_key",
]

MAX_PAPERS = 50  # whatever a subscriber asks: a longer mail is clipped by Gmail (102 kB)
_REASON_QUERY_CHARS = 60


@dataclass(frozen=True, slots=True)
class Candidate:
    """A paper new to the subscriber, with its popularity (votes here plus outside upvotes)
    and its trending score (rank.trending) with the signals behind it."""

    paper_id: int
    paper: Paper
    popularity: int = 0
    trend: float = 0.0
    trend_note: str = ""  # "3 votes · 1 save": what makes it trend


@dataclass(frozen=True, slots=True)
class Recommendation:
    paper_id: int
    reason: str  # one line, e.g. "similar to papers you voted for"


@dataclass(frozen=True, slots=True)
class DigestItem:
    paper_id: int
    paper: Paper
    reason: str
    popularity: int = 0


@dataclass(frozen=True, slots=True)
class Section:
    kind: str  # trending | search | category | recommended | latest
    title: str
    items: tuple[DigestItem, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    sections: tuple[Section, ...]

    @property
    def paper_ids(self) -> list[int]:
        """In mail order."""
        return [item.paper_id for s in self.sections for item in s.items]

    @property
    def count(self) -> int:
        return sum(len(s.items) for s in self.sections)


@dataclass(frozen=True, slots=True)
class Ranked:
    """Paper ids best first, and the same ids as a set."""

    ids: tuple[int, ...]
    position: Mapping[int, int]  # id -> index in `ids`


def _ranked(ids: Iterable[int]) -> Ranked:
    ordered = tuple(dict.fromkeys(ids))
    return Ranked(ordered, {pid: i for i, pid in enumerate(ordered)})


class Pool:
    """The papers new in one window, with the orders every subscriber of that window shares.

    Built once per window and read by many subscribers: the per-category and
    per-search lists are worked out on first use and kept.
    """

    def __init__(
        self,
        candidates: Iterable[Candidate],
        search_hits: Mapping[str, Sequence[int]] | None = None,
    ) -> None:
        self.by_id = {c.paper_id: c for c in candidates}
        by_rank = sorted(self.by_id.values(), key=_popular_first)
        self.trending = _ranked(c.paper_id for c in by_rank if c.trend > 0 or c.popularity > 0)
        self.latest = _ranked(c.paper_id for c in sorted(self.by_id.values(), key=_newest_first))
        self._by_rank = [c.paper_id for c in by_rank]
        self.trending_reasons = {
            pid: f"trending: {self.by_id[pid].trend_note or _votes(self.by_id[pid].popularity)}"
            for pid in self.trending.ids
        }
        self.latest_reasons = {
            pid: _latest_reason(self.by_id[pid].paper) for pid in self.latest.ids
        }
        self._search_hits = search_hits or {}
        self._categories: dict[str, Ranked] = {}
        self._searches: dict[str, Ranked] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def category(self, name: str) -> Ranked:
        """Papers in a category (an archive such as "cs" takes in its classes), most popular first."""
        found = self._categories.get(name)
        if found is None:
            prefix = name + "."
            found = _ranked(
                pid
                for pid in self._by_rank
                if any(c == name or c.startswith(prefix) for c in self.by_id[pid].paper.categories)
            )
            self._categories[name] = found
        return found

    def search(self, text: str) -> Ranked:
        """A saved search's hits that are in this window, best first."""
        found = self._searches.get(text)
        if found is None:
            found = _ranked(pid for pid in self._search_hits.get(text, ()) if pid in self.by_id)
            self._searches[text] = found
        return found


def _popular_first(c: Candidate) -> tuple[float, int, int, int]:
    announced = c.paper.announced.toordinal() if c.paper.announced else 0
    return (-c.trend, -c.popularity, -announced, -c.paper_id)


def _newest_first(c: Candidate) -> tuple[int, int]:
    announced = c.paper.announced.toordinal() if c.paper.announced else 0
    return (-announced, -c.paper_id)


@dataclass(slots=True)
class _Plan:
    """A section before the cap: its title, ranked papers and the reason each is there."""

    kind: str
    title: str
    ranked: Ranked
    reason: Mapping[int, str] | str

    def reason_for(self, paper_id: int) -> str:
        return self.reason if isinstance(self.reason, str) else self.reason[paper_id]


def _quoted(text: str) -> str:
    """A saved search as a reason quotes it: one line, shortened."""
    text = " ".join(text.split())
    if len(text) > _REASON_QUERY_CHARS:
        text = text[: _REASON_QUERY_CHARS - 1].rstrip() + "\u2026"
    return f"\u2018{text}\u2019"


def _votes(count: int) -> str:
    return "1 vote" if count == 1 else f"{count:,} votes"


def _plans(
    prefs: Preferences, pool: Pool, recommendations: Sequence[Recommendation]
) -> list[_Plan]:
    plans: list[_Plan] = []
    if prefs.include_trending:
        plans.append(_Plan("trending", "Trending", pool.trending, pool.trending_reasons))
    searches = list(dict.fromkeys(s.strip() for s in prefs.searches if s.strip()))
    for text in searches:
        quoted = _quoted(text)
        plans.append(
            _Plan(
                "search",
                f"Matches your search {quoted}",
                pool.search(text),
                f"matches your search {quoted}",
            )
        )
    categories = list(dict.fromkeys(c.strip() for c in prefs.categories if c.strip()))
    for name in categories:
        plans.append(_Plan("category", f"New in {name}", pool.category(name), f"new in {name}"))
    if prefs.include_recommendations and recommendations:
        wanted = [r for r in recommendations if r.paper_id in pool.by_id]
        reasons = {r.paper_id: r.reason for r in reversed(wanted)}  # the first reason wins
        plans.append(
            _Plan(
                "recommended", "Recommended for you", _ranked(r.paper_id for r in wanted), reasons
            )
        )
    if not searches and not categories:
        # Someone who subscribed with just an address still hears of the day's papers.
        plans.append(_Plan("latest", "New papers", pool.latest, pool.latest_reasons))
    return plans


def _latest_reason(paper: Paper) -> str:
    category = paper.primary_category
    return f"new in {category}" if category else "new on the site"


def _draft(plans: Sequence[_Plan], cap: int, exclude: Set[int]) -> set[int]:
    """Round-robin: each section in turn picks its best paper not yet picked, up to the cap."""
    picked: set[int] = set()
    cursors = [0] * len(plans)
    active = list(range(len(plans)))
    while active:
        still: list[int] = []
        for i in active:
            ids, at = plans[i].ranked.ids, cursors[i]
            while at < len(ids) and (ids[at] in picked or ids[at] in exclude):
                at += 1
            if at == len(ids):
                continue
            picked.add(ids[at])
            if len(picked) == cap:
                return picked
            cursors[i] = at + 1
            still.append(i)
        active = still
    return picked


def _allocate(plans: Sequence[_Plan], cap: int, exclude: Set[int]) -> list[list[int]]:
    """Each section's papers: the drafted ones that belong to it and to no earlier section."""
    placed: list[list[int]] = [[] for _ in plans]
    for pid in _draft(plans, cap, exclude):
        first = next(i for i, plan in enumerate(plans) if pid in plan.ranked.position)
        placed[first].append(pid)
    return [
        sorted(chosen, key=plan.ranked.position.__getitem__)
        for plan, chosen in zip(plans, placed, strict=True)
    ]


def _reason(plans: Sequence[_Plan], plan: _Plan, paper_id: int) -> str:
    """The section's reason, and another section's when the paper is in one: a trending paper
    that also matches a saved search says so."""
    others = (p for p in plans if p is not plan and paper_id in p.ranked.position)
    also = next(others, None)
    first = plan.reason_for(paper_id)
    return f"{first} \u00b7 {also.reason_for(paper_id)}" if also is not None else first


def compose_digest(
    prefs: Preferences,
    pool: Pool,
    *,
    exclude: Set[int] = frozenset(),
    recommendations: Sequence[Recommendation] = (),
) -> Digest | None:
    """The subscriber's digest from the papers new to them; None when there is nothing to send.

    `exclude` holds papers the reader said they are not interested in.
    """
    cap = max(1, min(prefs.max_papers, MAX_PAPERS))
    plans = _plans(prefs, pool, recommendations)
    sections: list[Section] = []
    for plan, chosen in zip(plans, _allocate(plans, cap, exclude), strict=True):
        if not chosen:
            continue
        items = tuple(
            DigestItem(
                pid, pool.by_id[pid].paper, _reason(plans, plan, pid), pool.by_id[pid].popularity
            )
            for pid in chosen
        )
        sections.append(Section(plan.kind, plan.title, items))
    return Digest(tuple(sections)) if sections else None


# --- when a digest is due --------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    """The subscriber's zone; UTC for a name this machine does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def period_key(prefs: Preferences, now_utc: dt.datetime) -> str:
    """The period `now` falls in, in the subscriber's zone: 2026-03-20, or 2026-W12 for weekly."""
    local = now_utc.astimezone(_zone(prefs.timezone)).date()
    if prefs.frequency == "weekly":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.isoformat()


def due_period(prefs: Preferences, now_utc: dt.datetime) -> str | None:
    """The period whose digest is due at `now`, or None when it is not yet time.

    A digest is due from the send hour of its day (its weekday, for weekly
    ones) to the end of its period, so a run that comes late still sends it;
    the outbox makes sure it goes once. On a day when the clocks skip the
    send hour, the first hour after it counts.
    """
    local = now_utc.astimezone(_zone(prefs.timezone))
    if prefs.frequency == "weekly":
        if (local.weekday(), local.hour) < (prefs.weekday, prefs.send_hour):
            return None
    elif local.hour < prefs.send_hour:
        return None
    return period_key(prefs, now_utc)


def describe_period(period: str) -> str:
    """A period key as a reader says it: "Friday, March 20", "the week of March 16"."""
    try:
        if "-W" in period:
            year, week = period.split("-W")
            monday = dt.date.fromisocalendar(int(year), int(week), 1)
            return f"the week of {monday:%B} {monday.day}"
        day = dt.date.fromisoformat(period)
    except ValueError:
        return period
    return f"{day:%A, %B} {day.day}"
