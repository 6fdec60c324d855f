"""Digest mails, parsed back with the email package as a mail client would."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html as html_module
import re
from email.message import EmailMessage

import pytest

from paperroute.digest.compose import Candidate, Digest, Pool, compose_digest
from paperroute.digest.render import DigestLinks, digest_html, render_digest
from paperroute.domain import Paper
from paperroute.store.subscribers import Preferences

NOW = dt.datetime(2026, 3, 20, 7, 0, tzinfo=dt.UTC)
SITE = "https://papers.example.org"
LINKS = DigestLinks(
    SITE, f"{SITE}/digest/unsubscribe/7.0.abcdefghijklmnopqrstuvwxyz0", f"{SITE}/digest/manage/7.1"
)
SENDER = "paperroute <digest@papers.example.org>"
HOSTILE = Paper(
    title="Attention <b>is</b> all & more",
    abstract="We show <script>alert('x')</script> that <img src=https://evil.example/p.gif> "
    "transformers\r\nwork. " * 3,
    source="test", arxiv_id="2603.00001", key="2603.00001", authors=("Ada Lovelace", "Émile Borel"),
    categories=("cs.LG",), announced=dt.date(2026, 3, 19), code_url="javascript:alert(1)",
)  # fmt: skip
PLAIN = Paper(
    title="Graph networks for molecules", abstract="Message passing.", source="test",
    arxiv_id="2603.00002", key="2603.00002", categories=("cs.LG",),
    code_url="https://github.com/example/graphs",
)  # fmt: skip


def make_digest(*papers: Paper, search: str = "transformers") -> Digest:
    pool = Pool([Candidate(i, p, 3) for i, p in enumerate(papers, 1)], {search: [1]})
    wanted = Preferences(searches=(search,), categories=("cs.LG",), include_trending=False)
    digest = compose_digest(wanted, pool)
    assert digest is not None
    return digest


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_the_mail_has_both_parts_and_the_list_headers() -> None:
    rendered = render_digest(
        make_digest(HOSTILE, PLAIN), period="2026-03-20", sender=SENDER, to="reader@example.com",
        now=NOW, links=LINKS,
    )  # fmt: skip
    message = parse(rendered.message)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["From"] == SENDER and message["To"] == "reader@example.com"
    assert message["Subject"] == "paperroute: 2 papers for Friday, March 20" == rendered.subject
    assert message["Date"] == "Fri, 20 Mar 2026 07:00:00 +0000"
    assert message["Message-ID"] == rendered.message_id
    assert re.fullmatch(r"<[^<>@\s]+@papers\.example\.org>", rendered.message_id)
    assert message["List-Id"] == "paperroute digest <digest.papers.example.org>"
    assert message["List-Unsubscribe"] == f"<{LINKS.unsubscribe_url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not message.defects and not any(p.defects for p in message.walk())
    text, html = parts(message)
    for body in (text, html):
        assert LINKS.unsubscribe_url in body and LINKS.manage_url in body
        assert f"{SITE}/papers/2603.00001" in body
        assert (
            "https://arxiv.org/abs/2603.00001" in body
            and "https://arxiv.org/pdf/2603.00001" in body
        )
        assert "https://github.com/example/graphs" in body
        assert "\u00c9mile Borel" in html_module.unescape(body)  # non-ASCII survives the trip
    assert "Manage preferences" in html and "Unsubscribe" in html
    assert "matches your search \u2018transformers\u2019" in text


def test_the_raw_message_is_clean_smtp() -> None:
    raw = render_digest(
        make_digest(HOSTILE, PLAIN), period="2026-03-20", sender="P\u00e4per Route <digest@papers.example.org>",
        to="reader@example.com", now=NOW, links=LINKS,
    ).message  # fmt: skip
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert parse(raw)["From"] == "P\u00e4per Route <digest@papers.example.org>"


def test_everything_from_papers_is_escaped_and_nothing_loads_from_elsewhere() -> None:
    message = parse(
        render_digest(
            make_digest(HOSTILE), period="2026-W12", sender=SENDER, to="reader@example.com",
            now=NOW, links=LINKS,
        ).message
    )  # fmt: skip
    text, html = parts(message)
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert "<img" not in html.lower() and "&lt;img src=https://evil.example/p.gif&gt;" in html
    assert "<b>is</b>" not in html and "Attention &lt;b&gt;is&lt;/b&gt; all &amp; more" in html
    assert "javascript:" not in html and "javascript:" not in text
    assert not re.search(r"<[^>]*\bsrc\s*=", html, re.IGNORECASE)
    assert not re.search(r"<link\b", html, re.IGNORECASE)
    assert "<script>alert('x')</script>" in text  # plain text shows it as it is, harmless there
    assert message["Subject"] == "paperroute: 1 paper for the week of March 16"


def test_css_is_inlined_and_dark_mode_rules_stay() -> None:
    html = digest_html(make_digest(PLAIN), "2026-03-20", LINKS, to="reader@example.com")
    assert re.search(
        r'<td class="paper" style="font-family: [^";]+;padding: 10px 24px 14px 24px;', html
    )
    assert "&#34;" not in html and "&quot;" not in html  # the style sheet is ours: not escaped
    assert re.search(r'<a class="title" href="[^"]+" style="[^"]*font-weight', html)
    assert "@media (prefers-color-scheme: dark)" in html
    assert 'name="color-scheme" content="light dark"' in html
    assert "<table" in html and 'role="presentation"' in html


def test_nothing_a_subscriber_typed_can_add_a_header() -> None:
    sneaky = "diffusion\r\nBcc: victim@example.org\r\n\r\n<html>"
    message = parse(
        render_digest(
            make_digest(HOSTILE, search=sneaky), period="2026-03-20", sender=SENDER,
            to="reader@example.com", now=NOW, links=LINKS,
        ).message
    )  # fmt: skip
    assert message["Bcc"] is None and "victim" not in str(message["Subject"])
    assert sorted(message.keys()) == sorted(
        ["From", "To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe",
         "List-Unsubscribe-Post", "MIME-Version", "Content-Type"]
    )  # fmt: skip
    text, html = parts(message)
    assert "search &#8216;diffusion Bcc: victim@example.org &lt;html&gt;&#8217;" in html
    assert "diffusion Bcc: victim@example.org <html>" in text


@pytest.mark.parametrize(
    ("to", "unsubscribe"),
    [
        ("reader@example.com\r\nBcc: victim@example.org", LINKS.unsubscribe_url),
        ("reader@example.com\nX: y", LINKS.unsubscribe_url),
        ("Reader <reader@example.com>", LINKS.unsubscribe_url),
        ("reader@example.com", LINKS.unsubscribe_url + "\r\nBcc: victim@example.org"),
        ("reader@example.com", LINKS.unsubscribe_url + "> <mailto:victim@example.org"),
        ("reader@example.com", "javascript:alert(1)"),
    ],
)
def test_a_header_value_with_a_line_break_is_refused(to: str, unsubscribe: str) -> None:
    links = DigestLinks(SITE, unsubscribe, LINKS.manage_url)
    with pytest.raises(ValueError, match=r"address|URL"):
        render_digest(
            make_digest(PLAIN), period="2026-03-20", sender=SENDER, to=to, now=NOW, links=links
        )


def test_a_full_digest_stays_under_gmails_clipping_size() -> None:
    long = "word " * 400
    papers = [
        Paper(title=f"A long title about things number {i} " * 3, abstract=long, source="t",
              arxiv_id=f"2603.{i:05d}", key=f"2603.{i:05d}", authors=tuple(f"Author {j}" for j in range(30)),
              categories=("cs.LG", "cs.AI", "stat.ML"), code_url="https://github.com/x/y")
        for i in range(1, 80)
    ]  # fmt: skip
    pool = Pool([Candidate(i, p, i) for i, p in enumerate(papers, 1)])
    digest = compose_digest(Preferences(categories=("cs.LG",), max_papers=500), pool)
    assert digest is not None and digest.count == 50
    html = digest_html(digest, "2026-03-20", LINKS, to="reader@example.com")
    assert len(html.encode()) < 102_000
