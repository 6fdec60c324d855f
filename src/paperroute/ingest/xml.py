"""Parsing XML from the outside world safely: no entities, no DTDs, no network."""

from __future__ import annotations

from typing import TypeAlias

from lxml import etree

__all__ = ["Element", "XmlError", "parse_xml"]

Element: TypeAlias = etree._Element  # pyright: ignore[reportPrivateUsage]


class XmlError(ValueError):
    """A document that is not well-formed or tries something hostile."""


def _parser() -> etree.XMLParser:
    # A new parser per document: lxml parsers are not thread-safe.
    return etree.XMLParser(
        resolve_entities=False,  # no billion laughs, no external entities
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=True,
    )


def parse_xml(data: bytes, where: str) -> Element:
    """Parse a whole document; raise XmlError naming `where` if it is broken or hostile.

    The parser never expands entities, loads a DTD or touches the network; on
    top of that, any document that declares a DTD of its own (where entities
    live) is refused outright: no feed we read needs one.
    """
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        # libxml2 quotes tag names whole: one 5,000-character name is a 5,000-character message.
        problem = exc.msg if len(exc.msg) <= 200 else f"{exc.msg[:200]}..."
        raise XmlError(f"{where}: not well-formed XML ({problem})") from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise XmlError(f"{where}: the document declares its own DTD; refusing to read it")
    return root
