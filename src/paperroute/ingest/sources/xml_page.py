"""Reading one fetched XML page (an Atom, RSS or OAI-PMH document) of a network source."""

from __future__ import annotations

from paperroute.ingest.sources.errors import SourceError
from paperroute.ingest.xml import Element, XmlError, parse_xml

__all__ = ["read_xml_page"]


def read_xml_page(content: bytes, where: str, status: int, *, hint: str) -> Element:
    """The page's root element; SourceError naming `where`, with `hint`, if it is not XML."""
    try:
        return parse_xml(content, where)
    except XmlError as exc:
        if status != 200:  # an error page, not a broken document
            raise SourceError(f"{where} answered HTTP {status}; {hint}") from None
        raise SourceError(f"{exc}; {hint}") from None
