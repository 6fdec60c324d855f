"""All SQL lives here: the schema, migrations, and one function per query."""
