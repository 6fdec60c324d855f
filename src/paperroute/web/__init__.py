"""The site (server-rendered pages) and its JSON API."""
