"""The store: engine, tables, migrations and the shared queries."""
