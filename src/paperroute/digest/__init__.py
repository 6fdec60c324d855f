"""Email digests: compose (pure), render, build into the outbox, send."""
