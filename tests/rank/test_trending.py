"""The trending score: its formula, its decay, and what it says about itself."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from paperroute.rank.trending import rank_trending, score_paper
from paperroute.store.signals import PaperSignals

TODAY = dt.date(2026, 3, 20)


def signals(paper_id: int, days_old: int, **counts: int) -> PaperSignals:
    return PaperSignals(paper_id, TODAY - dt.timedelta(days=days_old), **counts)


def test_the_documented_formula() -> None:
    s = score_paper(signals(1, 3, votes=4, saves=2, views=9, upvotes=5, stars=99), TODAY)
    points = 4 + 2 * 2 + 0.5 * math.log(10) + 5 + 0.5 * math.log(100)
    assert s.points == pytest.approx(points)
    assert s.score == pytest.approx(points / 5**1.5) and s.age_days == 3
    assert s.parts["saves"] == 4 and s.parts["views"] == pytest.approx(0.5 * math.log(10))
    assert s.describe() == "4 votes · 2 saves · 9 views · 5 upvotes elsewhere · 99 GitHub stars"
    assert score_paper(signals(2, 0, votes=1), TODAY).describe() == "1 vote"


def test_a_strong_new_paper_beats_an_old_one_and_a_strong_old_one_beats_a_weak_new_one() -> None:
    old_strong = signals(1, 6, votes=10)
    new_strong = signals(2, 0, votes=10)
    new_weak = signals(3, 0, votes=1)
    quiet = [signals(10 + n, n % 3) for n in range(5)]
    order = [t.paper_id for t in rank_trending([new_weak, old_strong, *quiet, new_strong], TODAY)]
    assert order[:3] == [2, 1, 3]
    # Papers without signals keep the newest-first order, then the higher id.
    assert order[3:] == [13, 10, 14, 11, 12]


def test_views_count_on_a_log_scale_so_a_crowd_of_viewers_does_not_outweigh_votes() -> None:
    viewed = score_paper(signals(1, 0, views=100), TODAY)
    voted = score_paper(signals(2, 0, votes=3), TODAY)
    assert viewed.points < voted.points


def test_a_paper_without_a_date_is_scored_as_new() -> None:
    undated = score_paper(PaperSignals(1, None, votes=2), TODAY)
    assert undated.age_days == 0 and undated.score == pytest.approx(2 / 2**1.5)
