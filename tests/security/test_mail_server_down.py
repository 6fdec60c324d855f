"""Finding 9: with the mail server down, asking for a sign-in link is a 503 that says to
retry, as subscribing to the digest already was."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from paperroute.app import create_app
from paperroute.config import Settings
from tests.support import free_port
from tests.web.conftest import Site


def test_sign_in_with_the_mail_server_down_says_to_retry(db_url: str, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, database_url=db_url, base_url="http://127.0.0.1",
        smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none",
    )  # fmt: skip
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        site = Site(client, None, None, None)  # type: ignore[arg-type]  # only for its csrf()
        for path in ("/signin", "/digest/subscribe"):
            data = {"email": "reader@example.org", "csrf": site.csrf(path)}
            page = client.post(path, data=data)
            assert page.status_code == 503, (path, page.text)
            assert "could not send the mail just now" in page.text
            assert "Traceback" not in page.text
