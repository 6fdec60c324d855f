"""The trending score: what readers here and outside did with a paper, decayed by its age.

    points = 1.0 * votes + 2.0 * saves + 0.5 * ln(1 + views)
             + 1.0 * outside upvotes + 0.5 * ln(1 + GitHub stars)
    score  = points / (age in days + 2) ^ 1.5

Votes and saves are one per reader (a second vote is the same vote; a
paper in three of someone's collections is one save). A reader is an
account, except that accounts made in the same hour from one network (an
IPv4 /24, an IPv6 /64) are one reader: one inbox with plus-tags makes many
accounts, not many votes. A save weighs twice a vote: it is a decision to
come back. Views are distinct visitors a day who opened the paper's page (an
account, or else an address, an IPv6 /64, whatever browser it names), so
refreshing counts once; they are cheap to make, so they count on a log
scale, as do stars (a famous repository should not bury every paper without
code). Hugging Face upvotes count as votes do.

Age is in whole days from the announcement to the day ranked for; the
offset of 2 keeps a paper of today from dividing by zero, and the power 1.5
(Hacker News's gravity, in days instead of hours) makes a week-old paper
need about ten times the points of a new one. Papers with no points keep the
newest-first order.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from paperroute.store.papers import PaperPage, list_papers, papers_page
from paperroute.store.signals import PaperSignals, window_signals

__all__ = [
    "GRAVITY",
    "WEIGHTS",
    "TrendingScore",
    "listing",
    "rank_trending",
    "score_paper",
    "trending_page",
]

WEIGHTS = {"votes": 1.0, "saves": 2.0, "views": 0.5, "upvotes": 1.0, "stars": 0.5}
LOG_SCALED = frozenset({"views", "stars"})
AGE_OFFSET_DAYS = 2.0
GRAVITY = 1.5


@dataclass(frozen=True, slots=True)
class TrendingScore:
    paper_id: int
    score: float
    points: float
    age_days: int
    parts: dict[str, float]  # each signal's points, for "why is this trending"
    signals: PaperSignals

    def describe(self) -> str:
        """The signals behind the score, as a reader says them: "3 votes · 1 save · 40 views"."""
        s = self.signals
        counts = ((s.votes, "vote", "votes"), (s.saves, "save", "saves"),
                  (s.views, "view", "views"), (s.upvotes, "upvote elsewhere", "upvotes elsewhere"),
                  (s.stars, "GitHub star", "GitHub stars"))  # fmt: skip
        said = [f"{n:,} {one if n == 1 else many}" for n, one, many in counts if n]
        return " · ".join(said) or "no signals yet"


def score_paper(signals: PaperSignals, today: dt.date) -> TrendingScore:
    parts: dict[str, float] = {}
    for name, weight in WEIGHTS.items():
        value = float(getattr(signals, name))
        parts[name] = weight * (math.log1p(value) if name in LOG_SCALED else value)
    points = sum(parts.values())
    age = max(0, (today - signals.announced).days) if signals.announced else 0
    score = points / (age + AGE_OFFSET_DAYS) ** GRAVITY
    return TrendingScore(signals.paper_id, score, points, age, parts, signals)


def rank_trending(signals: Sequence[PaperSignals], today: dt.date) -> list[TrendingScore]:
    """Best first; ties (papers without points, most days) newest first, then by id."""
    scored = [score_paper(s, today) for s in signals]

    def order(t: TrendingScore) -> tuple[float, int, int]:
        announced = t.signals.announced.toordinal() if t.signals.announced else 0
        return (-t.score, -announced, -t.paper_id)

    return sorted(scored, key=order)


def trending_page(
    conn: Connection,
    today: dt.date,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    category: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[PaperPage, list[TrendingScore]]:
    """One page of the papers announced in [since, until], trending first, with their scores.

    Scored as of `today`, or of the window's last day when it ended earlier
    (last month's trending is ranked as it stood then).
    """
    ranked = rank_trending(
        window_signals(conn, since=since, until=until, category=category),
        min(today, until) if until else today,
    )
    chosen = ranked[offset : offset + limit]
    return papers_page(conn, [t.paper_id for t in chosen], len(ranked)), chosen


def listing(
    conn: Connection,
    today: dt.date,
    *,
    order: str,
    since: dt.date | None = None,
    until: dt.date | None = None,
    category: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> PaperPage:
    """A page of a listing in any order the site offers: "trending" is ranked here, the
    store's orders ("announced", "popular", "added") by the store."""
    if order == "trending":
        return trending_page(conn, today, since=since, until=until, category=category,
                             limit=limit, offset=offset)[0]  # fmt: skip
    return list_papers(conn, since=since, until=until, category=category, limit=limit,
                       offset=offset, order=order)  # fmt: skip
