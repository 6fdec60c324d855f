"""The digest's "Recommended for you" section, from the reader's votes on the site."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.message import EmailMessage
from typing import cast

from sqlalchemy import Engine

from paperroute.digest.build import build_digests
from paperroute.digest.recommend import digest_recommender
from paperroute.store.users import add_user
from paperroute.store.votes import vote
from tests.digest.test_build import NOW, PAPERS, SETTINGS, SITE, links, outbox, store, subscribe

EARLIER = [("2602.00001", "Diffusion editing of photographs", "Diffusion models edit images.",
            ["cs.CV"], 0)]  # fmt: skip


def _text(row: object) -> str:
    message = cast(EmailMessage, email.message_from_bytes(
        row.message, policy=email.policy.default))  # type: ignore[attr-defined]  # fmt: skip
    body = message.get_body(("plain",))
    assert body is not None
    return cast(EmailMessage, body).get_content()


def test_a_reader_with_an_account_gets_recommendations_with_reasons(engine: Engine) -> None:
    liked = store(engine, EARLIER, NOW - dt.timedelta(days=30))
    store(engine, PAPERS[:5], NOW - dt.timedelta(hours=7))
    with engine.begin() as conn:
        ada = add_user(conn, "ada@example.org", NOW - dt.timedelta(days=40))
        vote(conn, ada.id, liked["2602.00001"], NOW - dt.timedelta(days=29))
    reader = subscribe(engine, "ada@example.org", user_id=ada.id, include_trending=False,
                       categories=("cs.CL",))  # fmt: skip
    stranger = subscribe(engine, "bob@example.org", include_trending=False, categories=("cs.CL",))
    counts = build_digests(engine, None, SETTINGS, NOW, links=links, base_url=SITE,
                           recommend=digest_recommender(engine))  # fmt: skip
    assert counts.queued == 2
    mine, theirs = _text(outbox(engine)[reader][0]), _text(outbox(engine)[stranger][0])
    assert "Recommended for you" in mine and "Recommended for you" not in theirs
    section = mine.split("Recommended for you", 1)[1]
    assert "Diffusion models for image editing" in section
    assert "because you voted for “Diffusion editing of photographs”" in section
