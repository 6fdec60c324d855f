"""`paperroute backup` and `restore`: a round trip on both databases."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from paperroute.store.schema import papers, users
from paperroute.store.users import add_user
from tests.cli.conftest import Invoke
from tests.cli.test_main import SLICE
from tests.web.conftest import NOW


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        count = lambda table: conn.execute(select(func.count()).select_from(table)).scalar_one()  # noqa: E731
        return count(papers), count(users)


def test_a_backup_restores_what_it_held(invoke: Invoke, engine: Engine, tmp_path: Path) -> None:
    invoke("init")
    invoke("ingest", "file", str(SLICE))
    before = _counts(engine)
    target = tmp_path / "backups" / "papers.backup"
    assert "Backed up to" in invoke("backup", str(target)).output and target.stat().st_size > 0
    assert "exists: choose a new file name" in invoke("backup", str(target), expect=1).output

    with engine.begin() as conn:  # a change after the backup: the restore takes it away
        add_user(conn, "after-the-backup@example.org", NOW)
    assert _counts(engine) == (before[0], before[1] + 1)
    assert "add --yes" in invoke("restore", str(target), expect=1).output
    engine.dispose()  # the site and workers are stopped for a restore
    assert "Restored from" in invoke("restore", str(target), "--yes").output
    assert _counts(engine) == before
    # The schema is current and the database answers (the site address is checked too).
    invoke("doctor", env={"PAPERROUTE_BASE_URL": "https://papers.example.org"})

    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    assert "is not a" in invoke("restore", str(junk), "--yes", expect=1).output
