"""Settings, read from PAPERROUTE_* environment variables by app.py and cli.py only."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import PositiveFloat, PositiveInt, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from paperroute.worker import DEFAULT_SCHEDULE, LEASE, ScheduledJob

__all__ = ["Settings", "is_loopback"]


def is_loopback(host: str | None) -> bool:
    """A name or address that only reaches this machine."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERROUTE_", extra="ignore")

    home: Path = Path("data")
    database_url: str | None = None
    arxiv_api_url: str = "https://export.arxiv.org"
    arxiv_oai_url: str = "https://oaipmh.arxiv.org"
    arxiv_rss_url: str = "https://rss.arxiv.org"
    hf_url: str = "https://huggingface.co"
    zotero_url: str = "https://api.zotero.org"  # the Zotero Web API (v3)
    embedder: str = "minilm"  # or st:/path/to/model, model2vec:/path/to/model
    request_delay: float = 3.0
    request_timeout: float = 30.0
    # Seconds for a whole request, headers and body: a trickling server is cut off.
    request_deadline: PositiveFloat = 60.0
    # The site's public address, e.g. https://papers.example.org: every link in
    # mail (sign-in, digests) starts with it, never with a request's Host. Without
    # it only `paperroute serve` on a loopback address mails links (to itself).
    base_url: str | None = None
    # Host names the site answers to besides base_url's and loopback's, as JSON:
    # ["papers.internal", "10.0.0.5"]. A request for any other Host gets a 400.
    trusted_hosts: list[str] = []
    # Set by `paperroute serve` for its workers: the address it listens on.
    listen_url: str | None = None
    secure_cookies: bool = False  # set when served over HTTPS
    # Bytes a request body may have (forms, API bodies); a longer one is refused unread.
    max_body_bytes: PositiveInt = 1_000_000
    # Outgoing mail (sign-in links, digests). Without a host, mails are written
    # to the server log instead: enough for one person on a laptop.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls, tls or none
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "paperroute <paperroute@localhost>"
    smtp_timeout: float = 30.0  # seconds for the server to answer one command
    # The digest sender (`paperroute digest send`): mails a second (0: as fast
    # as the server takes them), seconds a digest being sent stays claimed (a
    # crashed sender's digests go again after it), tries before giving up.
    digest_rate: float = 20.0
    digest_lease: float = 600.0
    digest_max_attempts: int = 8
    # What `paperroute worker` runs, as JSON: [{"cron": "30 1 * * 1-5",
    # "command": "ingest rss --category cs"}, ...]; times are UTC.
    schedule: list[ScheduledJob] = list(DEFAULT_SCHEDULE)
    # Seconds a worker holds a scheduled job without renewing its lease (it renews
    # it while the job runs): a dead worker's job runs elsewhere at the first
    # firing after this has passed. Keep it well above a pause of the database.
    job_lease: PositiveFloat = LEASE.total_seconds()
    log_format: Literal["text", "json"] = "text"  # json: one object per line, for collectors
    log_level: str = "INFO"

    @field_validator("base_url")
    @classmethod
    def _site_address(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"PAPERROUTE_BASE_URL={value!r} is not a web address: write the site's public "
                "address, e.g. https://papers.example.org"
            )
        return value.rstrip("/")

    @property
    def mail_base_url(self) -> str | None:
        """Where links in mail point: base_url, else a loopback `serve`, else nowhere."""
        if self.base_url:
            return self.base_url
        if self.listen_url and is_loopback(urlsplit(self.listen_url).hostname):
            return self.listen_url.rstrip("/")
        return None

    @property
    def index_root(self) -> Path:
        return self.home / "index"

    @property
    def db_url(self) -> str:
        """PostgreSQL when configured, else a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'paperroute.db').resolve()}"
