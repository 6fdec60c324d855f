"""One module per source. Each yields `Paper`, `Rejected` and `Checkpoint` items.

A source never writes to the database and never stops at a bad record: it
yields `Rejected(location, reason)` and goes on. Network sources take a
`PoliteClient` and a base URL (tests point it at a server on 127.0.0.1), and
yield a `Checkpoint` after each page so an interrupted run resumes there.
"""
