"""Engine setup and migrations, on SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import BACKENDS

from storage.db import Database, alembic_config, current_revision, head_revision
from storage.errors import DatabaseUrlError, StorageError
from storage.models import Base

both_backends = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)


@both_backends
def test_first_use_migrates_to_head(database_url):
    db = Database(database_url)
    with db.session() as session:
        session.execute(sa.text("select 1"))
    assert current_revision(db.engine) == head_revision()
    db.close()


@both_backends
def test_migrated_schema_matches_the_models(database_url):
    db = Database(database_url)
    db.ensure_schema()
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    db.close()


@both_backends
def test_migrations_downgrade_and_upgrade_again(database_url):
    db = Database(database_url)
    db.ensure_schema()
    command.downgrade(alembic_config(db.engine), "base")
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(alembic_config(db.engine), "head")
    assert {"pages", "document_versions", "predictions", "labels", "crawl_runs", "sources"} <= set(
        sa.inspect(db.engine).get_table_names()
    )
    db.close()


@both_backends
def test_session_rolls_back_on_error(database_url):
    db = Database(database_url)
    with pytest.raises(RuntimeError):
        with db.session() as session:
            session.execute(sa.text("insert into sources (name, kind, config, created_at) "
                                    "values ('x', 'site', '{}', CURRENT_TIMESTAMP)"))
            raise RuntimeError("boom")
    with db.session() as session:
        assert session.execute(sa.text("select count(*) from sources")).scalar() == 0
    db.close()


def test_sqlite_uses_wal_busy_timeout_and_foreign_keys(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.close()


def test_unreachable_database_is_a_storage_error():
    db = Database("postgresql+psycopg://nobody:hunter2@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StorageError, match="cannot open database") as error:
        db.ensure_schema()
    message = str(error.value)
    assert "\n" not in message and "hunter2" not in message
    assert "nobody:***@127.0.0.1:1/none" in message and "Connection refused" in message


@pytest.mark.parametrize(("url", "problem"), [
    ("notaurl", "not a database URL"),
    ("oracle://", "driver 'oracledb' is not installed"),
    ("nosuchdb://host/x", "unknown kind of database"),
    ("postgres ql://me:hunter2@host/x", "not a database URL"),
])
def test_unusable_database_urls_are_one_line_errors(url, problem):
    with pytest.raises(DatabaseUrlError, match=problem) as error:
        Database(url)
    assert "\n" not in str(error.value) and "hunter2" not in str(error.value)


@both_backends
def test_processes_opening_a_fresh_database_at_once_migrate_it_once(database_url):
    """Crawl workers (on several machines, with PostgreSQL) start together against a new database."""
    import subprocess
    import sys

    from hypewatch.settings import PROJECT_ROOT

    script = "import sys; from storage.db import Database; Database(sys.argv[1]).ensure_schema()"
    processes = [subprocess.Popen([sys.executable, "-c", script, database_url], cwd=PROJECT_ROOT,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
    problems = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * 3, problems
    db = Database(database_url, migrate=False)
    assert current_revision(db.engine) == head_revision()
    db.close()
