"""The site: server-rendered pages over the store."""
