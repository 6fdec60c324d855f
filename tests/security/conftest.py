"""The security regression suite runs against the same site as the web tests."""

from tests.web.conftest import Clock, Mailbox, Site, site

__all__ = ["Clock", "Mailbox", "Site", "site"]
