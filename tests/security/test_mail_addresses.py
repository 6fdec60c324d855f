"""Finding 2: only plain addresses are mailed, one inbox is one bucket for the limits, and
To: is written from the checked address alone."""

from __future__ import annotations

import pytest

from paperroute.mailer import limit_key, plain_message, valid_email
from tests.web.conftest import Site

ENCODED = [
    "=?utf-8?q?victim2?=@example.com",
    "=?utf-8?q?attacker=40evil.com=2C_victim2?=@example.com",
    "=?UTF-8?B?dmljdGltMg==?=@example.com",
]
CONTROL = ["vic\x00tim@example.com", "vic\x1ftim@example.com", "vic\x7ftim@example.com"]


@pytest.mark.parametrize("address", ENCODED + CONTROL + ['"a b"@example.com', "A <a@b.org>"])
def test_anything_but_a_plain_address_is_refused(address: str) -> None:
    assert valid_email(address) is None


def test_plain_addresses_pass_and_plus_tags_share_a_bucket() -> None:
    assert valid_email(" Ann.Lee+papers@Example.org ") == "ann.lee+papers@example.org"
    assert valid_email("jürgen@uni-example.de") == "jürgen@uni-example.de"
    assert limit_key("ann+a@example.org") == limit_key("ANN+b@example.org") == "ann@example.org"


def test_to_holds_exactly_the_checked_address() -> None:
    message = plain_message("p <p@example.org>", "ann+x@example.org", "s", "b")
    assert message["To"] == "ann+x@example.org"
    assert len(message["To"].addresses) == 1


def _post(site: Site, path: str, email: str) -> int:
    return site.client.post(path, data={"email": email, "csrf": site.csrf(path)}).status_code


@pytest.mark.parametrize("path", ["/signin", "/digest/subscribe"])
def test_the_forms_refuse_encoded_words(site: Site, path: str) -> None:
    for address in ENCODED:
        assert _post(site, path, address) == 400
    assert site.mailbox.messages == []


def test_plus_tags_count_toward_one_sign_in_limit(site: Site) -> None:
    statuses = [_post(site, "/signin", f"victim+{n}@example.com") for n in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    assert len(site.mailbox.messages) == 5
    assert [m["To"] for m in site.mailbox.messages] == [f"victim+{n}@example.com" for n in range(5)]


def test_plus_tags_count_toward_one_confirmation_limit(site: Site) -> None:
    statuses = [_post(site, "/digest/subscribe", f"victim+{n}@example.com") for n in range(5)]
    assert statuses.count(200) == 3 and statuses[3:] == [429, 429]
