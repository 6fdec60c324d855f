"""Index tests embed with a small, fast, deterministic embedder."""

from __future__ import annotations

import pytest

from tests.support import WordHashEmbedder


@pytest.fixture
def embedder() -> WordHashEmbedder:
    return WordHashEmbedder()
