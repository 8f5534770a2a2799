"""Alembic environment: migrations run against the engine handed over in the config."""

from alembic import context
from sqlalchemy import text

from storage.models import Base

target_metadata = Base.metadata

# Workers on several machines may open a fresh PostgreSQL database at the same moment: an advisory
# lock held for the migration's transaction lets one migrate while the others wait, then find the
# schema current. (A number of our own, the same in every process.)
MIGRATION_LOCK_KEY = 7_020_453_117


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations()
