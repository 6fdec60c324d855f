"""`paperroute digest`: send (and its dry run), subscribe, unsubscribe, stats."""

from __future__ import annotations

import datetime as dt
import email.policy
import re
from email.message import EmailMessage

import pytest
from sqlalchemy import Engine

from paperroute.digest.compose import period_key
from paperroute.digest.links import verify_token
from paperroute.ingest.normalize import build_paper
from paperroute.store import outbox
from paperroute.store.papers import upsert_papers
from paperroute.store.subscribers import (
    Preferences,
    add_subscriber,
    confirm_subscriber,
    get_subscriber_by_email,
    unsubscribe,
)
from paperroute.store.users import signing_secret
from tests.cli.conftest import Invoke, run_cli
from tests.digest.test_send import PERIOD, SENDER, Mailbox, queue_digests, smtp_server
from tests.support import free_port

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
READERS = ["ada@example.org", "grace@example.org", "left@example.org"]


def smtp_env(port: int) -> dict[str, str]:
    return {
        "PAPERROUTE_SMTP_HOST": "127.0.0.1",
        "PAPERROUTE_SMTP_PORT": str(port),
        "PAPERROUTE_SMTP_SECURITY": "none",
        "PAPERROUTE_MAIL_FROM": f"paperroute <{SENDER}>",
        "PAPERROUTE_BASE_URL": "https://papers.example.org",
    }


@SQLITE_ONLY
def test_every_digest_command_has_help_with_an_example(invoke: Invoke) -> None:
    for command in ("send", "subscribe", "unsubscribe", "stats"):
        assert "Example:" in invoke("digest", command, "--help").output, command


def new_papers_and_readers(engine: Engine) -> dt.datetime:
    """Three papers stored an hour ago; two readers due now, one not before 23:00, one gone."""
    now = dt.datetime.now(dt.UTC)
    batch = [
        build_paper(source="test", arxiv_id=f"2603.0000{n}", title=title, abstract=title + ".",
                    categories=["cs.LG"], announced=now.date(), authors=["Ada Lovelace"])
        for n, title in enumerate(["Graph transformers", "Sparse attention", "Optimal transport"])
    ]  # fmt: skip
    with engine.begin() as conn:
        upsert_papers(conn, batch, now - dt.timedelta(hours=1))
        # 23:00 where it is now before noon: "late" is never due while the test runs.
        late_zone = "Etc/GMT+12" if now.hour >= 12 else "UTC"
        for address, hour, zone in [*((a, 0, "UTC") for a in READERS),
                                    ("late@example.org", 23, late_zone)]:  # fmt: skip
            preferences = Preferences(send_hour=hour, timezone=zone)
            sub = add_subscriber(conn, address, now - dt.timedelta(days=1), preferences=preferences)
            confirm_subscriber(conn, sub.id, now - dt.timedelta(days=1))
        left = get_subscriber_by_email(conn, "left@example.org")
        assert left is not None
        unsubscribe(conn, left.id, now)
    return now


def test_a_dry_run_lists_what_would_go_and_changes_nothing(invoke: Invoke, engine: Engine) -> None:
    queue_digests(engine, ["queued@example.org"])
    invoke("digest", "unsubscribe", "queued@example.org")  # after its digest was made
    now = new_papers_and_readers(engine)
    out = invoke("digest", "send", "--dry-run").output
    today = period_key(Preferences(), now)
    queued = rf"{PERIOD}\s*│\s*queued@example\.org\s*│\s*Your papers for {PERIOD}\s*│\s*skip: unsub"
    assert re.search(queued, out), out
    for reader in READERS[:2]:
        assert re.search(rf"{today}\s*│\s*{reader}\s*│[^│]*: 3 papers for [^│]*│\s*send", out)
    assert "late@example.org" not in out and "left@example.org" not in out
    assert "2 digests would be sent, 1 skipped" in out
    with engine.connect() as conn:
        assert outbox.outbox_stats(conn) == {PERIOD: {"pending": 1}}
    alone = invoke("digest", "send", "--dry-run", "--to", "late@example.org").output
    assert "late@example.org" in alone and "ada@example.org" not in alone


def test_send_makes_the_due_digests_and_delivers_them_once(invoke: Invoke, engine: Engine) -> None:
    now = new_papers_and_readers(engine)
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        out = invoke("digest", "send", env=smtp_env(port)).output
        again = invoke("digest", "send", env=smtp_env(port)).output
    assert "Made 2 digests" in out and "2 sent" in out
    assert again == "Nothing to send.\n"
    assert sorted(mailbox.recipients()) == READERS[:2]
    with engine.connect() as conn:
        sent = [outbox.get_outbox_row(conn, n) for n in (1, 2)]
    assert {r.message_id for r in mailbox.received} == {r.message_id for r in sent if r}
    parsed = email.message_from_bytes(mailbox.received[0].content, policy=email.policy.default)
    assert ": 3 papers for " in str(parsed["Subject"]) and parsed["List-Unsubscribe"]
    today = period_key(Preferences(), now)
    stats = invoke("digest", "stats").output
    assert re.search(rf"{today}\s*│\s*2\s*│\s*0\s*│\s*0\s*│\s*0", stats), stats
    assert "3 active · 0 awaiting confirmation · 1 unsubscribed" in stats


