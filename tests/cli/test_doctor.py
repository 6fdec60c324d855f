"""`paperroute doctor`: each part of a node checked, and what to do about it."""

from __future__ import annotations

import re

from tests.cli.conftest import Invoke
from tests.cli.test_digest import smtp_env
from tests.digest.test_send import Mailbox, smtp_server
from tests.support import free_port


def _status(output: str, part: str) -> str:
    found = re.search(rf"│ {part}\s*│ (\w+)", output)
    assert found, output
    return found.group(1)


SITE = {"PAPERROUTE_BASE_URL": "https://papers.example.org"}


def test_a_fresh_node_works_and_says_what_is_off(invoke: Invoke) -> None:
    invoke("init")
    out = invoke("doctor", env=SITE).output
    assert _status(out, "database") == "ok" and _status(out, "disk") == "ok"
    assert _status(out, "search index") == "warn" and "index rebuild" in out
    assert _status(out, "mail") == "warn" and "PAPERROUTE_SMTP_HOST" in out
    assert _status(out, "site address") == "ok"
    with smtp_server(Mailbox()) as port:
        assert _status(invoke("doctor", env=smtp_env(port) | SITE).output, "mail") == "ok"


def test_without_a_site_address_the_doctor_fails(invoke: Invoke) -> None:
    invoke("init")
    out = invoke("doctor", expect=1).output
    assert _status(out, "site address") == "fail" and "PAPERROUTE_BASE_URL" in out


def test_what_must_be_fixed_fails_the_command(invoke: Invoke) -> None:
    nowhere = {"PAPERROUTE_DATABASE_URL": f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/x"}
    gone = invoke("doctor", env=nowhere, expect=1).output
    assert _status(gone, "database") == "fail" and "cannot use postgresql" in gone
    invoke("init")
    down = invoke("doctor", env=smtp_env(free_port()), expect=1).output
    assert _status(down, "mail") == "fail" and "cannot reach the SMTP server" in down
