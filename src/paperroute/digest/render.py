"""A digest as an email: HTML with inlined CSS and a plain-text twin, and the list headers.

The HTML is tables all the way down (Outlook renders with Word), has no
images, scripts or trackers, and every value in it is escaped. Nothing the
subscriber typed goes into a header: the subject says how many papers and for
when, and every header value is checked for line breaks before it is written.

Ten thousand digests must be made in well under a minute. The email package
takes about 25 ms to build and flatten one of these messages and CSS inlining
3 ms more, so: each paper's block is rendered and inlined once and shared by
every subscriber; the page around the papers is rendered and inlined once per
shape (how many sections, how many papers in each) with named slots that are
then filled, escaped, for each reader; and the MIME structure (text and HTML
in multipart/alternative) is written here, the email package folding only the
headers that need encoding. Tests parse every message back with the email
package.
"""

from __future__ import annotations

import binascii
import datetime as dt
import functools
import re
import secrets
import textwrap
from dataclasses import dataclass
from email.headerregistry import Address
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import quote, urlsplit

import css_inline
import jinja2
from markupsafe import escape

from paperroute.digest.compose import Digest, describe_period
from paperroute.domain import Paper

__all__ = [
    "DigestLinks",
    "RenderedDigest",
    "digest_html",
    "digest_text",
    "render_digest",
    "subject_for",
]

_TEMPLATES = Path(__file__).parent / "templates"
_SNIPPET_CHARS = 300
_AUTHORS_SHOWN = 4
_MAX_HEADER_LINE = 998  # RFC 5322
_SLOT = re.compile(r"@@([a-z_]+[0-9.]*)@@")
_REASON_MARK = "\x1f"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_TO_SPACE = dict.fromkeys([*range(0x20), 0x7F], " ")
# What may never be in a URL that becomes a header: whitespace, controls, and
# the brackets and quotes that would end the <...> around it.
_UNSAFE_URL = re.compile(r"[\x00-\x20\x7f-\x9f<>\"'\\]")
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}")


@dataclass(frozen=True, slots=True)
class DigestLinks:
    """Where the reader goes: the site, and the subscriber's own signed links."""

    base_url: str
    unsubscribe_url: str
    manage_url: str


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    message: bytes  # the whole RFC 5322 message, CRLF line ends, ready for SMTP
    message_id: str
    subject: str


@dataclass(frozen=True, slots=True)
class _PaperView:
    url: str
    title: str
    authors: str
    snippet: str
    snippet_text: str
    abs_url: str | None
    pdf_url: str | None
    code_url: str | None
    categories: str


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
    )


@functools.cache
def _css() -> str:
    return (_TEMPLATES / "digest.css").read_text(encoding="utf-8")


@functools.cache
def _page_inliner() -> css_inline.CSSInliner:
    # The dark-mode and narrow-screen @media rules cannot be inlined: they stay in <style>.
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


@functools.cache
def _block_inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(load_remote_stylesheets=False)


def _one_line(text: str) -> str:
    """Text on one line: no line breaks, tabs or other control characters survive."""
    return " ".join(text.translate(_CONTROL_TO_SPACE).split())


def _web_link(url: str | None) -> str | None:
    """Only plain http(s) links reach an href: never `javascript:`, `data:` or odd characters."""
    if url and url.lower().startswith(("https://", "http://")) and not _UNSAFE_URL.search(url):
        return url
    return None


def _snippet(abstract: str) -> str:
    text = _one_line(abstract)
    if len(text) <= _SNIPPET_CHARS:
        return text
    return text[:_SNIPPET_CHARS].rsplit(" ", 1)[0].rstrip(",;:.") + "\u2026"


def _authors(names: tuple[str, ...]) -> str:
    if len(names) <= _AUTHORS_SHOWN:
        return ", ".join(_one_line(n) for n in names)
    shown = ", ".join(_one_line(n) for n in names[: _AUTHORS_SHOWN - 1])
    return f"{shown} and {len(names) - _AUTHORS_SHOWN + 1} others"


@dataclass(frozen=True, slots=True)
class _PaperBlocks:
    title: str
    html: str  # inlined
    text_head: str  # the text block, before and after the reason line
    text_tail: str


