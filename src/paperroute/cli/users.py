"""`paperroute user`: accounts from the command line (the first admin, API tokens)."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table

from paperroute.cli.console import UserError, console, open_store
from paperroute.mailer import valid_email
from paperroute.store import api_tokens as token_store
from paperroute.store import users as user_store

__all__ = ["app"]

app = typer.Typer(help="Add users, make admins, create API tokens.", no_args_is_help=True)


def _address(email: str) -> str:
    address = valid_email(email)
    if address is None:
        raise UserError(f"{email!r} is not an email address (e.g. ada@example.org)")
    return address


@app.command("add")
def add(
    email: str = typer.Argument(..., help="The user's email address."),
    admin: bool = typer.Option(False, "--admin", help="Let the user hide papers."),
) -> None:
    """Add a user (or make an existing one admin); they sign in by emailed link.

    Example: [bold]paperroute user add --admin ada@example.org[/]
    """
    address = _address(email)
    with open_store() as engine, engine.begin() as conn:
        user = user_store.add_user(conn, address, dt.datetime.now(dt.UTC), is_admin=admin)
    console.print(f"{user.email}: user {user.id}{' (admin)' if user.is_admin else ''}")


@app.command("list")
def list_() -> None:
    """Every user, with when they joined and whether they are admins.

    Example: [bold]paperroute user list[/]
    """
    with open_store() as engine, engine.connect() as conn:
        found = user_store.list_users(conn)
    table = Table(title="Users")
    for column in ("id", "email", "admin", "joined"):
        table.add_column(column)
    for user in found:
        table.add_row(str(user.id), user.email, "yes" if user.is_admin else "",
                      f"{user.created_at:%Y-%m-%d}")  # fmt: skip
    console.print(table)


@app.command("token")
def token(
    email: str = typer.Argument(..., help="The user's email address."),
    name: str = typer.Option("cli", help="A name to recognise the token by."),
    days: int = typer.Option(
        90, min=0, max=3650, help="Days until the token expires; 0: never (until revoked)."
    ),
) -> None:
    """Create an API token for a user (printed once; only its hash is kept).

    The user sees it, and can revoke it, on their account page.

    Example: [bold]paperroute user token ada@example.org --name laptop --days 30[/]
    """
    address = _address(email)
    lifetime = dt.timedelta(days=days) if days else None
    with open_store() as engine, engine.begin() as conn:
        user = user_store.get_user_by_email(conn, address)
        if user is None:
            raise UserError(f"no user {address}; add one with `paperroute user add {address}`")
        now = dt.datetime.now(dt.UTC)
        secret = token_store.create_api_token(conn, user.id, name, now, lifetime=lifetime)
    console.out(secret)
