"""`paperroute mcp`: the paper tools for an AI assistant, over the Model Context Protocol on stdio."""

from __future__ import annotations

import datetime as dt
from functools import partial

import typer

from paperroute.cli.console import UserError, open_store, settings
from paperroute.index.embed import embedder_name, load_embedder
from paperroute.logs import configure_logging
from paperroute.mailer import valid_email
from paperroute.rank.for_you import CandidateCache
from paperroute.search.live import LiveSearch
from paperroute.store import users as user_store

__all__ = ["mcp"]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def mcp(
    user: str | None = typer.Option(
        None, "--user", metavar="EMAIL", help="The reader whose for-you list for_you gives."
    ),
) -> None:
    """Serve the paper tools to an AI assistant over stdio (MCP): search_papers, get_paper,
    similar_papers, daily_papers and for_you.

    The assistant starts this command itself (its MCP configuration names the command,
    its arguments and PAPERROUTE_HOME or PAPERROUTE_DATABASE_URL); stdout carries the
    protocol only. Assistants elsewhere use the site's /mcp with an API token.

    Example: [bold]paperroute mcp --user ada@example.org[/]
    """
    # The SDK takes a second or two to import: only this command pays for it.
    from paperroute.mcp_server import Caller, PaperTools, build_server

    current = settings()
    configure_logging(current.log_format, current.log_level)  # to stderr: stdout is the protocol
    with open_store(current) as engine:
        user_id = None
        if user is not None:
            address = valid_email(user) or user
            with engine.connect() as conn:
                found = user_store.get_user_by_email(conn, address)
            if found is None:
                raise UserError(f"no user {user!r}: `paperroute user list` shows them")
            user_id = found.id
        search = LiveSearch(engine, current.index_root, partial(load_embedder, current.embedder))
        tools = PaperTools(engine=engine, search=search,
                           candidates=CandidateCache(embedder_name(current.embedder)),
                           base_url=current.mail_base_url, clock=_utc_now)  # fmt: skip
        caller = Caller(tools, user_id)
        build_server(lambda _: caller).run("stdio")
