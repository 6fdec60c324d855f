"""Settings, read from PAPERROUTE_* environment variables by app.py and cli.py only."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERROUTE_", extra="ignore")

    home: Path = Path("data")
    database_url: str | None = None
    arxiv_api_url: str = "https://export.arxiv.org"
    arxiv_oai_url: str = "https://oaipmh.arxiv.org"
    arxiv_rss_url: str = "https://rss.arxiv.org"
    hf_url: str = "https://huggingface.co"
    embedder: str = "minilm"  # or st:/path/to/model, model2vec:/path/to/model
    request_delay: float = 3.0
    request_timeout: float = 30.0

    @property
    def index_root(self) -> Path:
        return self.home / "index"

    @property
    def db_url(self) -> str:
        """PostgreSQL when configured, else a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'paperroute.db').resolve()}"
