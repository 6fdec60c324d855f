"""A paper asked for by id or URL: fetched from arXiv unless the site has it already."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine

from paperroute.ingest.http import PoliteClient
from paperroute.ingest.normalize import parse_arxiv_id
from paperroute.ingest.pipeline import run_ingest
from paperroute.ingest.sources.arxiv_api import fetch_arxiv_ids
from paperroute.store import papers as paper_store
from paperroute.store import runs as run_store
from paperroute.store.submissions import record_submission

__all__ = ["SubmitError", "submit_paper"]


class SubmitError(ValueError):
    """The text is not an arXiv id, or arXiv has no such paper."""


def submit_paper(
    engine: Engine,
    client: PoliteClient,
    text: str,
    *,
    base_url: str,
    user_id: int,
    clock: Callable[[], dt.datetime],
) -> str:
    """The stored paper's key for an arXiv id, `arXiv:` reference or arxiv.org URL."""
    parsed = parse_arxiv_id(text)
    if parsed is None:
        raise SubmitError(
            f"{text.strip()[:100]!r} is not an arXiv id or link (e.g. 2503.11731 or "
            "https://arxiv.org/abs/2503.11731)"
        )
    arxiv_id = parsed[0]
    with engine.connect() as conn:
        known = paper_store.ids_for_refs(conn, [arxiv_id])
    if not known:
        run = run_ingest(
            engine, "arxiv", f"submit={arxiv_id}", fetch_arxiv_ids(client, [arxiv_id], base_url=base_url),
            clock=clock,
        )  # fmt: skip
        with engine.connect() as conn:
            known = paper_store.ids_for_refs(conn, [arxiv_id])
            if not known:
                rejects = run_store.list_rejects(conn, run.id)
                reason = rejects[0].reason if rejects else "arXiv returned nothing for it"
                raise SubmitError(f"arXiv:{arxiv_id}: {reason}")
    with engine.begin() as conn:
        record_submission(conn, known[arxiv_id], user_id, clock())
    return arxiv_id
