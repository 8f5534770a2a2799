"""The one INSERT that skips rows already stored: ON CONFLICT DO NOTHING, on PostgreSQL and SQLite.

Every write that can race with another writer (crawls on several machines, two schedulers
starting at once) inserts through here, so a unique constraint settles the race instead of
failing one side; the caller then reads back whichever row won.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Base


def insert_ignoring_conflicts(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]],
                              conflict_columns: Sequence[str]) -> None:
    """Insert `rows` into `model`'s table in one statement, skipping each row whose
    `conflict_columns` (a unique key) match a stored row."""
    if not rows:
        return
    columns = list(conflict_columns)
    dialect = session.get_bind().dialect.name
    statement: Executable
    if dialect == "postgresql":
        statement = postgresql.insert(model).on_conflict_do_nothing(index_elements=columns)
    elif dialect == "sqlite":
        statement = sqlite.insert(model).on_conflict_do_nothing(index_elements=columns)
    else:  # pragma: no cover - other backends fall back to check-then-insert, which can race
        for row in rows:
            if session.scalars(select(model).filter_by(**{c: row[c] for c in columns})).first() is None:
                session.execute(insert(model).values(**row))
        return
    session.execute(statement, list(rows))
