"""Digest pages: subscribe (double opt-in), confirm, manage, unsubscribe, and the owner's preview.

Links in mails carry signed tokens (digest.links): they work without signing
in. A GET never changes anything, because mail scanners open links; the one
POST without a CSRF token is the unsubscribe link, which RFC 8058 mail clients
post to directly (the signed token is the proof).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from paperroute.digest.build import LOOKBACK, SETTLE, candidates
from paperroute.digest.compose import Digest, Pool, Recommendation, compose_digest, period_key
from paperroute.digest.links import (
    CONFIRM_TTL,
    LinkError,
    Purpose,
    confirm_url,
    link_path,
    make_token,
    subscriber_links,
    token_subscriber_id,
    verify_token,
)
from paperroute.digest.recommend import digest_recommender
from paperroute.digest.render import DigestLinks, digest_text, subject_for
from paperroute.mailer import limit_key, valid_email
from paperroute.search.query import parse_query
from paperroute.store import subscribers as subscriber_store
from paperroute.store.digest_papers import dismissed_since, papers_stored_between
from paperroute.store.subscribers import Preferences, Subscriber
from paperroute.store.users import User
from paperroute.web.auth import send_mail
from paperroute.web.deps import (
    Conn,
    CsrfChecked,
    Now,
    SignedIn,
    check_rate,
    render,
    site_secret,
)
from paperroute.web.hosts import mail_links_base

__all__ = ["DigestStatus", "PreferencesForm", "digest_status", "read_preferences", "router"]

router = APIRouter(include_in_schema=False)

IP_WINDOW, PER_IP = dt.timedelta(hours=1), 10
# No mail bombing of a victim: whoever types their address, they get at most
# this many mails from us a day.
ADDRESS_WINDOW, PER_ADDRESS = dt.timedelta(days=1), 3
MAX_CATEGORIES, MAX_SEARCHES, MAX_SEARCH_CHARS = 20, 10, 200
MIN_PAPERS, MAX_PAPERS = 5, 100
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_CATEGORY_RE = re.compile(
    r"([a-z][a-z-]{0,19})(?:\.([a-z][a-z-]{0,19}))?", re.IGNORECASE | re.ASCII
)
_ADVICE: dict[Purpose, str] = {
    "confirm": "Subscribe again to get a new confirmation link.",
    "manage": "Use the link in your latest digest, or sign in and open your account.",
    "unsubscribe": "Use the link in your latest digest, or sign in and open your account.",
}


class PreferencesForm(BaseModel):
    """The manage form as posted: text, so that each mistake gets its own message."""

    frequency: str = Field("daily", max_length=20)
    weekday: str = Field("0", max_length=20)
    send_hour: str = Field("7", max_length=20)
    timezone: str = Field("UTC", max_length=200)
    categories: str = Field("", max_length=2000)
    searches: str = Field("", max_length=5000)
    include_trending: bool = False
    include_recommendations: bool = False
    max_papers: str = Field("20", max_length=20)


@dataclass(frozen=True, slots=True)
class DigestStatus:
    """A signed-in user's digest, for their account page."""

    subscriber: Subscriber | None
    manage_path: str | None  # set only while subscribed

    @property
    def active(self) -> bool:
        return self.subscriber is not None and self.subscriber.active


def _form_of(preferences: Preferences) -> PreferencesForm:
    return PreferencesForm(
        frequency=preferences.frequency, weekday=str(preferences.weekday),
        send_hour=str(preferences.send_hour), timezone=preferences.timezone,
        categories=" ".join(preferences.categories), searches="\n".join(preferences.searches),
        include_trending=preferences.include_trending,
        include_recommendations=preferences.include_recommendations,
        max_papers=str(preferences.max_papers),
    )  # fmt: skip


@functools.cache
def _time_zones() -> dict[str, str]:
    """IANA names by their lower-case spelling (people type "europe/paris")."""
    names = zoneinfo.available_timezones() | {"UTC"}
    return {name.lower(): name for name in names}


def _number(text: str, low: int, high: int, label: str, errors: list[str]) -> int:
    value = int(text) if text.strip().isascii() and text.strip().isdigit() else -1
    if not low <= value <= high:
        errors.append(f"{label} must be a whole number from {low} to {high}, not {text[:20]!r}.")
        return low
    return value


