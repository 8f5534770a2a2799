"""Alembic environment: migrations run against the engine handed over in the config."""

from alembic import context
from sqlalchemy import text

from storage.models import Base

target_metadata = Base.metadata

# Several processes (crawl workers on several machines, or a crawl and the dashboard) may open a
# fresh database at the same moment: each migrates holding a lock for its whole transaction, so one
# migrates while the others wait, then find the schema current. On PostgreSQL an advisory lock (a
# number of our own, the same in every process); on SQLite the database's write lock.
MIGRATION_LOCK_KEY = 7_020_453_117


def _lock(connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # waits out another writer (the busy timeout)


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.begin() as connection:
        _lock(connection)
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations()
