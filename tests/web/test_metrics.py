"""`/metrics`: request latency by route, and counts read from the database."""

from __future__ import annotations

import re

from paperroute.web.metrics import observe_search
from tests.web.conftest import Site


def _value(text: str, pattern: str) -> float:
    found = re.search(rf"^{pattern} (\S+)$", text, re.MULTILINE)
    assert found, text[:3000]
    return float(found.group(1))


def test_requests_are_counted_by_route_not_by_path(site: Site) -> None:
    for ref in ("2503.00001", "2503.00002", "2503.00003"):
        assert site.client.get(f"/papers/{ref}").status_code == 200
    site.client.get("/papers/2503.99999")
    observe_search(0.02)
    text = site.client.get("/metrics").text
    route = 'route="/papers/{paper_ref:path}"'
    ok = _value(text, rf'paperroute_request_seconds_count{{method="GET",{route},status="200"}}')
    assert ok >= 3 and "2503.00001" not in text  # one series for every paper page
    assert (
        _value(text, rf'paperroute_request_seconds_count{{method="GET",{route},status="404"}}') >= 1
    )
    assert _value(text, "paperroute_search_seconds_count") >= 1
    assert _value(text, "paperroute_papers") >= 4  # PostgreSQL's database is shared by the session
    assert "paperroute_outbox_digests" in text
