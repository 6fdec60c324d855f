"""`paperroute doctor`: is this node set up to work? Each part checked, with what to do."""

from __future__ import annotations

import datetime as dt
import shutil
import smtplib
from collections.abc import Callable
from dataclasses import dataclass

import typer
from rich.table import Table
from sqlalchemy import text

from paperroute.cli.console import console
from paperroute.config import Settings
from paperroute.index.sync import index_in_use, last_sync
from paperroute.store.db import SchemaError, check_schema, make_engine
from paperroute.store.papers import count_changed_since

__all__ = ["doctor"]

MIN_FREE_BYTES = 1 << 30
SMTP_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Finding:
    part: str
    status: str  # ok | warn | fail
    detail: str


def _database(current: Settings) -> list[Finding]:
    engine = make_engine(current.db_url)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        check_schema(engine)
    except SchemaError as exc:
        return [Finding("database", "fail", str(exc))]
    except Exception as exc:
        return [Finding("database", "fail", f"cannot use {shown}: {exc}".splitlines()[0])]
    finally:
        engine.dispose()
    return [Finding("database", "ok", f"{shown}, schema current")]


def _index(current: Settings) -> list[Finding]:
    found = index_in_use(current.index_root)
    if found is None:
        return [Finding("search index", "warn", f"none in {current.index_root}: search and "
                        "similar papers are off; run `paperroute index rebuild`")]  # fmt: skip
    generation, model, watermark = found
    engine = make_engine(current.db_url)
    try:
        with engine.connect() as conn:
            behind = count_changed_since(conn, watermark)
    except Exception:
        behind = -1
    finally:
        engine.dispose()
    lag = "lag unknown" if behind < 0 else f"{behind:,} papers changed since its last sync"
    synced = last_sync(current.index_root)
    if synced is not None:
        lag += f" (last sync {(dt.datetime.now(dt.UTC) - synced).total_seconds():,.0f} s ago)"
    status = "ok" if behind == 0 else "warn"
    hint = "" if behind == 0 else "; `paperroute index sync --follow` keeps it caught up"
    return [Finding("search index", status, f"{generation} ({model}), {lag}{hint}")]


def _smtp(current: Settings) -> list[Finding]:
    if not current.smtp_host:
        return [Finding("mail", "warn", "no PAPERROUTE_SMTP_HOST: sign-in links are printed in "
                        "the server's terminal and digests are not sent")]  # fmt: skip
    where = f"{current.smtp_host}:{current.smtp_port}"
    try:
        if current.smtp_security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(current.smtp_host, current.smtp_port,
                                                    timeout=SMTP_TIMEOUT)  # fmt: skip
        else:
            client = smtplib.SMTP(current.smtp_host, current.smtp_port, timeout=SMTP_TIMEOUT)
        with client:
            client.ehlo()
            if current.smtp_security == "starttls" and not client.has_extn("starttls"):
                return [Finding("mail", "fail", f"{where} does not offer STARTTLS: set "
                                "PAPERROUTE_SMTP_SECURITY to tls or none")]  # fmt: skip
    except (OSError, smtplib.SMTPException) as exc:
        return [Finding("mail", "fail", f"cannot reach the SMTP server {where}: {exc}")]
    return [Finding("mail", "ok", f"{where} answers ({current.smtp_security})")]


def _site_address(current: Settings) -> list[Finding]:
    if current.base_url:
        return [Finding("site address", "ok", f"links in mail start with {current.base_url}")]
    # Links never come from a request's Host header, so without this no mail can link anywhere.
    return [Finding("site address", "fail", "no PAPERROUTE_BASE_URL: no sign-in or digest mail "
                    "can carry a link (only `paperroute serve` on 127.0.0.1 links to itself); "
                    "set it to the site's public address, e.g. https://papers.example.org")]  # fmt: skip


def _disk(current: Settings) -> list[Finding]:
    folder = current.home if current.home.exists() else current.home.parent
    free = shutil.disk_usage(folder.resolve()).free
    status = "ok" if free >= MIN_FREE_BYTES else "warn"
    return [Finding("disk", status, f"{free / (1 << 30):.1f} GB free for {current.home}")]


CHECKS: tuple[Callable[[Settings], list[Finding]], ...] = (
    _database,
    _index,
    _smtp,
    _site_address,
    _disk,
)


def doctor() -> None:
    """Check this node: settings, database and schema, search index and its lag, mail, disk.

    Exits 1 when something must be fixed before the site can work; warnings
    name what is off and how to turn it on.

    Example: [bold]PAPERROUTE_HOME=~/papers paperroute doctor[/]
    """
    try:
        current = Settings()
    except Exception as exc:
        findings = [Finding("settings", "fail", str(exc).splitlines()[0])]
    else:
        findings = [Finding("settings", "ok", f"home {current.home}")]
        for check in CHECKS:
            findings += check(current)
    table = Table(title="paperroute doctor")
    for column in ("part", "status", "detail"):
        table.add_column(column)
    colours = {"ok": "green", "warn": "yellow", "fail": "red"}
    for f in findings:
        table.add_row(f.part, f"[{colours[f.status]}]{f.status}[/]", f.detail)
    console.print(table)
    if any(f.status == "fail" for f in findings):
        raise typer.Exit(1)
