"""Digest pages: double opt-in by mail, managing without signing in, one-click unsubscribe."""

from __future__ import annotations

import datetime as dt
import re
from email.message import EmailMessage

from paperroute.digest.links import make_token, subscriber_links
from paperroute.store.papers import upsert_papers
from paperroute.store.subscribers import Subscriber, get_subscriber_by_email
from paperroute.store.users import signing_secret
from tests.web.conftest import NOW, Site, make_paper

ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


def _subscribe(site: Site, email: str) -> int:
    page = site.client.post("/digest/subscribe", data={"email": email, "csrf": site.csrf()})
    return page.status_code


def _mails_to(site: Site, to: str) -> list[EmailMessage]:
    return [m for m in site.mailbox.messages if m["To"] == to]


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()


def _path_in(text: str, kind: str) -> str:
    """The site path of the first `kind` link in a mail or page."""
    found = re.search(rf"(?:https?://[^/\s]+)?(/digest/{kind}/[A-Za-z0-9._-]+)", text)
    assert found, text
    return found.group(1)


def _subscriber(site: Site, email: str) -> Subscriber:
    with site.engine.connect() as conn:
        found = get_subscriber_by_email(conn, email)
    assert found is not None
    return found


def _secret(site: Site) -> str:
    with site.engine.begin() as conn:
        return signing_secret(conn)


def _confirmed(site: Site, email: str) -> str:
    """Subscribe and confirm through the mail; the manage page's path."""
    assert _subscribe(site, email) == 200
    path = _path_in(_text(_mails_to(site, email)[-1]), "confirm")
    done = site.client.post(path, data={"csrf": site.csrf(path)})
    assert done.status_code == 200 and "You are subscribed" in done.text
    return _path_in(done.text, "manage")


