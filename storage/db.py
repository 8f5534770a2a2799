"""Engines, sessions and schema migrations.

SQLite is the embedded default: WAL mode so the dashboard reads while a crawl writes, a busy
timeout so concurrent writers wait instead of failing, and foreign keys enforced. Any SQLAlchemy
URL works; PostgreSQL is the tested alternative.

A URL that cannot be used, and a database that cannot be reached, are `StorageError`s of one
line that name the database (never its password) and the cause.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import DatabaseUrlError, MigrationError, StorageError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
URL_EXAMPLES = "sqlite:///PATH/TO/FILE.db or postgresql+psycopg://USER@HOST/DATABASE"
PASSWORD_IN_TEXT = re.compile(r"(://[^:/@]*:)[^@/]*@")


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL mode, a busy timeout and enforced foreign keys.

    Raises `DatabaseUrlError` when the URL cannot be used."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        shown = PASSWORD_IN_TEXT.sub(r"\1***@", url)
        raise DatabaseUrlError(f"not a database URL: {shown[:200]!r} (expected {URL_EXAMPLES})") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            event.listen(engine, "connect", _configure_sqlite_connection)
            return engine
        return create_engine(parsed, pool_pre_ping=True)
    except NoSuchModuleError:
        raise DatabaseUrlError(f"{shown_url(parsed)}: unknown kind of database {parsed.drivername!r} "
                               f"(expected {URL_EXAMPLES})") from None
    except ImportError as exc:  # SQLAlchemy knows the database, but its Python driver is not installed
        raise DatabaseUrlError(f"{shown_url(parsed)}: the Python driver {exc.name or str(exc)!r} is not installed "
                               "(SQLite and PostgreSQL are supported)") from None
    except ArgumentError as exc:
        raise DatabaseUrlError(f"{shown_url(parsed)}: {one_line(exc)}") from None
    except OSError as exc:  # the SQLite file's directory cannot be made
        raise DatabaseUrlError(f"{shown_url(parsed)}: cannot create its directory: {exc.strerror}") from None


def shown_url(url: URL | str) -> str:
    """The database's URL as messages show it: with the password hidden."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


def one_line(exc: BaseException) -> str:
    """The first line of what a database error says (its driver's message, without SQLAlchemy's
    background link or psycopg's hint lines)."""
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def _configure_sqlite_connection(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:  # only if the migrations directory lost its scripts
        raise MigrationError(f"no migration scripts in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (idempotent)."""
    try:
        command.upgrade(alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        raise MigrationError(f"could not migrate {shown_url(engine.url)}: {one_line(exc)}") from exc


class Database:
    """An engine plus a session factory; the schema is migrated on first use."""

    def __init__(self, url: str, *, migrate: bool = True):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._migrate = migrate
        self._ready = False
        # Alembic's context is global to the process: threads (a request, the dashboard's
        # background work) opening a fresh database at once migrate it one after the other.
        self._migrating = threading.Lock()
        self._inherited: list[object] = []  # in a forked child: the parent's pools, kept from collection

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ensure_schema(self) -> None:
        if self._ready or not self._migrate:
            return
        with self._migrating:
            if self._ready:
                return
            try:
                if current_revision(self.engine) != head_revision():
                    logger.info("migrating %s", shown_url(self.engine.url))
                    upgrade(self.engine)
            except SQLAlchemyError as exc:
                raise StorageError(f"cannot open database {shown_url(self.engine.url)}: {one_line(exc)}") from exc
            self._ready = True

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        self.ensure_schema()
        with self._sessions() as session, session.begin():
            yield session

    def before_fork(self) -> None:
        """Call just before `os.fork()`: the idle pooled connections of an SQLite database are closed.
        SQLite keeps its own record of the files and locks a process holds; carried into a child, it
        tells the child's new connections they hold locks only the parent holds. Connections other
        threads have checked out at the fork are still carried; the child must leave them alone."""
        if self.dialect == "sqlite":
            self.engine.dispose()

    def after_fork_in_child(self) -> None:
        """Call first thing in a process forked from one that used this database: the parent's pooled
        connections are dropped untouched (never used, closed or even garbage-collected here, which
        would close an SQLite handle the parent still uses), and the child opens its own."""
        self._inherited.append(self.engine.pool)
        self.engine.dispose(close=False)

    def close(self) -> None:
        self.engine.dispose()
