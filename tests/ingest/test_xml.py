"""Hostile XML is refused, whatever its encoding."""

from __future__ import annotations

import pytest

from paperroute.ingest.xml import XmlError, parse_xml

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<feed>&lol2;</feed>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><feed>&xxe;</feed>"""


@pytest.mark.parametrize(
    "document",
    [
        LAUGHS,
        EXTERNAL,
        LAUGHS.decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>').encode("utf-16"),
    ],
)
def test_documents_with_their_own_dtd_are_refused(document: bytes) -> None:
    with pytest.raises(XmlError, match="declares its own DTD"):
        parse_xml(document, "feed.xml")


def test_plain_documents_and_broken_ones() -> None:
    assert parse_xml(b"<feed><entry/></feed>", "ok.xml").tag == "feed"
    with pytest.raises(XmlError, match=r"truncated\.xml: not well-formed"):
        parse_xml(b"<feed><entry>", "truncated.xml")
