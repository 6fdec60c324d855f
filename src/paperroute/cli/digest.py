"""`paperroute digest`: send the due digests, manage subscribers, see what went out."""

from __future__ import annotations

import dataclasses
import datetime as dt

import typer
from rich.table import Table
from sqlalchemy import Connection, Engine

from paperroute.cli.console import UserError, console, errors, open_store, progress_bar, settings
from paperroute.config import Settings
from paperroute.digest.build import BuildCounts, build_digests, preview_digest
from paperroute.digest.compose import due_period, period_key
from paperroute.digest.links import confirm_url, subscriber_links
from paperroute.digest.recommend import digest_recommender
from paperroute.digest.render import subject_for
from paperroute.digest.send import (
    PlannedDigest,
    SendPolicy,
    SendResult,
    SmtpSetupError,
    SmtpTransport,
    envelope_sender,
    plan_due,
    send_due,
)
from paperroute.index.embed import embedder_name, load_embedder
from paperroute.index.sync import IndexMissing, open_index
from paperroute.mailer import make_mailer, plain_message, valid_email
from paperroute.search.service import Ranker
from paperroute.store import outbox as outbox_store
from paperroute.store import subscribers as subscriber_store
from paperroute.store.outbox import periods_done
from paperroute.store.subscribers import Subscriber, active_subscribers
from paperroute.store.users import signing_secret

__all__ = ["app"]

app = typer.Typer(help="Send email digests and manage their subscribers.", no_args_is_help=True)

_CHUNK = 2000  # subscriber ids per IN list


def _address(email: str) -> str:
    address = valid_email(email)
    if address is None:
        raise UserError(f"{email!r} is not an email address (e.g. ada@example.org)")
    return address


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@app.command("send")
def send(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List who would get which digest; send and change nothing."
    ),
    to: str | None = typer.Option(
        None,
        "--to",
        metavar="EMAIL",
        help="Make and send only this subscriber's digest for today (or this week), now.",
    ),
    rate: float | None = typer.Option(
        None,
        min=0,
        help="At most this many mails a second (0: as fast as the server takes); "
        "default: PAPERROUTE_DIGEST_RATE, else 20.",
    ),
) -> None:
    """Make the digests that are due, then send every digest waiting in the outbox.

    Each digest is written to the outbox before it is sent, and marked sent
    the moment the SMTP server accepts it: run this from cron or from
    `paperroute worker` as often as you like, a digest goes once. --to sends
    one subscriber's digest at once, before its hour: a preview to yourself.

    Example: [bold]paperroute digest send --dry-run --to ada@example.org[/]
    """
    current, now = settings(), _now()
    with open_store(current) as engine:
        target = _active_subscriber(engine, to) if to else None
        if dry_run:
            _print_plan(_plan(engine, current, now, target))
            return
        _print_built(_build(engine, current, now, target))
        if target is not None and not _waiting(engine, now, target):
            console.print(
                f"No digest waits for {target.email}: it went already, or nothing is new."
            )
            return
        waiting = 1 if target else _waiting_count(engine)
        if not waiting:
            console.print("Nothing to send.")
            return
        try:
            with progress_bar() as progress:
                task = progress.add_task("Sending digests", total=waiting)
                result = send_due(
                    engine, SmtpTransport.from_settings(current),
                    sender=envelope_sender(current.mail_from),
                    policy=_policy(current, rate),
                    only_subscriber=target.id if target else None,
                    progress=lambda r: progress.update(task, completed=r.sent + r.failed
                                                       + r.retried + r.unsubscribed),
                )  # fmt: skip
        except SmtpSetupError as exc:
            raise UserError(str(exc)) from exc
    _print_result(result)
    if result.stopped:
        errors.print(f"[red]error:[/] {result.stopped}; the rest wait for the next run")
        raise typer.Exit(1)


def _policy(current: Settings, rate: float | None) -> SendPolicy:
    policy = SendPolicy.from_settings(current)
    return policy if rate is None else dataclasses.replace(policy, rate=rate or None)


def _active_subscriber(engine: Engine, email: str) -> Subscriber:
    address = _address(email)
    with engine.connect() as conn:
        subscriber = subscriber_store.get_subscriber_by_email(conn, address)
    if subscriber is None:
        raise UserError(f"no subscriber {address}; add one with `paperroute digest subscribe`")
    if not subscriber.active:
        state = "has unsubscribed" if subscriber.unsubscribed_at else "has not confirmed yet"
        raise UserError(f"{address} {state}: no digest goes to it")
    return subscriber


