"""Digest composition and scheduling: pure functions, given papers and a clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from paperroute.digest.compose import (
    MAX_PAPERS,
    Candidate,
    Digest,
    Pool,
    Recommendation,
    compose_digest,
    describe_period,
    due_period,
    period_key,
)
from paperroute.domain import Paper
from paperroute.store.subscribers import Preferences

DAY = dt.date(2026, 3, 20)


def candidate(
    pid: int, popularity: int = 0, categories: Sequence[str] = ("cs.LG",), day: dt.date = DAY
) -> Candidate:
    paper = Paper(
        title=f"Paper {pid}", abstract="An abstract.", source="test", arxiv_id=f"2603.{pid:05d}",
        key=f"2603.{pid:05d}", categories=tuple(categories), announced=day,
    )  # fmt: skip
    return Candidate(pid, paper, popularity)


def prefs(**changes: object) -> Preferences:
    base: dict[str, object] = {"include_trending": False, "include_recommendations": False}
    return Preferences(**(base | changes))  # type: ignore[arg-type]


def layout(digest: Digest | None) -> list[tuple[str, list[int]]]:
    assert digest is not None
    return [(s.title, [i.paper_id for i in s.items]) for s in digest.sections]


def test_sections_come_in_order_each_ranked_with_its_reason() -> None:
    pool = Pool(
        [candidate(1, 9), candidate(2, 0, ["cs.CV"]), candidate(3, 0, ["cs.LG"]),
         candidate(4, 3, ["cs.CL"]), candidate(5, 0, ["cs.LG"]), candidate(6, 0, ["math.OC"])],
        {"diffusion editing": [2, 99]},  # 99 is not new to this subscriber: ignored
    )  # fmt: skip
    wanted = prefs(
        include_trending=True, include_recommendations=True,
        searches=("diffusion editing",), categories=("cs.LG",),
    )  # fmt: skip
    digest = compose_digest(wanted, pool, recommendations=[Recommendation(6, "like 2603.00001")])
    assert layout(digest) == [
        ("Trending", [1, 4]),
        ("Matches your search \u2018diffusion editing\u2019", [2]),
        ("New in cs.LG", [5, 3]),  # equally popular: the newest first
        ("Recommended for you", [6]),
    ]
    assert digest is not None
    reasons = {i.paper_id: i.reason for s in digest.sections for i in s.items}
    assert reasons[4] == "trending: 3 votes"
    assert reasons[1] == "trending: 9 votes \u00b7 new in cs.LG"  # in two sections: says both
    assert reasons[2] == "matches your search \u2018diffusion editing\u2019"
    assert reasons[3] == "new in cs.LG"
    assert reasons[6] == "like 2603.00001"
    assert digest.paper_ids == [1, 4, 2, 5, 3, 6] and digest.count == 6


def test_a_paper_appears_once_in_its_first_section() -> None:
    pool = Pool([candidate(i, popularity=10 - i) for i in range(1, 6)], {"q": [3, 1]})
    digest = compose_digest(
        prefs(include_trending=True, searches=("q",), categories=("cs.LG",)), pool
    )
    assert layout(digest) == [("Trending", [1, 2, 3, 4, 5])]
    assert digest is not None and len(set(digest.paper_ids)) == len(digest.paper_ids)


def test_the_cap_is_shared_fairly_between_sections() -> None:
    pool = Pool(
        [candidate(i, popularity=100 - i, categories=["cs.CV"]) for i in range(1, 31)]
        + [candidate(i, categories=["cs.LG"]) for i in range(31, 61)]
        + [candidate(i, categories=["cs.CL"]) for i in range(61, 91)],
        {"q": list(range(61, 91))},
    )
    wanted = prefs(include_trending=True, searches=("q",), categories=("cs.LG",), max_papers=9)
    sections = layout(compose_digest(wanted, pool))
    assert [(title, len(ids)) for title, ids in sections] == [
        ("Trending", 3), ("Matches your search \u2018q\u2019", 3), ("New in cs.LG", 3),
    ]  # fmt: skip
    assert sections[0][1] == [1, 2, 3]  # the best of each


def test_a_short_section_leaves_its_share_to_the_others() -> None:
    pool = Pool(
        [candidate(i, categories=["cs.LG"]) for i in range(1, 20)] + [candidate(50, 0, ["cs.CV"])]
    )
    wanted = prefs(categories=("cs.CV", "cs.LG"), max_papers=10)
    assert [len(ids) for _, ids in layout(compose_digest(wanted, pool))] == [1, 9]


def test_a_paper_far_down_an_early_section_is_not_crowded_out() -> None:
    # Paper 40 is 40th in Trending, far past its share, but first for the saved search:
    # the search picks it, and it shows in Trending, its first section, saying why.
    pool = Pool([candidate(i, popularity=100 - i) for i in range(1, 41)], {"rare": [40]})
    wanted = prefs(include_trending=True, searches=("rare",), max_papers=6)
    digest = compose_digest(wanted, pool)
    assert layout(digest) == [("Trending", [1, 2, 3, 4, 5, 40])]
    assert digest is not None
    assert digest.sections[0].items[-1].reason == (
        "trending: 60 votes \u00b7 matches your search \u2018rare\u2019"
    )


def test_nothing_new_for_the_subscriber_is_no_digest() -> None:
    assert compose_digest(prefs(include_trending=True), Pool([])) is None
    pool = Pool([candidate(1, 0, ["cs.CV"])], {"q": []})
    assert compose_digest(prefs(categories=("math.AG",), searches=("q",)), pool) is None
    # Trending holds only papers someone voted for.
    assert compose_digest(prefs(include_trending=True, categories=("math.AG",)), pool) is None


def test_dismissed_papers_are_left_out() -> None:
    pool = Pool([candidate(1, 5), candidate(2, 4), candidate(3, 0)])
    digest = compose_digest(
        prefs(include_trending=True, categories=("cs.LG",)), pool, exclude={1, 3}
    )
    assert layout(digest) == [("Trending", [2])]


def test_an_address_alone_still_gets_the_new_papers() -> None:
    pool = Pool([candidate(1, 0, day=dt.date(2026, 3, 19)), candidate(2, 5), candidate(3, 0)])
    digest = compose_digest(
        Preferences(), pool
    )  # trending and recommendations on, nothing followed
    assert layout(digest) == [("Trending", [2]), ("New papers", [3, 1])]
    assert digest is not None and digest.sections[1].items[0].reason == "new in cs.LG"


def test_recommendations_are_new_papers_only_and_can_be_turned_off() -> None:
    pool = Pool([candidate(1), candidate(2)])
    recs = [Recommendation(7, "old paper"), Recommendation(2, "because you voted for X")]
    wanted = prefs(include_recommendations=True, categories=("math.AG",))
    assert layout(compose_digest(wanted, pool, recommendations=recs)) == [
        ("Recommended for you", [2])
    ]
    assert compose_digest(prefs(categories=("math.AG",)), pool, recommendations=recs) is None


def test_archives_match_their_classes_and_repeats_are_ignored() -> None:
    pool = Pool(
        [
            candidate(1, 0, ["cs.LG"]),
            candidate(2, 0, ["math.OC", "cs.SY"]),
            candidate(3, 0, ["csx.XX"]),
        ]
    )
    digest = compose_digest(prefs(categories=("cs", "cs", " ")), pool)
    assert layout(digest) == [("New in cs", [2, 1])]


def test_max_papers_is_bounded_both_ways() -> None:
    pool = Pool([candidate(i) for i in range(1, 200)])
    assert compose_digest(prefs(categories=("cs.LG",), max_papers=10_000), pool).count == MAX_PAPERS  # type: ignore[union-attr]
    assert compose_digest(prefs(categories=("cs.LG",), max_papers=0), pool).count == 1  # type: ignore[union-attr]


def test_search_text_in_reasons_is_one_short_line() -> None:
    text = "diffusion\r\nBcc: victim@example.org " + "x" * 100
    pool = Pool([candidate(1)], {text: [1]})
    digest = compose_digest(prefs(searches=(text,)), pool)
    assert digest is not None
    reason = digest.sections[0].items[0].reason
    assert "\n" not in reason and "\r" not in reason and len(reason) < 100
    assert reason.startswith("matches your search \u2018diffusion Bcc: victim@example.org x")


# --- periods -------------------------------------------------------------------


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("zone", "moment", "daily", "weekly"),
    [
        ("UTC", "2026-03-20T23:30", "2026-03-20", "2026-W12"),
        ("Europe/Paris", "2026-03-20T23:30", "2026-03-21", "2026-W12"),
        ("America/Los_Angeles", "2026-03-21T06:30", "2026-03-20", "2026-W12"),
        ("Asia/Tokyo", "2026-03-22T15:30", "2026-03-23", "2026-W13"),  # Monday there
        ("UTC", "2027-01-01T12:00", "2027-01-01", "2026-W53"),  # ISO years differ
        ("Not/AZone", "2026-03-20T23:30", "2026-03-20", "2026-W12"),  # unknown: UTC
    ],
)
def test_period_keys_follow_the_subscribers_zone(
    zone: str, moment: str, daily: str, weekly: str
) -> None:
    assert period_key(Preferences(timezone=zone), at(moment)) == daily
    assert period_key(Preferences(timezone=zone, frequency="weekly"), at(moment)) == weekly


def test_a_daily_digest_is_due_from_the_local_send_hour() -> None:
    paris = Preferences(timezone="Europe/Paris", send_hour=7)
    assert due_period(paris, at("2026-03-20T05:59")) is None  # 06:59 in Paris
    assert due_period(paris, at("2026-03-20T06:00")) == "2026-03-20"
    assert due_period(paris, at("2026-03-20T22:59")) == "2026-03-20"  # a late run still sends it
    assert due_period(paris, at("2026-03-20T23:00")) is None  # the next day, before 07:00


def test_a_skipped_send_hour_counts_from_the_next_hour_and_a_doubled_one_once() -> None:
    two = Preferences(timezone="Europe/Paris", send_hour=2)
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST.
    assert due_period(two, at("2026-03-29T00:59")) is None
    assert due_period(two, at("2026-03-29T01:00")) == "2026-03-29"
    # 25 October 2026: 02:00-03:00 happens twice; both times are the same period.
    assert due_period(two, at("2026-10-25T00:30")) == "2026-10-25"
    assert due_period(two, at("2026-10-25T01:30")) == "2026-10-25"


def test_a_weekly_digest_is_due_from_its_weekday_until_the_week_ends() -> None:
    friday = Preferences(frequency="weekly", weekday=4, send_hour=7, timezone="America/New_York")
    assert due_period(friday, at("2026-03-19T15:00")) is None  # Thursday
    assert due_period(friday, at("2026-03-20T10:59")) is None  # Friday 06:59 EDT
    assert due_period(friday, at("2026-03-20T11:00")) == "2026-W12"
    assert due_period(friday, at("2026-03-21T20:00")) == "2026-W12"  # Saturday: catching up
    assert due_period(friday, at("2026-03-23T15:00")) is None  # Monday: a new week


def test_periods_read_as_a_person_says_them() -> None:
    assert describe_period("2026-03-20") == "Friday, March 20"
    assert describe_period("2026-W12") == "the week of March 16"
    assert describe_period("special") == "special"
