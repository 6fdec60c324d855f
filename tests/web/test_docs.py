"""The API explorer at /docs: Swagger UI served from our own origin, no inline script."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paperroute.app import create_app
from paperroute.config import Settings
from paperroute.store.db import make_engine, upgrade_schema
from paperroute.web.docs import ASSET_DIR, ASSETS
from tests.conftest import require_or_skip
from tests.support import serve_app

CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright cannot download its own here
# Without the background-networking flags Chromium calls Google's services at start.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("docs")
    settings = Settings(home=home)
    engine = make_engine(settings.db_url)
    upgrade_schema(engine)
    engine.dispose()
    with serve_app(create_app(settings)) as url:
        yield url


def test_docs_load_everything_from_our_own_origin(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        page = client.get("/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "script-src 'self';" in page.headers["content-security-policy"]
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page.text, re.DOTALL)
        assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
        urls = re.findall(r'(?:src|href)="([^"]*)"', page.text)
        urls += re.findall(r'data-openapi-url="([^"]*)"', page.text)
        assert "/static/docs-init.js" in urls and "/openapi.json" in urls
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), url
            assert client.get(url).status_code == 200, url
        init = client.get("/static/docs-init.js")
        assert "SwaggerUIBundle" in init.text and "data-openapi-url" in init.text
        bundle = client.get("/docs/assets/swagger-ui-bundle.js")
        assert bundle.headers["content-type"].startswith("text/javascript")
        assert client.get("/openapi.json").json()["openapi"].startswith("3.1")


def test_only_the_explorers_files_are_served(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        for name in ("index.html", "swagger-initializer.js", "..%2F__init__.py", "nothing.js"):
            response = client.get(f"/docs/assets/{name}")
            assert response.status_code == 404, name


def test_every_listed_file_is_in_the_package() -> None:
    assert all((ASSET_DIR / name).is_file() for name in ASSETS)


@pytest.mark.e2e
def test_the_explorer_runs_in_a_browser_under_the_sites_csp(base_url: str) -> None:
    if not Path(CHROMIUM).exists():
        require_or_skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{base_url}/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            assert page.get_by_text("/api/v1/papers/{paper_id}/vote").count() >= 1
            assert page.locator(".btn.authorize").count() == 1
        finally:
            browser.close()
    assert problems == []  # a CSP violation is reported as a console error
