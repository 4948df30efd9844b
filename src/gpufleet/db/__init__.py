"""The control plane's state: tenants, jobs and the event log in SQLite or PostgreSQL.

`records` holds the plain values; `store` the database access (import it only where needed:
SQLAlchemy and Alembic take a while to import).
"""