def _site(current: Settings) -> str:
    if not current.base_url:
        raise UserError(
            "digests link to the site (each paper, unsubscribe, preferences): set "
            "PAPERROUTE_BASE_URL to its public address, e.g. https://papers.example.org"
        )
    return current.base_url


def _ranker(current: Settings) -> Ranker | None:
    """The search index, for saved searches; None when none is built (they match by words)."""
    embedder = load_embedder(current.embedder)
    try:
        return Ranker(open_index(current.index_root, embedder, create=False), embedder)
    except IndexMissing:
        return None


def _waiting_count(engine: Engine) -> int:
    with engine.connect() as conn:
        periods = outbox_store.outbox_stats(conn, limit=100_000).values()
    return sum(counts.get("pending", 0) + counts.get("sending", 0) for counts in periods)


def _due(
    conn: Connection, now: dt.datetime, target: Subscriber | None
) -> list[tuple[Subscriber, str]]:
    """Whose digest is to be made now, for which period: as build_digests decides."""
    if target is not None:
        wanted = [(target, period_key(target.preferences, now))]
    else:
        wanted = [(s, p) for s in active_subscribers(conn) if (p := due_period(s.preferences, now))]
    ids: dict[str, list[int]] = {}
    for subscriber, period in wanted:
        ids.setdefault(period, []).append(subscriber.id)
    done = {
        (done_id, period)
        for period, group in ids.items()
        for start in range(0, len(group), _CHUNK)
        for done_id in periods_done(conn, period, group[start : start + _CHUNK])
    }
    return [(s, p) for s, p in wanted if (s.id, p) not in done]


def _build(
    engine: Engine, current: Settings, now: dt.datetime, target: Subscriber | None
) -> BuildCounts:
    """Write the due digests (or the target's, due or not) to the outbox."""
    with engine.begin() as conn:
        if not _due(conn, now, target):  # the index is opened only when there is work
            return BuildCounts()
        site = _site(current)
        secret = signing_secret(conn)

    def links(subscriber: Subscriber) -> tuple[str, str]:
        return subscriber_links(secret, site, subscriber.id, subscriber.email, now)

    ranker = _ranker(current)
    with progress_bar() as progress:
        task = progress.add_task("Composing digests", total=None)
        return build_digests(
            engine, ranker, current, now, links=links, base_url=site,
            subscriber_ids=[target.id] if target else None,
            period=period_key(target.preferences, now) if target else None,
            recommend=digest_recommender(engine, model=embedder_name(current.embedder)),
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )  # fmt: skip


def _waiting(engine: Engine, now: dt.datetime, target: Subscriber) -> bool:
    """Whether a digest of the target's waits to be sent."""
    with engine.connect() as conn, conn.begin() as transaction:
        planned = plan_due(conn, now, target.id)
        transaction.rollback()
    return bool(planned)


def _plan(
    engine: Engine, current: Settings, now: dt.datetime, target: Subscriber | None
) -> list[PlannedDigest]:
    """What `send` would make and send now; the claims that find them are rolled back."""
    with engine.connect() as conn:
        with conn.begin() as transaction:
            queued = plan_due(conn, now, target.id if target else None)
            transaction.rollback()
        due = _due(conn, now, target)
        new: list[PlannedDigest] = []
        ranker = _ranker(current) if due else None
        recommender = digest_recommender(engine, model=embedder_name(current.embedder))
        for subscriber, period in due:
            digest = preview_digest(conn, ranker, subscriber, now, recommend=recommender)
            subject = subject_for(digest, period) if digest else ""
            new.append(PlannedDigest(period, subscriber.email, subject, None,
                                     None if digest else "nothing new"))  # fmt: skip
    return queued + new


def _print_plan(planned: list[PlannedDigest]) -> None:
    table = Table(title="Digests due (dry run: nothing sent, nothing changed)")
    for column in ("period", "to", "subject", "action"):
        table.add_column(column)
    for plan in planned:
        action = f"skip: {plan.skip}" if plan.skip else "send"
        table.add_row(plan.period, plan.recipient, plan.subject, action)
    console.print(table)
    going = sum(1 for plan in planned if plan.skip is None)
    console.print(f"{going:,} digests would be sent, {len(planned) - going:,} skipped.")