@functools.lru_cache(maxsize=8192)
def _paper_blocks(base_url: str, site_name: str, paper: Paper) -> _PaperBlocks:
    """How a paper shows in a mail: the same for every subscriber, so made once."""
    snippet = _snippet(paper.abstract)
    view = _PaperView(
        url=f"{base_url}/papers/{quote(paper.key or paper.arxiv_id or '', safe='/')}",
        title=_one_line(paper.title),
        authors=_authors(paper.authors),
        snippet=snippet,
        snippet_text=textwrap.fill(snippet, 72, initial_indent="  ", subsequent_indent="  "),
        abs_url=_web_link(paper.abs_url),
        pdf_url=_web_link(paper.pdf_url),
        code_url=_web_link(paper.code_url),
        categories=_one_line(" ".join(paper.categories[:3])),
    )
    env = _environment()
    html = env.get_template("paper.html").render(paper=view, site_name=site_name)
    # No text from a paper holds a control character (see _one_line), so \x1f marks the reason.
    text = env.get_template("paper.txt").render(paper=view, reason=_REASON_MARK)
    head, _, tail = text.rstrip("\n").partition(_REASON_MARK)
    return _PaperBlocks(view.title, _block_inliner().inline_fragment(html, _css()), head, tail)


def _slot(name: str) -> str:
    return f"@@{name}@@"


@dataclass(frozen=True, slots=True)
class _SlotItem:
    reason: str
    paper: str


@dataclass(frozen=True, slots=True)
class _SlotSection:
    title: str
    underline: str
    items: list[_SlotItem]


def _layout(sizes: tuple[int, ...], template: str) -> dict[str, object]:
    """A template's context with a named slot in place of every value that varies."""
    sections = [
        _SlotSection(
            _slot(f"title{i}"),
            _slot(f"underline{i}"),
            [_SlotItem(_slot(f"reason{i}.{j}"), _slot(f"paper{i}.{j}")) for j in range(size)],
        )
        for i, size in enumerate(sizes)
    ]
    names = ["subject", "preheader", "home_url", "site_name", "headline", "to"]
    context: dict[str, object] = {name: _slot(name) for name in names}
    context |= {"sections": sections, "css": _css() if template.endswith(".html") else ""}
    context |= {"unsubscribe_url": _slot("unsubscribe_url"), "manage_url": _slot("manage_url")}
    return context


@functools.lru_cache(maxsize=1024)
def _shell(sizes: tuple[int, ...], template: str) -> str:
    """The page for a digest with sections of these sizes, slots still unfilled.

    Digests of one shape share it, so the costly CSS inlining runs once per shape.
    """
    page = _environment().get_template(template).render(_layout(sizes, template))
    return _page_inliner().inline(page) if template.endswith(".html") else page


def _fill(shell: str, values: dict[str, str]) -> str:
    # One pass: a value that happens to look like a slot is never filled again.
    return _SLOT.sub(lambda m: values[m[1]], shell)


def _values(
    digest: Digest, period: str, links: DigestLinks, to: str, site_name: str
) -> tuple[dict[str, str], dict[str, str]]:
    """What fills the slots of the text page and of the HTML page (escaped)."""
    base = links.base_url.rstrip("/")
    papers = "1 paper" if digest.count == 1 else f"{digest.count} papers"
    text = {
        "subject": subject_for(digest, period, site_name),
        "home_url": base + "/",
        "site_name": site_name,
        "headline": f"{papers} for {describe_period(period)}",
        "to": to,
        "unsubscribe_url": links.unsubscribe_url,
        "manage_url": links.manage_url,
    }
    html: dict[str, str] = {}
    titles: list[str] = []
    for i, section in enumerate(digest.sections):
        title = _one_line(section.title)
        text[f"title{i}"], text[f"underline{i}"] = title, "-" * len(title)
        for j, item in enumerate(section.items):
            blocks = _paper_blocks(base, site_name, item.paper)
            reason = _one_line(item.reason)
            text[f"reason{i}.{j}"] = reason
            text[f"paper{i}.{j}"] = blocks.text_head + reason + blocks.text_tail
            html[f"paper{i}.{j}"] = blocks.html
            titles.append(blocks.title)
    text["preheader"] = " \u00b7 ".join(titles[:3])[:150]
    html |= {k: str(escape(v)) for k, v in text.items() if not k.startswith("paper")}
    return text, html


def _sizes(digest: Digest) -> tuple[int, ...]:
    return tuple(len(s.items) for s in digest.sections)


def subject_for(digest: Digest, period: str, site_name: str = "paperroute") -> str:
    papers = "1 paper" if digest.count == 1 else f"{digest.count} papers"
    return f"{site_name}: {papers} for {describe_period(period)}"


def digest_html(
    digest: Digest, period: str, links: DigestLinks, *, to: str, site_name: str = "paperroute"
) -> str:
    """The HTML part, CSS inlined: also what a browser preview shows."""
    _, values = _values(digest, period, links, to, site_name)
    return _fill(_shell(_sizes(digest), "digest.html"), values)