def _category(text: str) -> str | None:
    """arXiv's spelling of a category (cs.LG, math.ST, cond-mat.stat-mech) or archive (cs)."""
    match = _CATEGORY_RE.fullmatch(text.removesuffix(".*"))
    if match is None:
        return None
    archive, subject = match[1].lower(), match[2]
    if subject is None:
        return archive
    return f"{archive}.{subject.upper() if len(subject) == 2 else subject.lower()}"


def _categories(text: str, errors: list[str]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for part in re.split(r"[\s,]+", text.strip()):
        if not part:
            continue
        category = _category(part)
        if category is None:
            errors.append(f"{part[:40]!r} is not an arXiv category: write cs.LG, math.ST or cs.")
        else:
            found.setdefault(category, None)
    if len(found) > MAX_CATEGORIES:
        errors.append(f"Follow at most {MAX_CATEGORIES} categories, not {len(found)}.")
    return tuple(found)[:MAX_CATEGORIES]


def _searches(text: str, today: dt.date, errors: list[str]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for line in text.splitlines():
        query = " ".join(line.split())
        if not query:
            continue
        if len(query) > MAX_SEARCH_CHARS:
            errors.append(f"Saved searches are at most {MAX_SEARCH_CHARS} characters: "
                          f"shorten {query[:40]!r}...")  # fmt: skip
            continue
        problems = parse_query(query, today=today).errors
        if problems:
            errors.append(f"The saved search {query!r}: {'; '.join(problems)}.")
        found.setdefault(query, None)
    if len(found) > MAX_SEARCHES:
        errors.append(f"Save at most {MAX_SEARCHES} searches, one a line, not {len(found)}.")
    return tuple(found)[:MAX_SEARCHES]


def read_preferences(form: PreferencesForm, today: dt.date) -> tuple[Preferences, list[str]]:
    """The preferences the form asks for, and what is wrong with it (nothing when empty)."""
    errors: list[str] = []
    frequency = form.frequency if form.frequency in ("daily", "weekly") else "daily"
    if form.frequency != frequency:
        errors.append("Choose a daily or a weekly digest.")
    timezone = _time_zones().get(form.timezone.strip().lower())
    if timezone is None:
        errors.append(f"{form.timezone[:64]!r} is not a time zone: write one like Europe/Paris, "
                      "America/New_York or UTC.")  # fmt: skip
    preferences = Preferences(
        frequency=frequency,
        weekday=_number(form.weekday, 0, 6, "The day of the week", errors),
        send_hour=_number(form.send_hour, 0, 23, "The hour", errors),
        timezone=timezone or "UTC",
        categories=_categories(form.categories, errors),
        searches=_searches(form.searches, today, errors),
        include_trending=form.include_trending,
        include_recommendations=form.include_recommendations,
        max_papers=_number(form.max_papers, MIN_PAPERS, MAX_PAPERS, "Papers per digest", errors),
    )
    return preferences, errors


def _linked_subscriber(
    request: Request, conn: Connection, purpose: Purpose, token: str, now: dt.datetime
) -> Subscriber:
    """The subscriber a signed link is for; a clear 400, and no change, for a bad link."""
    try:
        subscriber = subscriber_store.get_subscriber(conn, token_subscriber_id(token))
        if subscriber is None:  # a genuine link outlived its subscriber, or a forged one
            raise LinkError("This link is damaged or not valid: copy the whole link from the mail.")
        verify_token(site_secret(request, conn), purpose, token, email=subscriber.email, now=now)
    except LinkError as exc:
        raise HTTPException(400, f"{exc} {_ADVICE[purpose]} Nothing was changed.") from None
    return subscriber


def _manage_path(
    request: Request, conn: Connection, subscriber: Subscriber, now: dt.datetime
) -> str:
    secret = site_secret(request, conn)
    return link_path("manage", make_token(secret, "manage", subscriber.id, subscriber.email, now))


def _confirmation_mail(link: str) -> tuple[str, str]:
    days = CONFIRM_TTL.days
    return "Confirm your paperroute digest", (
        "Someone, we hope you, asked for the paperroute digest of new research papers "
        f"at this address. To confirm, open this link:\n\n{link}\n\n"
        f"It works for {days} days. Until you confirm, we send you nothing else.\n"
        "If you did not ask for it, ignore this mail: you will not be subscribed.\n"
    )


def _reminder_mail(manage_url: str, unsubscribe_url: str) -> tuple[str, str]:
    return "Your paperroute digest", (
        "Someone, we hope you, asked to subscribe this address to the paperroute digest. "
        "It is already subscribed, so nothing has changed.\n\n"
        f"Change what you get and when:\n{manage_url}\n\n"
        f"Unsubscribe:\n{unsubscribe_url}\n"
    )


@router.get("/digest/subscribe")
def subscribe_form(request: Request, conn: Conn) -> Response:
    return render(request, conn, "digest_subscribe.html", {"email": "", "error": None})


@router.post("/digest/subscribe", dependencies=[CsrfChecked])
def subscribe(
    request: Request, conn: Conn, now: Now, email: Annotated[str, Form(max_length=1000)]
) -> Response:
    """Send the confirmation mail; nothing else is sent until its link is followed."""
    address = valid_email(email)
    # Digests go out over plain SMTP: an address that needs SMTPUTF8 could not be delivered.
    if address is None or not address.isascii():
        context = {"email": email[:254], "error": "That does not look like an email address: "
                   "check it and try again."}  # fmt: skip
        return render(request, conn, "digest_subscribe.html", context, status=400)
    ip = request.client.host if request.client else "unknown"
    check_rate(conn, now, [(f"digest:ip:{ip}", PER_IP)], IP_WINDOW)
    check_rate(conn, now, [(f"digest:email:{limit_key(address)}", PER_ADDRESS)], ADDRESS_WINDOW)
    secret, site = site_secret(request, conn), mail_links_base(request)
    existing = subscriber_store.get_subscriber_by_email(conn, address)
    if existing is not None and existing.active:
        # The page must not tell a stranger whether an address is subscribed, so it
        # reads the same either way. The owner gets a mail with their links instead
        # of a confirmation: it goes only to their inbox, so it reveals nothing to
        # whoever typed the address, it is rate limited like any other, and it is
        # how a reader who lost every digest finds the manage page again.
        unsubscribe_url, manage_url = subscriber_links(secret, site, existing.id, address, now)
        send_mail(request, address, *_reminder_mail(manage_url, unsubscribe_url))
    else:
        subscriber = subscriber_store.add_subscriber(conn, address, now)
        conn.commit()
        link = confirm_url(secret, site, subscriber.id, address, now)
        send_mail(request, address, *_confirmation_mail(link))
    return render(request, conn, "digest_sent.html", {"email": address})


@router.get("/digest/confirm/{token}")
def confirm_form(request: Request, conn: Conn, now: Now, token: str) -> Response:
    subscriber = _linked_subscriber(request, conn, "confirm", token, now)
    return render(request, conn, "digest_confirm.html", {"token": token, "subscriber": subscriber})


@router.post("/digest/confirm/{token}", dependencies=[CsrfChecked])
def confirm(request: Request, conn: Conn, now: Now, token: str) -> Response:
    subscriber = _linked_subscriber(request, conn, "confirm", token, now)
    # A reader who left after this link was sent must subscribe again: an old
    # confirmation does not undo a newer unsubscribe.
    left = subscriber.unsubscribed_at is not None
    confirmed = not left and subscriber_store.confirm_subscriber(conn, subscriber.id, now)
    conn.commit()
    context = {"subscriber": subscriber, "confirmed": confirmed, "left": left,
               "manage_path": _manage_path(request, conn, subscriber, now)}  # fmt: skip
    return render(request, conn, "digest_confirmed.html", context)


def _manage_page(
    request: Request,
    conn: Connection,
    subscriber: Subscriber,
    token: str,
    now: dt.datetime,
    **context: object,
) -> Response:
    secret = site_secret(request, conn)
    unsubscribe = make_token(secret, "unsubscribe", subscriber.id, subscriber.email, now)
    base = {"subscriber": subscriber, "token": token, "errors": [], "saved": False,
            "form": _form_of(subscriber.preferences), "weekdays": WEEKDAYS,
            "time_zones": sorted(_time_zones().values()), "min_papers": MIN_PAPERS,
            "max_papers": MAX_PAPERS, "unsubscribe_path": link_path("unsubscribe", unsubscribe)}  # fmt: skip
    status = 400 if context.get("errors") else 200
    return render(request, conn, "digest_manage.html", base | context, status=status)


@router.get("/digest/manage/{token}")
def manage_form(
    request: Request, conn: Conn, now: Now, token: str, saved: bool = False
) -> Response:
    subscriber = _linked_subscriber(request, conn, "manage", token, now)
    return _manage_page(request, conn, subscriber, token, now, saved=saved)


@router.post("/digest/manage/{token}", dependencies=[CsrfChecked])
def manage(
    request: Request,
    conn: Conn,
    now: Now,
    token: str,
    form: Annotated[PreferencesForm, Form()],
) -> Response:
    subscriber = _linked_subscriber(request, conn, "manage", token, now)
    preferences, errors = read_preferences(form, now.date())
    if errors:
        return _manage_page(request, conn, subscriber, token, now, form=form, errors=errors)
    subscriber_store.update_preferences(conn, subscriber.id, preferences)
    conn.commit()
    return RedirectResponse(f"{link_path('manage', token)}?saved=true", status_code=303)


@router.get("/digest/unsubscribe/{token}")
def unsubscribe_form(request: Request, conn: Conn, now: Now, token: str) -> Response:
    subscriber = _linked_subscriber(request, conn, "unsubscribe", token, now)
    context = {"token": token, "subscriber": subscriber, "done": False}
    return render(request, conn, "digest_unsubscribe.html", context)


# No CsrfChecked here, on purpose: RFC 8058 mail clients POST
# "List-Unsubscribe=One-Click" to this URL with no cookies, and it must work at once.
@router.post("/digest/unsubscribe/{token}")
def unsubscribe(request: Request, conn: Conn, now: Now, token: str) -> Response:
    subscriber = _linked_subscriber(request, conn, "unsubscribe", token, now)
    subscriber_store.unsubscribe(conn, subscriber.id, now)
    conn.commit()
    context = {"token": token, "subscriber": subscriber, "done": True}
    return render(request, conn, "digest_unsubscribe.html", context)


def digest_status(request: Request, conn: Connection, user: User, now: dt.datetime) -> DigestStatus:
    """The digest of the user's address (proven by signing in), whoever created it."""
    subscriber = subscriber_store.get_subscriber_by_email(conn, user.email)
    if subscriber is None or not subscriber.active:
        return DigestStatus(subscriber, None)
    return DigestStatus(subscriber, _manage_path(request, conn, subscriber, now))


@router.get("/account/digest")
def account_digest(request: Request, conn: Conn, user: SignedIn, now: Now) -> Response:
    context = {"digest": digest_status(request, conn, user, now)}
    return render(request, conn, "digest_account.html", context)


@router.post("/account/digest", dependencies=[CsrfChecked])
def account_subscribe(conn: Conn, user: SignedIn, now: Now) -> Response:
    """Subscribe the signed-in user's own address: signing in proved it, so no mail."""
    subscriber = subscriber_store.add_subscriber(conn, user.email, now, user_id=user.id)
    subscriber_store.confirm_subscriber(conn, subscriber.id, now)
    conn.commit()
    return RedirectResponse("/account/digest", status_code=303)


def _next_digest(
    conn: Connection, subscriber: Subscriber, now: dt.datetime, model: str | None
) -> Digest | None:
    """What a digest made now would hold, from the same parts digest.build uses.

    Saved searches are left out: build.py matches them with the search index
    and exposes no way yet to do that for one subscriber without writing the
    outbox, so the page says so rather than guessing.
    """
    until = now - SETTLE
    after = max(subscriber.papers_after or until - LOOKBACK, until - LOOKBACK)
    stored = papers_stored_between(conn, after, until)
    pool = Pool(candidates(conn, stored, now.date()))
    exclude: set[int] = set()
    recommendations: Sequence[Recommendation] = ()
    if subscriber.user_id is not None:
        exclude = dismissed_since(conn, after).get(subscriber.user_id, set())
        recommendations = digest_recommender(conn.engine, conn, model)(subscriber, pool)
    return compose_digest(subscriber.preferences, pool, exclude=exclude,
                          recommendations=recommendations)  # fmt: skip


@router.get("/digest/preview")
def preview(request: Request, conn: Conn, user: SignedIn, now: Now) -> Response:
    """The owner's next digest: its sections and reasons, and the plain-text mail."""
    status = digest_status(request, conn, user, now)
    subscriber = status.subscriber
    context: dict[str, object] = {"digest": status, "next_digest": None}
    if subscriber is None or not status.active:
        return render(request, conn, "digest_preview.html", context)
    digest = _next_digest(conn, subscriber, now, request.app.state.candidates.model)
    if digest is not None:
        period = period_key(subscriber.preferences, now)
        site = mail_links_base(request)
        unsubscribe_url, manage_url = subscriber_links(
            site_secret(request, conn), site, subscriber.id, subscriber.email, now
        )
        links = DigestLinks(site, unsubscribe_url, manage_url)
        context |= {
            "next_digest": digest,
            "subject": subject_for(digest, period),
            "text": digest_text(digest, period, links, to=subscriber.email),
        }
    return render(request, conn, "digest_preview.html", context)
