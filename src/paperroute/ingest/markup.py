"""HTML out of source text, by a real HTML parser: a pure function, no I/O.

A pattern that removes tags lets through what only a parser sees as one:
`<svg/onload=...>`, or `<scr<script>ipt>` (which is `<script>` once the inner
tag is cut). Here a tag is whatever Python's HTML parser reads as one, and
the text is parsed again until nothing more goes, so no tag is left behind.

What looks like a tag but is not stays as written: mathematics (`x<y and y>z`,
and inside `$...$` anything but a real element, so `$CNN<ViT<Hybrid$` keeps its
comparisons) and words in angle brackets (an LLM's `<think>` or `<ACT>` token):
a tag is kept when its name is no HTML, SVG or MathML element and it has no
attribute with a value, which is inert even to a reader that takes it for HTML.
A tag cut off by the end of the text goes only if a browser would act on it.
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
_WEB_ADDRESS = re.compile(r"https?://[^\s<>\"']+\Z")
# Each pass removes at least one tag; past this many, the text is an attack.
MAX_PASSES = 8


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment; tags, comments and code go."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._in_code = False
        self._link: str | None = None  # the web address of the <a> being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if _is_markup(tag, attrs):
            self._in_code = tag in _CODE
            if tag in _BREAKS:
                self.parts.append(" ")
            if tag == "a":
                href = dict(attrs).get("href") or ""
                self._link = href if _WEB_ADDRESS.match(href) else None
        else:  # mathematics, as written (the text was escaped for the parser: undo it)
            self.parts.append((self.get_starttag_text() or "").replace("&amp;", "&"))

    def handle_endtag(self, tag: str) -> None:
        self._in_code = False
        if tag in _BREAKS:
            self.parts.append(" ")
        if tag == "a" and self._link:
            # arXiv writes "our code is at <a href=...>this https URL</a>": keep the address.
            self.parts.append(f" ({self._link})")
            self._link = None

    def handle_data(self, data: str) -> None:
        if not self._in_code:
            self.parts.append(data)


def _is_markup(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    if tag in _ELEMENTS or "<" in tag or any(value is not None for _, value in attrs):
        return True
    return not attrs and _PLAIN_NAME.match(tag) is not None  # <foo> or <foo/>


# A tag whose name is no element and that has no attribute value: words an abstract
# writes in angle brackets (an LLM's "<think>" or "<answer>" token), inert in any page.
_INERT_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9_.-]*)([^<>=]*)>")
# TeX math: "$CNN<ViT<Hybrid$" or "$t<q$" compare; only a real element starts a tag there.
_MATH = re.compile(r"\$[^$]{1,1000}\$")
_ELEMENT_START = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)(?=[\s/>])")


def _keep_inert(match: re.Match[str]) -> str:
    return match.group(0) if match.group(2).lower() in _ELEMENTS else "&lt;" + match.group(0)[1:]


def _keep_math(match: re.Match[str]) -> str:
    math = match.group(0)
    starts = {m.start() for m in _ELEMENT_START.finditer(math) if m.group(1).lower() in _ELEMENTS}
    return "".join("&lt;" if ch == "<" and n not in starts else ch for n, ch in enumerate(math))


def _strip_once(text: str) -> str:
    parser = _TextOnly()
    # Entities were decoded before: escaping `&` keeps the parser from decoding them again.
    escaped = _MATH.sub(_keep_math, _INERT_TAG.sub(_keep_inert, text.replace("&", "&amp;")))
    parser.feed(escaped)
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
        # Only what a browser would act on: "$t<q$ with redundancy ... n=5" has a valued
        # attribute too, and dropping it would cut an abstract short at its first "<".
        risky = any(value is not None and _acts(name) for name, value in attrs)
        self.found = self.found or "<" in tag or risky


# Attributes that run script or load something when a browser reads the tag.
_ACTIVE = frozenset({"href", "src", "srcset", "srcdoc", "style", "action", "formaction",
                     "data", "background", "poster", "xlink:href", "lowsrc", "dynsrc"})  # fmt: skip


def _acts(name: str) -> bool:
    return name.startswith("on") or name in _ACTIVE


def strip_tags(text: str) -> str:
    """The text without HTML tags, comments or script and style content."""
    for _ in range(MAX_PASSES):
        stripped = _strip_once(text)
        if stripped == text:
            return text
        text = stripped
    return text.replace("<", "")  # still nested tags after every pass: no angle bracket stays
