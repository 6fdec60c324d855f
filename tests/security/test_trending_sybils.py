"""Trending counts people, not accounts or User-Agents.

With plus-tags one inbox makes many accounts (`me+1@`, `me+2@`, ...), and each
voted and saved as a reader of its own. Accounts made in the same hour from
one network (an IPv4 /24, an IPv6 /64) now count as one. And 200 page views
with a new User-Agent each counted 201 views: the browser's name is no
longer part of who a visitor is.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from paperroute.rank.trending import trending_page
from paperroute.store.collections import add_paper, create_collection
from paperroute.store.papers import ids_for_refs
from paperroute.store.schema import users
from paperroute.store.signals import PaperSignals, signals_for
from paperroute.store.users import add_user, get_user_by_email
from paperroute.store.votes import vote
from paperroute.web.views import ViewRecorder
from tests.security.conftest import Site

PAPER = "2503.00003"


def _browser(site: Site, address: str) -> Site:
    """The same site as seen from another client address, with its own cookies."""
    client = TestClient(site.client.app, base_url="http://testserver", client=(address, 50000))
    return Site(client, site.mailbox, site.clock, site.engine)


def _sign_up(site: Site, address: str, email: str) -> None:
    """Make an account through the real sign-in link, from `address`."""
    _browser(site, address).sign_in(email)


def _favour(site: Site, emails: list[str], ref: str = PAPER) -> None:
    """Each account votes for the paper and saves it."""
    with site.engine.begin() as conn:
        paper_id = ids_for_refs(conn, [ref])[ref]
        for email in emails:
            user = get_user_by_email(conn, email)
            assert user is not None, email
            vote(conn, user.id, paper_id, site.clock())
            collection = create_collection(conn, user.id, "mine", site.clock())
            add_paper(conn, collection.id, paper_id, site.clock())


def _signals(site: Site, ref: str = PAPER) -> PaperSignals:
    with site.engine.connect() as conn:
        paper_id = ids_for_refs(conn, [ref])[ref]
        return signals_for(conn, [paper_id])[paper_id]


def test_plus_tag_accounts_from_one_network_vote_and_save_as_one(site: Site) -> None:
    sybils = [f"me+{n}@example.org" for n in range(5)]
    for n, email in enumerate(sybils):  # addresses change within the /24: the same network
        site.clock.advance(minutes=5)
        _sign_up(site, f"203.0.113.{10 + n}", email)
    _favour(site, sybils)
    assert (_signals(site).votes, _signals(site).saves) == (1, 1)

    _sign_up(site, "198.51.100.20", "someone@example.org")  # another network: another reader
    _sign_up(site, "2001:db8:1:2::5", "v6@example.org")
    _favour(site, ["someone@example.org", "v6@example.org"])
    assert (_signals(site).votes, _signals(site).saves) == (3, 3)

    site.clock.advance(hours=2)  # a later hour from the first network: a reader of its own
    _sign_up(site, "203.0.113.99", "later@example.org")
    _favour(site, ["later@example.org"])
    with site.engine.begin() as conn:  # made on the command line: no network, its own reader
        add_user(conn, "cli@example.org", site.clock())
    _favour(site, ["cli@example.org"])
    assert (_signals(site).votes, _signals(site).saves) == (5, 5)


def test_an_existing_account_keeps_the_network_it_was_made_from(site: Site) -> None:
    _sign_up(site, "203.0.113.10", "reader@example.org")
    with site.engine.connect() as conn:
        first = conn.execute(select(users.c.signup_network, users.c.signup_group)).one()
    site.clock.advance(hours=5)
    _sign_up(site, "198.51.100.20", "reader@example.org")  # signing in again changes nothing
    with site.engine.connect() as conn:
        again = conn.execute(select(users.c.signup_network, users.c.signup_group)).one()
    assert again == first
    network, group = first
    assert re.fullmatch("[0-9a-f]{32}", network) and re.fullmatch("[0-9a-f]{32}", group)
    assert "203.0.113" not in network + group  # a keyed hash, never the address


def test_a_plus_tag_flood_does_not_outrank_two_real_readers(site: Site) -> None:
    sybils = [f"me+{n}@example.org" for n in range(8)]
    for n, email in enumerate(sybils):  # spaced out: five sign-in mails an inbox in 15 minutes
        site.clock.advance(minutes=4)
        _sign_up(site, f"203.0.113.{n + 1}", email)
    _favour(site, sybils, "2503.00003")
    _sign_up(site, "198.51.100.1", "alice@example.org")
    _sign_up(site, "192.0.2.1", "bob@example.org")
    _favour(site, ["alice@example.org", "bob@example.org"], "2503.00004")  # same day as 3
    with site.engine.connect() as conn:
        page, scores = trending_page(conn, site.clock().date(), since=site.clock().date())
    order = [paper.key for paper in page.papers]
    assert order.index("2503.00004") < order.index("2503.00003"), scores


def _views(site: Site) -> int:
    recorder: ViewRecorder = site.client.app.state.views  # type: ignore[attr-defined]
    recorder.flush()
    return _signals(site).views


def test_changing_the_user_agent_makes_no_new_visitor(site: Site) -> None:
    for n in range(200):
        agent = f"Mozilla/5.0 (X11; Linux x86_64; rv:{n}.0) Gecko/20100101 Firefox/{n}.0"
        assert site.client.get(f"/papers/{PAPER}", headers={"user-agent": agent}).status_code == 200
    assert _views(site) == 1
    for host in range(1, 6):  # addresses of one IPv6 /64: one customer
        client = _browser(site, f"2001:db8:aa:bb::{host}").client
        client.get(f"/papers/{PAPER}", headers={"user-agent": f"Mozilla/5.0 {host}"})
    assert _views(site) == 2
    _browser(site, "198.51.100.30").client.get(
        f"/papers/{PAPER}", headers={"user-agent": "Mozilla/5.0"}
    )
    assert _views(site) == 3  # another address is another visitor


def test_the_rule_is_on_the_about_page(site: Site) -> None:
    page = site.client.get("/about/trending")
    assert page.status_code == 200
    assert "same hour from one network" in page.text and "IPv6 /64" in page.text
