"""Signals for trending on both databases: one per account, views once per visitor and day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from paperroute.ingest.normalize import build_paper
from paperroute.store.collections import add_paper, create_collection
from paperroute.store.papers import ids_for_refs, set_hidden, upsert_papers
from paperroute.store.signals import record_views, signals_for, window_signals
from paperroute.store.users import add_user
from paperroute.store.votes import vote

NOW = dt.datetime(2026, 3, 20, 9, tzinfo=dt.UTC)
DAY = NOW.date()


def _papers(engine: Engine) -> dict[str, int]:
    rows = [(1, "cs.LG", "2026-03-19"), (2, "cs.CV", "2026-03-20"), (3, "cs.LG", "2026-03-20")]
    papers = [
        build_paper(
            source="t",
            arxiv_id=f"2503.{n:05d}",
            title=f"Paper {n}",
            abstract="A.",
            authors=["Ada"],
            categories=[cat],
            announced=day,
            upvotes=n,
            github_stars=10 * n,
        )
        for n, cat, day in rows
    ]
    with engine.begin() as conn:
        upsert_papers(conn, papers, NOW)
        return ids_for_refs(conn, [f"2503.{n:05d}" for n in (1, 2, 3)])


def test_votes_saves_and_views_are_counted_once_per_account_or_visitor(engine: Engine) -> None:
    ids = _papers(engine)
    one, two, three = ids.values()
    with engine.begin() as conn:
        ada, bob = (add_user(conn, f"{n}@example.org", NOW) for n in ("ada", "bob"))
        for user in (ada, bob):
            vote(conn, user.id, one, NOW)
        vote(conn, ada.id, one, NOW)  # the same vote again
        for name in ("reading", "later"):  # one account, two collections: one save
            add_paper(conn, create_collection(conn, ada.id, name, NOW).id, one, NOW)
        add_paper(conn, create_collection(conn, bob.id, "mine", NOW).id, one, NOW)
        record_views(conn, [(one, DAY, "v1"), (one, DAY, "v1"), (one, DAY, "v2")])
        record_views(conn, [(one, DAY, "v1"), (one, DAY + dt.timedelta(days=1), "v1")])
        record_views(conn, [(two, DAY, "v1"), (999_999, DAY, "v1")])  # an unknown paper: dropped
    with engine.connect() as conn:
        found = signals_for(conn, [one, two, three])
    assert (found[one].votes, found[one].saves, found[one].views) == (2, 2, 3)
    assert (found[two].votes, found[two].views, found[two].upvotes) == (0, 1, 2)
    assert (found[three].stars, found[three].announced) == (30, dt.date(2026, 3, 20))


def test_a_window_takes_its_days_and_category_and_leaves_hidden_papers_out(
    engine: Engine,
) -> None:
    ids = _papers(engine)
    with engine.begin() as conn:
        set_hidden(conn, ids["2503.00003"], NOW)
        day = window_signals(conn, since=DAY, until=DAY)
        learning = window_signals(conn, category="cs.LG")
        computing = window_signals(conn, category="cs")  # an archive takes in its classes
        neither = window_signals(conn, category="c")
    assert [s.paper_id for s in day] == [ids["2503.00002"]]
    assert [s.paper_id for s in learning] == [ids["2503.00001"]]
    assert sorted(s.paper_id for s in computing) == sorted([ids["2503.00001"], ids["2503.00002"]])
    assert neither == []
