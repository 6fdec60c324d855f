"""Search: the query language, fusion of lexical and semantic results, the service."""