def _print_built(counts: BuildCounts) -> None:
    if counts.due:
        console.print(
            f"Made {counts.queued:,} digests ({counts.skipped:,} had nothing new, "
            f"{counts.failed:,} could not be made)."
        )


def _print_result(result: SendResult) -> None:
    console.print(
        f"[green]{result.sent:,} sent[/] · {result.retried:,} to retry · "
        f"[red]{result.failed:,} failed[/] · {result.unsubscribed:,} skipped (unsubscribed)"
    )


@app.command("subscribe")
def subscribe(
    email: str = typer.Argument(..., help="The subscriber's email address."),
    confirmed: bool = typer.Option(
        False,
        "--confirmed",
        help="Skip the confirmation mail: only for addresses whose owner has already agreed.",
    ),
) -> None:
    """Subscribe an address to the digest (for admins).

    Without --confirmed the address gets a confirmation mail and nothing else
    until its link is clicked (double opt-in). --confirmed subscribes at once:
    use it only when the owner has told you they want the digest.

    Example: [bold]paperroute digest subscribe ada@example.org[/]
    """
    address = _address(email)
    if not address.isascii():  # as on the site: not every mail server takes such an address
        raise UserError(f"{address}: digests go only to addresses in plain ASCII")
    current, now = settings(), _now()
    with open_store(current) as engine, engine.begin() as conn:
        subscriber = subscriber_store.add_subscriber(conn, address, now)
        if subscriber.active:
            console.print(f"{address} is already subscribed.")
            return
        if confirmed:
            subscriber_store.confirm_subscriber(conn, subscriber.id, now)
            console.print(f"{address} is subscribed (confirmed by you).")
            return
        if not current.base_url:
            raise UserError(
                "the confirmation mail needs the site's address for its link: set "
                "PAPERROUTE_BASE_URL (e.g. https://papers.example.org), or use --confirmed "
                "if the owner has already agreed"
            )
        link = confirm_url(signing_secret(conn), current.base_url, subscriber.id, address, now)
    message = plain_message(
        current.mail_from, address, "Confirm your paper digest subscription",
        f"Someone (hopefully you) asked for the paper digest at this address.\n\n"
        f"To start it, open this link within three days:\n{link}\n\n"
        "If you did not ask for it, ignore this mail: nothing more will come.\n",
    )  # fmt: skip
    make_mailer(current).send(message)
    console.print(f"{address}: confirmation mail sent; the digest starts once its link is opened.")


@app.command("unsubscribe")
def unsubscribe(email: str = typer.Argument(..., help="The subscriber's email address.")) -> None:
    """Stop every digest to an address at once, including any already queued.

    Example: [bold]paperroute digest unsubscribe ada@example.org[/]
    """
    address = _address(email)
    with open_store() as engine, engine.begin() as conn:
        subscriber = subscriber_store.get_subscriber_by_email(conn, address)
        if subscriber is None:
            raise UserError(f"no subscriber {address}; `paperroute digest stats` counts them")
        left = subscriber_store.unsubscribe(conn, subscriber.id, _now())
    console.print(f"{address} is unsubscribed." if left else f"{address} had already left.")


@app.command("stats")
def stats(
    limit: int = typer.Option(14, min=1, help="How many periods to show, newest first."),
) -> None:
    """Digests per period (sent, failed, waiting, unsubscribed, empty) and subscribers.

    Example: [bold]paperroute digest stats --limit 7[/]
    """
    with open_store() as engine, engine.connect() as conn:
        periods = outbox_store.outbox_stats(conn, limit=limit)
        people = subscriber_store.count_subscribers(conn)
    table = Table(title="Digests")
    for column in ("period", "sent", "failed", "pending", "unsubscribed", "skipped (empty)"):
        table.add_column(column, justify="right")
    for period, counts in periods.items():
        waiting = counts.get("pending", 0) + counts.get("sending", 0)
        table.add_row(period, *(f"{n:,}" for n in (counts.get("sent", 0), counts.get("failed", 0),
                      waiting, counts.get("unsubscribed", 0), counts.get("skipped", 0))))  # fmt: skip
    console.print(table)
    console.print(
        f"Subscribers: {people['active']:,} active · {people['pending']:,} awaiting "
        f"confirmation · {people['unsubscribed']:,} unsubscribed"
    )