def test_to_sends_one_readers_digest_now(invoke: Invoke, engine: Engine) -> None:
    new_papers_and_readers(engine)
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        env = smtp_env(port)
        out = invoke("digest", "send", "--to", "late@example.org", env=env).output
        assert "Made 1 digests" in out and "1 sent" in out
        assert mailbox.recipients() == ["late@example.org"]
        again = invoke("digest", "send", "--to", "late@example.org", env=env).output
        assert "No digest waits for late@example.org" in again
        gone = invoke("digest", "send", "--to", "left@example.org", env=env, expect=1).output
        assert "left@example.org has unsubscribed" in gone
        # Digests queued for others wait: --to sends only its reader's.
        queue_digests(engine, ["queued@example.org"])
        alone = invoke("digest", "send", "--to", "ada@example.org", env=env).output
        assert "Made 1 digests" in alone and "1 sent" in alone
    assert mailbox.recipients() == ["late@example.org", "ada@example.org"]
    with engine.connect() as conn:
        assert outbox.outbox_stats(conn)[PERIOD] == {"pending": 1}


@SQLITE_ONLY
def test_send_says_in_one_line_what_is_wrong(
    invoke: Invoke, cli_env: dict[str, str], engine: Engine
) -> None:
    now = new_papers_and_readers(engine)
    site = {"PAPERROUTE_BASE_URL": "https://papers.example.org"}
    assert "set PAPERROUTE_BASE_URL" in invoke("digest", "send", expect=1).output
    unset = invoke("digest", "send", env=site, expect=1).output
    assert "no SMTP server is configured: set PAPERROUTE_SMTP_HOST" in unset
    down = run_cli("digest", "send", env=cli_env | smtp_env(free_port()))
    assert down.returncode == 1 and "Traceback" not in down.stderr
    assert "cannot connect to the SMTP server 127.0.0.1" in down.stderr
    assert "the rest wait for the next run" in down.stderr
    with engine.connect() as conn:
        assert outbox.outbox_stats(conn)[period_key(Preferences(), now)] == {"pending": 2}


def test_an_admin_subscribes_with_consent_or_by_confirmation_mail(
    invoke: Invoke, engine: Engine
) -> None:
    invoke("digest", "subscribe", "--confirmed", "Ada@Example.org")
    assert "already subscribed" in invoke("digest", "subscribe", "ada@example.org").output
    no_site = invoke("digest", "subscribe", "grace@example.org", expect=1).output
    assert "set PAPERROUTE_BASE_URL" in no_site
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        out = invoke("digest", "subscribe", "grace@example.org", env=smtp_env(port)).output
    assert "confirmation mail sent" in out
    (mail,) = mailbox.received
    parsed = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage) and mail.recipient == "grace@example.org"
    body = parsed.get_body(("plain",))
    assert body is not None
    token = re.search(r"https://papers\.example\.org/digest/confirm/(\S+)", body.get_content())
    assert token is not None
    with engine.begin() as conn:
        grace = get_subscriber_by_email(conn, "grace@example.org")
        assert grace is not None and not grace.active
        now = dt.datetime.now(dt.UTC)
        secret = signing_secret(conn)
    assert verify_token(secret, "confirm", token[1], email=grace.email, now=now) == grace.id
    assert "1 active · 1 awaiting confirmation" in invoke("digest", "stats").output


@SQLITE_ONLY
def test_with_nobody_to_mail_send_needs_no_mail_settings(invoke: Invoke) -> None:
    assert "Nothing to send." in invoke("digest", "send").output  # the worker runs it by default
    invoke("digest", "subscribe", "--confirmed", "ada@example.org")
    invoke("digest", "unsubscribe", "ada@example.org")
    assert "Nothing to send." in invoke("digest", "send").output


def test_unsubscribe_and_bad_addresses(invoke: Invoke) -> None:
    invoke("digest", "subscribe", "--confirmed", "ada@example.org")
    assert (
        "ada@example.org is unsubscribed"
        in invoke("digest", "unsubscribe", "ada@example.org").output
    )
    assert "had already left" in invoke("digest", "unsubscribe", "ada@example.org").output
    assert (
        "no subscriber nobody@example.org"
        in invoke("digest", "unsubscribe", "nobody@example.org", expect=1).output
    )
    bad = invoke("digest", "subscribe", "ada@example.org\nBcc: x@y.org", expect=1).output
    assert "is not an email address" in bad
