"""What the network source tests share: a polite client that does not make them wait."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paperroute.ingest.http import FetchPolicy, PoliteClient


@pytest.fixture
def client() -> Iterator[PoliteClient]:
    with PoliteClient(FetchPolicy(delay=0, backoff=0.01, timeout=2)) as polite:
        yield polite
