"""SQLAlchemy 2 (Core, async) storage for SQLite and PostgreSQL: one code path for both."""
