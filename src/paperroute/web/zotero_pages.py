"""Zotero from the site: send a collection to Zotero, bring a Zotero collection in.

The reader pastes their Zotero API key into the form each time; it is used for
that request and not stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import Response

from paperroute.ingest.zotero_sync import pull_collection, push_collection
from paperroute.web.account import own_collection
from paperroute.web.deps import Conn, CsrfChecked, Now, SignedIn, check_rate, render, settings_of
from paperroute.zotero import ZoteroClient, ZoteroError

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
SYNCS_PER_USER, SYNC_WINDOW = 20, dt.timedelta(hours=1)
ZoteroKey = Annotated[str, Form(max_length=100)]
ZoteroName = Annotated[str, Form(max_length=200)]


@contextmanager
def _zotero(request: Request, key: str) -> Generator[ZoteroClient]:
    """A client for the pasted key: a bad key is a 400, Zotero refusing or away a 502."""
    try:
        client = ZoteroClient(key, base_url=settings_of(request).zotero_url)
    except ZoteroError as exc:
        raise HTTPException(400, str(exc)) from None
    try:
        yield client
    except ZoteroError as exc:
        raise HTTPException(502, str(exc)) from None
    finally:
        client.close()


@router.post("/collections/{collection_id}/zotero", dependencies=[CsrfChecked])
def push(
    request: Request,
    conn: Conn,
    user: SignedIn,
    now: Now,
    collection_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    key: ZoteroKey,
    zotero_collection: ZoteroName = "",
) -> Response:
    check_rate(conn, now, [(f"zotero:user:{user.id}", SYNCS_PER_USER)], SYNC_WINDOW)
    collection = own_collection(conn, user, collection_id)
    with _zotero(request, key) as client:
        name = zotero_collection.strip() or collection.name
        report = push_collection(conn, client, collection.id, name)
    message = (f'{report.sent} papers sent to your Zotero collection "{report.zotero_collection}"'
               f" ({report.already_there} were there already).")  # fmt: skip
    return render(request, conn, "message.html", {"title": "Sent to Zotero", "message": message,
                                                  "back": f"/collections/{collection.id}"})  # fmt: skip


@router.post("/for-you/zotero", dependencies=[CsrfChecked])
def pull(
    request: Request,
    conn: Conn,
    user: SignedIn,
    now: Now,
    key: ZoteroKey,
    zotero_collection: ZoteroName,
) -> Response:
    check_rate(conn, now, [(f"zotero:user:{user.id}", SYNCS_PER_USER)], SYNC_WINDOW)
    name = zotero_collection.strip()
    with _zotero(request, key) as client:
        report = pull_collection(conn, client, user.id, name, now, into=name or "From Zotero")
    conn.commit()
    message = (f'{report.entries} items of "{name}": {report.matched} found here and filed in '
               f'"{report.collection_name}", {len(report.unmatched)} not here.')  # fmt: skip
    return render(request, conn, "message.html", {"title": "Brought in from Zotero",
                                                  "message": message, "back": "/for-you"})  # fmt: skip
