"""The `paperroute` command: one sub-command per operation, each calling a service."""

from paperroute.cli.main import app, main

__all__ = ["app", "main"]
