"""Fetching one XML page (an Atom, RSS or OAI-PMH document) for a network source."""

from __future__ import annotations

from collections.abc import Mapping

from paperroute.ingest.http import PoliteClient
from paperroute.ingest.sources.errors import SourceError
from paperroute.ingest.xml import Element, XmlError, parse_xml

__all__ = ["fetch_xml_page"]


def fetch_xml_page(
    client: PoliteClient,
    url: str,
    params: Mapping[str, str | int] | None = None,
    *,
    hint: str,
) -> tuple[Element, str, int]:
    """GET and parse a page: (root, full URL, HTTP status); SourceError with `hint` if not XML."""
    response = client.get(url, params=params)
    where = str(response.url)
    try:
        root = parse_xml(response.content, where)
    except XmlError as exc:
        if response.status_code != 200:  # an error page, not a broken document
            raise SourceError(f"{where} answered HTTP {response.status_code}; {hint}") from None
        raise SourceError(f"{exc}; {hint}") from None
    return root, where, response.status_code
