"""Ingested text as readers expect it: TeX math as MathML, TeX text commands as text,
links in comments as links.

arXiv metadata is written in TeX: `$\\mathcal{A}$`, `40$\\times$ faster`, `70-80\\%`,
`\\emph{not}`. Math becomes MathML on the server (latex2mathml), so nothing loads
from other sites and the page works without script; Chromium, Firefox and Safari
render MathML Core. Whatever latex2mathml writes is rebuilt from an allow-list of
MathML elements and attributes, so a hostile `$\\href{javascript:...}{x}$` cannot
put a link or a script on the page.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from latex2mathml.converter import convert
from lxml import etree
from markupsafe import Markup

__all__ = ["has_tex", "linkify", "tex_html", "tex_text"]

_MATH = re.compile(r"\$\$(.+?)\$\$|(?<!\\)\$(.+?)(?<!\\)\$|\\\((.+?)\\\)", re.DOTALL)
_MAX_MATH = 400  # characters of one formula: longer is shown as written
_MATHML = "http://www.w3.org/1998/Math/MathML"
_ELEMENTS = frozenset(
    [
        "math",
        "mrow",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "msup",
        "msub",
        "msubsup",
        "mfrac",
        "msqrt",
        "mroot",
        "mover",
        "munder",
        "munderover",
        "mtable",
        "mtr",
        "mtd",
        "mstyle",
        "mpadded",
        "mphantom",
        "menclose",
        "merror",
        "semantics",
    ]
)
_ATTRIBUTES = frozenset(
    [
        "display",
        "mathvariant",
        "stretchy",
        "fence",
        "separator",
        "lspace",
        "rspace",
        "accent",
        "accentunder",
        "movablelimits",
        "minsize",
        "maxsize",
        "symmetric",
        "largeop",
        "form",
        "linethickness",
        "displaystyle",
        "scriptlevel",
        "columnalign",
        "rowspacing",
        "columnspacing",
        "width",
        "height",
        "depth",
        "notation",
    ]
)
# Text-mode commands: (pattern, HTML replacement with \1 for the argument).
_TEXT_COMMANDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\\(?:emph|textit|textsl)\{([^{}]*)\}"), r"<em>\1</em>"),
    (re.compile(r"\\textbf\{([^{}]*)\}"), r"<strong>\1</strong>"),
    (re.compile(r"\\texttt\{([^{}]*)\}"), r"<code>\1</code>"),
    (re.compile(r"\\(?:textsc|textrm|textsf|text|mbox|url)\{([^{}]*)\}"), r"\1"),
    (re.compile(r"\\?allowbreak\b\s*"), ""),
    (re.compile(r"\\([&%#_$])"), r"\1"),
    (re.compile(r"``"), "\u201c"),
    (re.compile(r"''"), "\u201d"),
    (re.compile(r"(?<![\\-])---(?!-)"), "\u2014"),
    (re.compile(r"(?<![\\-])--(?!-)"), "\u2013"),
    (re.compile(r"\\ldots\b|\\dots\b"), "\u2026"),
    (re.compile(r"(?<!\\)~"), "\u00a0"),
]


def _clean_mathml(element: etree._Element) -> str:  # pyright: ignore[reportPrivateUsage]
    """The MathML rebuilt from allowed elements and attributes only."""
    tag = etree.QName(element).localname
    if tag not in _ELEMENTS:
        return "".join(_clean_mathml(child) for child in element) or html.escape(element.text or "")
    attributes = "".join(
        f' {name}="{html.escape(value)}"'
        for name, value in sorted(element.attrib.items())
        if name in _ATTRIBUTES
    )
    if tag == "math":
        attributes = f' xmlns="{_MATHML}"' + attributes
    inner = html.escape(element.text or "") + "".join(_clean_mathml(c) for c in element)
    return f"<{tag}{attributes}>{inner}</{tag}>"  # tails are only whitespace here


@lru_cache(maxsize=4096)
def _math(latex: str, display: bool) -> str | None:
    """MathML for one formula, or None when it cannot be converted."""
    if len(latex) > _MAX_MATH:
        return None
    try:
        written = convert(latex, display="block" if display else "inline")
        root = etree.fromstring(written.encode(), etree.XMLParser(resolve_entities=False))
    except Exception:  # latex2mathml raises many kinds on malformed TeX: show it as written
        return None
    return _clean_mathml(root)


def _text_html(text: str) -> str:
    out = html.escape(text, quote=False)
    for pattern, replacement in _TEXT_COMMANDS:
        out = pattern.sub(replacement, out)
    return out


@lru_cache(maxsize=8192)
def _render(text: str) -> str:
    parts: list[str] = []
    position = 0
    for match in _MATH.finditer(text):
        latex = match.group(1) or match.group(2) or match.group(3) or ""
        rendered = _math(latex.strip(), display=match.group(1) is not None)
        parts.append(_text_html(text[position : match.start()]))
        parts.append(rendered if rendered is not None else html.escape(match.group(0)))
        position = match.end()
    parts.append(_text_html(text[position:]))
    return "".join(parts)


def has_tex(text: str | None) -> bool:
    """Whether the text holds anything TeX would typeset differently from how it reads."""
    if not text:
        return False
    return any(mark in text for mark in ("$", "\\", "~", "--", "``"))


def tex_html(text: str | None) -> Markup:
    """Safe HTML for a title or abstract written in TeX."""
    if not text:
        return Markup("")
    if not has_tex(text):
        return Markup(html.escape(text, quote=False))  # most abstracts: nothing to do
    return Markup(_render(text))


_URL = re.compile(r"\bhttps?://[^\s<>\"'()\[\]{}]+[^\s<>\"'()\[\]{}.,;:!?]")


def linkify(text: str | None) -> Markup:
    """The text escaped, with its http(s) addresses as links (a comment's code or project page)."""
    if not text:
        return Markup("")
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0)
        parts.append(html.escape(text[position : match.start()], quote=False))
        parts.append(f'<a href="{html.escape(url)}" rel="nofollow noopener">{html.escape(url)}</a>')
        position = match.end()
    parts.append(html.escape(text[position:], quote=False))
    return Markup("".join(parts))


_TAGS = re.compile(r"<[^>]+>")


def tex_text(text: str | None) -> str:
    """Plain text for places without markup (a page's <title>, feeds): math as written."""
    if not text:
        return ""
    return html.unescape(_TAGS.sub("", _text_html(text)))
