"""HTML out of source text, by a real HTML parser: a pure function, no I/O.

A pattern that removes tags lets through what only a parser sees as one:
`<svg/onload=...>`, or `<scr<script>ipt>` (which is `<script>` once the inner
tag is cut). Here a tag is whatever Python's HTML parser reads as one, and
the text is parsed again until nothing more goes, so no tag is left behind.

What looks like a tag but is mathematics stays: `$x<y$ and $y>z$` parses as a
tag named `y$`, and `x<y and y>z` as a tag `y` with the bare attributes `and`
and `y`. A tag is kept as written when its name is no HTML, SVG or MathML
element and it has no attribute with a value; such text is inert even to a
reader that takes it for HTML.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["strip_tags"]

# HTML's elements, current and obsolete, and those of SVG and MathML a page may hold.
_ELEMENT_NAMES = """
    a abbr acronym address animate animatemotion animatetransform annotation applet area
    article aside audio b base basefont bdi bdo bgsound big blink blockquote body br button
    canvas caption center circle cite clippath code col colgroup data datalist dd defs del
    desc details dfn dialog dir div dl dt ellipse em embed feimage fieldset figcaption figure
    filter font footer foreignobject form frame frameset g h1 h2 h3 h4 h5 h6 head header
    hgroup hr html i iframe image img input ins isindex kbd keygen label layer legend li line
    link listing main map mark marquee math menu menuitem meta meter mi mn mo mrow ms mtext
    multicol nav nextid nobr noembed noframes noscript object ol optgroup option output p
    param path picture plaintext polygon polyline portal pre progress q rb rect rp rt rtc
    ruby s samp script search section select semantics set slot small source spacer span
    strike strong style sub summary sup svg table tbody td template text textarea tfoot th
    thead time title tr track tspan tt u ul use var video wbr xmp"""
_ELEMENTS = frozenset(_ELEMENT_NAMES.split())
# Tags that separate words: "one<br>two" is two words.
_BREAKS = frozenset({"br", "p", "div", "li", "tr", "td", "th", "blockquote"})
_CODE = frozenset({"script", "style"})  # their content is code, not text
_PLAIN_NAME = re.compile(r"[a-z][a-z0-9\-]*\Z")
# Each pass removes at least one tag; past this many, the text is an attack.
MAX_PASSES = 8


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment; tags, comments and code go."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if _is_markup(tag, attrs):
            self._in_code = tag in _CODE
            if tag in _BREAKS:
                self.parts.append(" ")
        else:  # mathematics, as written (the text was escaped for the parser: undo it)
            self.parts.append((self.get_starttag_text() or "").replace("&amp;", "&"))

    def handle_endtag(self, tag: str) -> None:
        self._in_code = False
        if tag in _BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._in_code:
            self.parts.append(data)


def _is_markup(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    if tag in _ELEMENTS or "<" in tag or any(value is not None for _, value in attrs):
        return True
    return not attrs and _PLAIN_NAME.match(tag) is not None  # <foo> or <foo/>


def _strip_once(text: str) -> str:
    parser = _TextOnly()
    # Entities were decoded before: escaping `&` keeps the parser from decoding them again.
    parser.feed(text.replace("&", "&amp;"))
    if _is_unclosed_markup(parser.rawdata):
        parser.rawdata = ""
    parser.close()
    return "".join(parser.parts)


def _is_unclosed_markup(tail: str) -> bool:
    """A tag cut off by the end of the text that would run with the next `>` after it.

    `<img src=x onerror=...` is harmless alone but not in a page that goes on
    with markup; "for all x<y" ends the same way and is mathematics.
    """
    if not tail.startswith("<"):
        return False
    probe = _TagProbe()
    probe.feed(tail + ">")
    probe.close()
    return probe.found


class _TagProbe(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found = self.found or "<" in tag or any(value is not None for _, value in attrs)


def strip_tags(text: str) -> str:
    """The text without HTML tags, comments or script and style content."""
    for _ in range(MAX_PASSES):
        stripped = _strip_once(text)
        if stripped == text:
            return text
        text = stripped
    return text.replace("<", "")  # still nested tags after every pass: no angle bracket stays