def digest_text(
    digest: Digest, period: str, links: DigestLinks, *, to: str, site_name: str = "paperroute"
) -> str:
    """The plain-text part."""
    values, _ = _values(digest, period, links, to, site_name)
    return _fill(_shell(_sizes(digest), "digest.txt"), values)


# --- the message -------------------------------------------------------------


def _header_url(url: str, what: str) -> str:
    if (
        not url.lower().startswith(("https://", "http://"))
        or _UNSAFE_URL.search(url)
        or len(url) > 900
    ):
        raise ValueError(f"the {what} URL {url!r} cannot go in a mail header: give an http(s) URL")
    return url


def _header(name: str, value: str) -> bytes:
    """One header line; folded and encoded by the email package when it is not plain ASCII."""
    if _CONTROL.search(value):
        raise ValueError(f"the {name} header cannot hold line breaks or control characters")
    line = f"{name}: {value}"
    if line.isascii() and len(line) <= _MAX_HEADER_LINE:
        return line.encode("ascii") + b"\r\n"
    return _folded(name, value)


@functools.lru_cache(maxsize=256)
def _folded(name: str, value: str) -> bytes:
    return SMTP.header_factory(name, value).fold(policy=SMTP).encode("ascii")


@functools.lru_cache(maxsize=64)
def _sender(sender: str) -> tuple[bytes, str]:
    """The From header and the domain message ids are made in."""
    name, address = parseaddr(sender)
    if not _ADDRESS.fullmatch(address):
        raise ValueError(f"mail_from {sender!r} is not an address: set PAPERROUTE_MAIL_FROM")
    parsed = Address(display_name=name, addr_spec=address)
    return _folded("From", str(parsed)), parsed.domain


def _list_id(base_url: str, domain: str, site_name: str) -> str:
    host = urlsplit(base_url).hostname or domain
    label = re.sub(r"[^A-Za-z0-9-]+", "-", site_name).strip("-") or "digest"
    return f"{label} digest <digest.{host}>"


def _part(content_type: str, body: str) -> bytes:
    """A MIME part: 7bit when the text allows it, else quoted-printable."""
    data = "\r\n".join(body.splitlines()).encode("utf-8") + b"\r\n"
    if data.isascii() and max(map(len, data.split(b"\r\n"))) <= _MAX_HEADER_LINE:
        encoding = "7bit"
    else:
        encoding, data = "quoted-printable", binascii.b2a_qp(data, istext=True)
    head = f'Content-Type: {content_type}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}'
    return head.encode("ascii") + b"\r\n\r\n" + data


def _headers(
    to: str, subject: str, now: dt.datetime, links: DigestLinks, sender: str, site_name: str
) -> tuple[bytes, str]:
    """The message's headers, and its Message-ID."""
    from_header, domain = _sender(sender)
    message_id = make_msgid("digest", domain=domain)
    unsubscribe = _header_url(links.unsubscribe_url, "unsubscribe")
    _header_url(links.manage_url, "manage")
    head = [
        from_header,
        _header("To", to),
        _header("Subject", subject),
        _header("Date", format_datetime(now.astimezone(dt.UTC))),
        _header("Message-ID", message_id),
        _header("List-Id", _list_id(links.base_url, domain, site_name)),
        _header("List-Unsubscribe", f"<{unsubscribe}>"),
        _header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    ]
    return b"".join(head), message_id


def render_digest(
    digest: Digest,
    *,
    period: str,
    sender: str,
    to: str,
    now: dt.datetime,
    links: DigestLinks,
    site_name: str = "paperroute",
) -> RenderedDigest:
    """The whole mail for one subscriber and period, as bytes, and its Message-ID.

    Raises ValueError for an address or URL that cannot go in a header.
    """
    if not _ADDRESS.fullmatch(to):
        raise ValueError(f"{to!r} is not an address a digest can be sent to")
    subject = subject_for(digest, period, site_name)
    head, message_id = _headers(to, subject, now, links, sender, site_name)
    text_values, html_values = _values(digest, period, links, to, site_name)
    sizes = _sizes(digest)
    text = _fill(_shell(sizes, "digest.txt"), text_values)
    # Characters outside ASCII become references: the HTML part then needs no encoding.
    html = _fill(_shell(sizes, "digest.html"), html_values)
    html = html.encode("ascii", "xmlcharrefreplace").decode("ascii")
    boundary = f"=_{secrets.token_hex(16)}"  # "=_" never occurs in quoted-printable
    message = b"".join(
        [
            head,
            b"MIME-Version: 1.0\r\n",
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode(),
            f"--{boundary}\r\n".encode(),
            _part("text/plain", text),
            f"\r\n--{boundary}\r\n".encode(),
            _part("text/html", html),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    return RenderedDigest(message, message_id, subject)