def test_subscribe_confirm_manage_and_one_click_unsubscribe(site: Site) -> None:
    assert _subscribe(site, "Reader@Example.org") == 200
    [mail] = site.mailbox.messages  # the confirmation and nothing else
    assert mail["To"] == "reader@example.org" and "Confirm" in mail["Subject"]
    link = re.search(r"https?://\S+", _text(mail))
    assert link and link.group(0).startswith("http://testserver/digest/confirm/")
    path = _path_in(_text(mail), "confirm")
    for _ in range(2):  # a mail scanner opening the link changes nothing
        assert "Yes, subscribe me" in site.client.get(path).text
    assert not _subscriber(site, "reader@example.org").active

    done = site.client.post(path, data={"csrf": site.csrf(path)})
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert _subscriber(site, "reader@example.org").active
    again = site.client.post(path, data={"csrf": site.csrf(path)})
    assert "Already confirmed" in again.text

    manage = _path_in(done.text, "manage")
    site.client.cookies.clear()  # the manage link works without signing in
    form = {"csrf": site.csrf(manage), "frequency": "weekly", "weekday": "4", "send_hour": "18",
            "timezone": "europe/paris", "categories": "cs.lg, math.ST  cs",
            "searches": "diffusion editing\n\n  author:hinton   cat:cs.LG \n",
            "include_recommendations": "true", "max_papers": "30"}  # fmt: skip
    saved = site.client.post(manage, data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert "Saved." in site.client.get(saved.headers["location"]).text
    prefs = _subscriber(site, "reader@example.org").preferences
    assert (prefs.frequency, prefs.weekday, prefs.send_hour) == ("weekly", 4, 18)
    assert prefs.timezone == "Europe/Paris" and prefs.categories == ("cs.LG", "math.ST", "cs")
    assert prefs.searches == ("diffusion editing", "author:hinton cat:cs.LG")
    assert not prefs.include_trending and prefs.include_recommendations
    assert prefs.max_papers == 30

    # What the digest renderer puts in List-Unsubscribe, posted as RFC 8058 says.
    subscriber = _subscriber(site, "reader@example.org")
    unsubscribe_url, _ = subscriber_links(
        _secret(site), "http://testserver", subscriber.id, subscriber.email, site.clock()
    )
    site.client.cookies.clear()
    out = site.client.post(
        unsubscribe_url, content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK
    )
    assert out.status_code == 200 and "You are unsubscribed" in out.text
    assert not _subscriber(site, "reader@example.org").active
    assert len(site.mailbox.messages) == 1


def test_the_manage_page_unsubscribe_button_and_an_old_confirm_link(site: Site) -> None:
    manage = _confirmed(site, "leaver@example.org")
    page = site.client.get(manage).text
    unsubscribe = _path_in(page, "unsubscribe")
    assert "Unsubscribe" in site.client.get(unsubscribe).text
    assert _subscriber(site, "leaver@example.org").active  # opening the link is not enough
    assert "You are unsubscribed" in site.client.post(unsubscribe).text
    assert not _subscriber(site, "leaver@example.org").active
    # The confirmation link is still young, but it must not undo the unsubscribe.
    confirm = _path_in(_text(_mails_to(site, "leaver@example.org")[0]), "confirm")
    left = site.client.post(confirm, data={"csrf": site.csrf(confirm)})
    assert "was unsubscribed" in left.text
    assert not _subscriber(site, "leaver@example.org").active
    # Subscribing again takes a new confirmation.
    assert _subscribe(site, "leaver@example.org") == 200
    assert not _subscriber(site, "leaver@example.org").active
    fresh = _path_in(_text(_mails_to(site, "leaver@example.org")[-1]), "confirm")
    site.client.post(fresh, data={"csrf": site.csrf(fresh)})
    assert _subscriber(site, "leaver@example.org").active


def test_an_active_address_is_not_revealed(site: Site) -> None:
    _confirmed(site, "known@example.org")
    known = site.client.post(
        "/digest/subscribe", data={"email": "known@example.org", "csrf": site.csrf()}
    )
    new = site.client.post(
        "/digest/subscribe", data={"email": "new@example.org", "csrf": site.csrf()}
    )
    assert known.status_code == new.status_code == 200
    assert known.text.replace("known@", "new@") == new.text
    reminder = _mails_to(site, "known@example.org")[-1]
    assert "already subscribed" in _text(reminder)
    assert site.client.get(_path_in(_text(reminder), "manage")).status_code == 200
    assert "/digest/confirm/" not in _text(reminder)


def test_tampered_and_expired_links_change_nothing(site: Site) -> None:
    assert _subscribe(site, "late@example.org") == 200
    confirm = _path_in(_text(_mails_to(site, "late@example.org")[0]), "confirm")
    csrf = site.csrf()
    sid, expires, mac = confirm.rsplit("/", 1)[1].split(".")
    forged = [
        f"/digest/confirm/{sid}.{int(expires) + 86400}.{mac}",
        f"/digest/confirm/{int(sid) + 1}.{expires}.{mac}",
        f"/digest/confirm/{sid}.{expires}.{mac[::-1]}",
        "/digest/confirm/not-a-token",
        f"/digest/manage/{sid}.{expires}.{mac}",  # a confirm token is no manage token
    ]
    for path in forged:
        page = site.client.post(path, data={"csrf": csrf})
        assert page.status_code == 400 and "damaged or not valid" in page.text, path
        assert site.client.get(path).status_code == 400
    site.clock.advance(days=3, seconds=1)
    expired = site.client.post(confirm, data={"csrf": csrf})
    assert expired.status_code == 400 and "expired" in expired.text
    assert "Subscribe again" in expired.text and "Nothing was changed" in expired.text
    assert _subscriber(site, "late@example.org").confirmed_at is None

    manage = _confirmed(site, "kept@example.org")
    subscriber = _subscriber(site, "kept@example.org")
    unsubscribe = make_token(_secret(site), "unsubscribe", subscriber.id, subscriber.email, NOW)
    site.client.cookies.clear()
    bad = site.client.post(
        f"/digest/unsubscribe/{unsubscribe[:-2]}xx", content=b"List-Unsubscribe=One-Click",
        headers=ONE_CLICK,
    )  # fmt: skip
    assert bad.status_code == 400 and _subscriber(site, "kept@example.org").active
    site.clock.advance(days=366)
    assert site.client.get(manage).status_code == 400  # manage links last a year
    years = site.client.post(f"/digest/unsubscribe/{unsubscribe}", headers=ONE_CLICK)
    assert years.status_code == 200  # unsubscribe links never expire
    assert not _subscriber(site, "kept@example.org").active


def test_bad_addresses_and_header_injection_are_refused(site: Site) -> None:
    for bad in [
        "not-an-email",
        "a@b",
        "x" * 300 + "@b.org",
        "a@b.org\r\nBcc: victim@c.org",
        "a@b.org\nSubject: hello",
        "victim@c.org, other@d.org",
        "<a@b.org>",
        "ünï@b.org",
    ]:
        page = site.client.post("/digest/subscribe", data={"email": bad, "csrf": site.csrf()})
        assert page.status_code == 400 and "does not look like an email address" in page.text
    too_long = site.client.post(
        "/digest/subscribe", data={"email": "a" * 2000, "csrf": site.csrf()}
    )
    assert too_long.status_code == 400
    assert site.client.post("/digest/subscribe", data={"email": "a@b.org"}).status_code == 403
    assert site.mailbox.messages == []


def test_floods_are_rate_limited_per_address_and_per_ip(site: Site) -> None:
    statuses = [_subscribe(site, "victim@example.org") for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert len(_mails_to(site, "victim@example.org")) == 3
    others = [_subscribe(site, f"someone{n}@example.org") for n in range(8)]
    assert others == [200] * 5 + [429] * 3  # ten an hour from one address, all told
    site.clock.advance(hours=1, seconds=1)
    assert _subscribe(site, "someone9@example.org") == 200
    assert _subscribe(site, "victim@example.org") == 429  # still the same day for the victim
    site.clock.advance(days=1)
    assert _subscribe(site, "victim@example.org") == 200


def test_preferences_are_checked_and_nothing_is_saved_on_a_mistake(site: Site) -> None:
    manage = _confirmed(site, "picky@example.org")
    form = {"csrf": site.csrf(manage), "frequency": "hourly", "weekday": "9", "send_hour": "x",
            "timezone": "Mars/Olympus_Mons", "categories": "cs.LG, not_a/category",
            "searches": "\n".join(f"search {n}" for n in range(11)) + "\n" + "w" * 201,
            "max_papers": "1000"}  # fmt: skip
    page = site.client.post(manage, data=form)
    assert page.status_code == 400 and "Nothing was saved" in page.text
    for message in [
        "daily or a weekly",
        "day of the week must be",
        "hour must be",
        "not a time zone",
        "not an arXiv category",
        "at most 10 searches",
        "at most 200 characters",
        "from 5 to 100",
    ]:
        assert message in page.text, message
    assert 'value="Mars/Olympus_Mons"' in page.text  # the form keeps what was typed
    assert _subscriber(site, "picky@example.org").preferences.max_papers == 20


def test_a_signed_in_reader_subscribes_from_the_account_and_previews(site: Site) -> None:
    site.sign_in("member@example.org")
    sent = len(site.mailbox.messages)
    account = site.client.get("/account")
    assert "Email digest" in account.text and "/account/digest" in account.text
    page = site.client.get("/account/digest")
    assert "Subscribe with member@example.org" in page.text
    assert "do not get" in site.client.get("/digest/preview").text
    done = site.client.post(
        "/account/digest", data={"csrf": site.csrf("/account/digest")}, follow_redirects=False
    )
    assert done.status_code == 303
    assert _subscriber(site, "member@example.org").active
    assert len(site.mailbox.messages) == sent  # signing in proved the address: no mail
    page = site.client.get("/account/digest")
    manage = _path_in(page.text, "manage")
    assert site.client.get(manage).status_code == 200
    assert "Nothing new since your last digest" in site.client.get("/digest/preview").text
    with site.engine.begin() as conn:  # papers that came in after subscribing
        upsert_papers(
            conn,
            [
                make_paper(5, "2026-03-21", ["cs.LG"], upvotes=3),
                make_paper(6, "2026-03-21", ["cs.AI"]),
            ],
            site.clock() + dt.timedelta(hours=1),
        )
    site.clock.advance(hours=2)
    preview = site.client.get("/digest/preview")
    assert preview.status_code == 200 and "paperroute: 2 papers for" in preview.text
    assert "Paper number 5" in preview.text and "Paper number 6" in preview.text
    assert "trending: 3 upvotes elsewhere" in preview.text
    assert "/digest/unsubscribe/" in preview.text  # the plain-text mail, links and all
    site.client.cookies.clear()
    assert site.client.get("/digest/preview", follow_redirects=False).status_code == 303


def test_a_mail_server_that_is_down_gets_a_clear_page(site: Site) -> None:
    class Down:
        def send(self, message: EmailMessage) -> None:
            raise ConnectionRefusedError("mail server down")

    site.client.app.state.mailer = Down()  # type: ignore[attr-defined]
    page = site.client.post(
        "/digest/subscribe", data={"email": "a@example.org", "csrf": site.csrf()}
    )
    assert page.status_code == 503 and "could not send the mail" in page.text
