"""Running the real CLI: in process for speed, or as a subprocess where exit and output matter."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperroute.cli import app
from paperroute.cli.main import describe_error
from paperroute.store.db import make_engine, upgrade_schema

Invoke = Callable[..., "InvokeResult"]


class InvokeResult:
    def __init__(self, exit_code: int, output: str) -> None:
        self.exit_code, self.output = exit_code, output


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "PAPERROUTE_HOME": str(tmp_path / "home"),
        "PAPERROUTE_DATABASE_URL": db_url,
        "PAPERROUTE_REQUEST_DELAY": "0",
        "PAPERROUTE_REQUEST_TIMEOUT": "2",
        "COLUMNS": "200",
    }


@pytest.fixture
def invoke(cli_env: dict[str, str]) -> Invoke:
    """Run `paperroute ARGS...` in process with the test's settings; fail on a crash."""
    runner = CliRunner()

    def run(*args: str, expect: int = 0, env: dict[str, str] | None = None) -> InvokeResult:
        result = runner.invoke(app, list(args), env=cli_env | (env or {}))
        output, code = result.output, result.exit_code
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            message = describe_error(result.exception)  # what main() would print
            if message is None:
                raise result.exception
            output, code = output + f"error: {message}\n", 1
        assert code == expect, output
        return InvokeResult(code, output)

    return run


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the installed entry point as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "paperroute", *args],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def sqlite_db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite database at the current schema, for modules that test commands
    rather than stores (they take it as their `db_url`)."""
    url = f"sqlite:///{tmp_path / 'paperroute.db'}"
    engine = make_engine(url)
    upgrade_schema(engine)
    engine.dispose()
    yield url
