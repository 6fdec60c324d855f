"""Building a period's digests into the outbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select

from paperroute.config import Settings
from paperroute.digest import build as digest_build
from paperroute.digest.build import (
    SETTLE,
    BuildCounts,
    build_digests,
    preview_digest,
    preview_digests,
)
from paperroute.digest.compose import Pool, Recommendation
from paperroute.index.sync import open_index, sync_index
from paperroute.ingest.normalize import build_paper
from paperroute.search.service import Ranker
from paperroute.store.papers import ids_for_refs, set_hidden, upsert_papers
from paperroute.store.schema import digest_outbox, subscribers
from paperroute.store.subscribers import (
    Preferences,
    Subscriber,
    add_subscriber,
    confirm_subscriber,
    get_subscriber,
    unsubscribe,
)
from paperroute.store.users import add_user
from paperroute.store.votes import dismiss, vote
from tests.support import WordHashEmbedder

CONFIRMED = dt.datetime(2026, 3, 19, 6, 0, tzinfo=dt.UTC)  # papers after 2026-03-18 06:00 are new
STORED = dt.datetime(2026, 3, 20, 1, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 20, 8, 0, tzinfo=dt.UTC)
SITE = "https://papers.example.org"
SETTINGS = Settings(mail_from="paperroute <digest@papers.example.org>")

PAPERS = [
    ("2603.00001", "Diffusion models for image editing", "Text guided diffusion edits photos.", ["cs.CV"], 40),
    ("2603.00002", "Reasoning in large language models", "Chain of thought helps models reason.", ["cs.CL"], 0),
    ("2603.00003", "Graph neural networks for molecules", "Message passing predicts properties.", ["cs.LG"], 0),
    ("2603.00004", "Editing images with diffusion and language", "Instructions guide diffusion editing.", ["cs.CV", "cs.LG"], 0),
    ("2603.00005", "Optimal transport on graphs", "Transport plans between graph signals.", ["cs.LG"], 0),
    ("2603.00006", "A hidden paper", "Spam about diffusion editing.", ["cs.LG"], 90),
]  # fmt: skip


def links(subscriber: Subscriber) -> tuple[str, str]:
    return f"{SITE}/digest/unsubscribe/{subscriber.id}", f"{SITE}/digest/manage/{subscriber.id}"


def store(
    engine: Engine, papers: Sequence[tuple[str, str, str, list[str], int]], when: dt.datetime
) -> dict[str, int]:
    batch = [
        build_paper(source="test", arxiv_id=i, title=t, abstract=a, categories=c,
                    announced=when.date(), authors=["Ada Lovelace"], upvotes=u or None)
        for i, t, a, c, u in papers
    ]  # fmt: skip
    with engine.begin() as conn:
        upsert_papers(conn, batch, when)
        return ids_for_refs(conn, [p[0] for p in papers])


def subscribe(
    engine: Engine,
    email_address: str,
    *,
    user_id: int | None = None,
    confirm: bool = True,
    **prefs: Any,
) -> int:
    with engine.begin() as conn:
        subscriber = add_subscriber(
            conn, email_address, CONFIRMED, preferences=Preferences(**prefs), user_id=user_id
        )
        if confirm:
            confirm_subscriber(conn, subscriber.id, CONFIRMED)
        return subscriber.id


def outbox(engine: Engine) -> dict[int, list[Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(digest_outbox).order_by(digest_outbox.c.id)).all()
    found: dict[int, list[Any]] = {}
    for row in rows:
        found.setdefault(row.subscriber_id, []).append(row)
    return found


def papers_after(engine: Engine) -> list[dt.datetime | None]:
    with engine.connect() as conn:
        found = [
            get_subscriber(conn, i)
            for i in conn.execute(select(subscribers.c.id).order_by(subscribers.c.id)).scalars()
        ]
    return [s.papers_after if s else None for s in found]


def paper_ids(row: Any) -> list[int]:
    return orjson.loads(row.paper_ids)


@pytest.fixture
def ids(engine: Engine) -> dict[str, int]:
    found = store(engine, PAPERS, STORED)
    with engine.begin() as conn:
        set_hidden(conn, found["2603.00006"], STORED)
    return found


@pytest.fixture
def ranker(engine: Engine, tmp_path: Path, ids: dict[str, int]) -> Ranker:
    embedder = WordHashEmbedder()
    index = open_index(tmp_path / "index", embedder)
    sync_index(engine, index, embedder)
    return Ranker(index, embedder)


def build(
    engine: Engine, ranker: Ranker | None, now: dt.datetime = NOW, **options: Any
) -> BuildCounts:
    return build_digests(engine, ranker, SETTINGS, now, links=links, base_url=SITE, **options)


def test_due_subscribers_get_one_digest_each_and_others_none(
    engine: Engine, ids: dict[str, int]
) -> None:
    due = subscribe(engine, "due@example.org", send_hour=7, categories=("cs.LG",))
    later = subscribe(engine, "later@example.org", send_hour=9, categories=("cs.LG",))
    paris = subscribe(
        engine, "paris@example.org", send_hour=9, timezone="Europe/Paris", categories=("cs.LG",)
    )
    subscribe(engine, "pending@example.org", confirm=False)
    gone = subscribe(engine, "gone@example.org")
    with engine.begin() as conn:
        unsubscribe(conn, gone, NOW)
    counts = build(engine, None)
    assert counts == BuildCounts(due=2, queued=2)
    rows = outbox(engine)
    assert set(rows) == {due, paris} and later not in rows
    row = rows[due][0]
    assert row.period == "2026-03-20" and row.status == "pending"
    assert paper_ids(row)[0] == ids["2603.00001"]  # trending first: 40 upvotes
    assert ids["2603.00006"] not in paper_ids(row)  # hidden
    message = email.message_from_bytes(row.message, policy=email.policy.default)
    assert message["Message-ID"] == row.message_id and message["To"] == "due@example.org"
    assert message["List-Unsubscribe"] == f"<{SITE}/digest/unsubscribe/{due}>"


def test_running_twice_makes_no_second_row_and_moves_papers_after(
    engine: Engine, ids: dict[str, int]
) -> None:
    sid = subscribe(engine, "reader@example.org", send_hour=7)
    assert build(engine, None).queued == 1
    assert build(engine, None) == BuildCounts()
    assert build(engine, None, NOW + dt.timedelta(hours=5)) == BuildCounts()
    assert [len(r) for r in outbox(engine).values()] == [1]
    with engine.connect() as conn:
        subscriber = get_subscriber(conn, sid)
    assert subscriber is not None and subscriber.papers_after == NOW - SETTLE
    # The next day, only papers stored since then are new.
    new = store(engine, [("2603.00009", "Sparse attention", "Fast attention.", ["cs.LG"], 5)],
                NOW + dt.timedelta(hours=12))  # fmt: skip
    counts = build(engine, None, NOW + dt.timedelta(days=1))
    assert counts.queued == 1
    rows = outbox(engine)[sid]
    assert [r.period for r in rows] == ["2026-03-20", "2026-03-21"]
    assert paper_ids(rows[1]) == [new["2603.00009"]]


def test_an_empty_digest_is_recorded_but_not_sent(engine: Engine, ids: dict[str, int]) -> None:
    sid = subscribe(
        engine, "quiet@example.org", send_hour=7, categories=("math.AG",), include_trending=False
    )
    assert build(engine, None) == BuildCounts(due=1, skipped=1)
    (row,) = outbox(engine)[sid]
    assert row.status == "skipped" and row.message is None and paper_ids(row) == []
    with engine.connect() as conn:
        subscriber = get_subscriber(conn, sid)
    assert subscriber is not None and subscriber.papers_after == NOW - SETTLE


def test_papers_the_reader_dismissed_are_left_out(engine: Engine, ids: dict[str, int]) -> None:
    with engine.begin() as conn:
        user = add_user(conn, "reader@example.org", CONFIRMED)
        dismiss(conn, user.id, ids["2603.00003"], NOW)
        vote(conn, user.id, ids["2603.00005"], NOW)
    sid = subscribe(
        engine, "reader@example.org", user_id=user.id, send_hour=7, categories=("cs.LG",)
    )
    build(engine, None)
    (row,) = outbox(engine)[sid]
    assert ids["2603.00003"] not in paper_ids(row)
    assert paper_ids(row)[:2] == [ids["2603.00001"], ids["2603.00005"]]  # 40 upvotes, then 1 vote


@pytest.mark.parametrize("indexed", [True, False])
def test_saved_searches_match_new_papers_with_or_without_the_index(
    engine: Engine, ranker: Ranker, ids: dict[str, int], indexed: bool
) -> None:
    sid = subscribe(engine, "searcher@example.org", send_hour=7, include_trending=False,
                    searches=("diffusion editing", "optimal transport", "no such words"))  # fmt: skip
    build(engine, ranker if indexed else None)
    (row,) = outbox(engine)[sid]
    found = paper_ids(row)
    # Both diffusion papers say "diffusion" and "edit"; the hidden one never shows.
    assert set(found[:2]) == {ids["2603.00001"], ids["2603.00004"]}
    assert found[2:] == [ids["2603.00005"]]
    body = email.message_from_bytes(row.message, policy=email.policy.default).get_body(("plain",))
    assert (
        body is not None
        and "matches your search \u2018optimal transport\u2019" in body.get_content()
    )


def test_a_forced_period_builds_for_the_chosen_subscribers(
    engine: Engine, ids: dict[str, int]
) -> None:
    first = subscribe(engine, "one@example.org", send_hour=23)
    subscribe(engine, "two@example.org", send_hour=23)
    counts = build(engine, None, subscriber_ids=[first], period="2026-03-20")
    assert counts == BuildCounts(due=1, queued=1) and set(outbox(engine)) == {first}


def test_a_crash_mid_run_loses_nothing_and_doubles_nothing(
    engine: Engine, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digest_build, "WRITE_BATCH", 2)
    everyone = [subscribe(engine, f"r{i}@example.org", send_hour=7) for i in range(5)]
    calls = 0

    def dying_links(subscriber: Subscriber) -> tuple[str, str]:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise RuntimeError("the process dies here")
        return links(subscriber)

    with pytest.raises(RuntimeError):
        build_digests(engine, None, SETTINGS, NOW, links=dying_links, base_url=SITE)
    assert sorted(outbox(engine)) == everyone[:2]  # the first transaction was committed
    assert papers_after(engine) == [NOW - SETTLE] * 2 + [CONFIRMED - dt.timedelta(days=1)] * 3
    assert build(engine, None) == BuildCounts(due=3, queued=3)
    assert {sid: len(rows) for sid, rows in outbox(engine).items()} == dict.fromkeys(everyone, 1)


def test_a_crash_inside_the_write_leaves_no_row_and_no_moved_papers_after(
    engine: Engine, ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    everyone = [subscribe(engine, f"r{i}@example.org", send_hour=7) for i in range(3)]
    real = digest_build.enqueue_digest
    calls = 0

    def dying_enqueue(*args: Any, **kwargs: Any) -> bool:
        nonlocal calls
        calls += 1
        added = real(*args, **kwargs)
        if calls == 2:
            raise RuntimeError("the process dies after the second insert")
        return added

    monkeypatch.setattr(digest_build, "enqueue_digest", dying_enqueue)
    with pytest.raises(RuntimeError):
        build(engine, None)
    assert outbox(engine) == {}
    assert papers_after(engine) == [CONFIRMED - dt.timedelta(days=1)] * 3
    monkeypatch.setattr(digest_build, "enqueue_digest", real)
    assert build(engine, None) == BuildCounts(due=3, queued=3)
    assert sorted(outbox(engine)) == everyone


def test_a_digest_that_cannot_be_mailed_is_counted_and_the_rest_go_on(
    engine: Engine, ids: dict[str, int]
) -> None:
    good = subscribe(engine, "good@example.org", send_hour=7)
    bad = subscribe(engine, "bad@example.org", send_hour=7)

    def broken_links(subscriber: Subscriber) -> tuple[str, str]:
        url, manage = links(subscriber)
        return (url + "\r\nBcc: x@example.org" if subscriber.id == bad else url), manage

    counts = build_digests(engine, None, SETTINGS, NOW, links=broken_links, base_url=SITE)
    assert counts == BuildCounts(due=2, queued=1, failed=1) and set(outbox(engine)) == {good}


def test_recommendations_and_the_preview_use_the_same_parts(
    engine: Engine, ranker: Ranker, ids: dict[str, int]
) -> None:
    sid = subscribe(engine, "fan@example.org", send_hour=7, include_trending=False, categories=("math.AG",),
                    searches=("graph molecules",))  # fmt: skip

    def recommend(subscriber: Subscriber, pool: Pool) -> list[Recommendation]:
        return [Recommendation(ids["2603.00002"], "because you read about reasoning")]

    with engine.connect() as conn:
        subscriber = get_subscriber(conn, sid)
        assert subscriber is not None
        digest = preview_digest(conn, ranker, subscriber, NOW, recommend=recommend)
    assert digest is not None
    assert [(s.kind, [i.paper_id for i in s.items]) for s in digest.sections] == [
        ("search", [ids["2603.00003"]]), ("recommended", [ids["2603.00002"]]),
    ]  # fmt: skip
    with engine.connect() as conn:
        other = get_subscriber(conn, subscribe(engine, "other@example.org", categories=("cs.CL",)))
        assert other is not None
        both = preview_digests(conn, ranker, [subscriber, other], NOW, recommend=recommend)
    assert both[sid] == digest and both[other.id] is not None
    assert outbox(engine) == {}  # a preview writes nothing
    build(engine, ranker, recommend=recommend)
    assert paper_ids(outbox(engine)[sid][0]) == digest.paper_ids
