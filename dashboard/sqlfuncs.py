"""Small SQL functions that differ between SQLite and PostgreSQL, compiled per dialect.

The dashboard groups by day and week and compares several columns at once; SQLite and
PostgreSQL spell these differently, so each construct compiles to the form its backend knows.
"""

from __future__ import annotations

from sqlalchemy import Date, Float, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class day_of(FunctionElement):  # noqa: N801 - reads like SQL
    """The calendar date of a timestamp."""

    type = Date()
    inherit_cache = True


@compiles(day_of)
def _day_of_default(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(day_of, "sqlite")
def _day_of_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)})"


class week_start(FunctionElement):  # noqa: N801
    """The Monday that starts the ISO week of a date."""

    type = Date()
    inherit_cache = True


@compiles(week_start)
def _week_start_default(element, compiler, **kw):
    return f"CAST(date_trunc('week', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(week_start, "sqlite")
def _week_start_sqlite(element, compiler, **kw):
    # 'weekday 0' moves forward to the next Sunday (or stays on one); six days back is its Monday.
    return f"date({compiler.process(element.clauses, **kw)}, 'weekday 0', '-6 days')"


class least(FunctionElement):  # noqa: N801
    """The smallest of several values."""

    type = Float()
    inherit_cache = True


@compiles(least)
def _least_default(element, compiler, **kw):
    return f"LEAST({compiler.process(element.clauses, **kw)})"


@compiles(least, "sqlite")
def _least_sqlite(element, compiler, **kw):
    return f"min({compiler.process(element.clauses, **kw)})"


class days_since_epoch(FunctionElement):  # noqa: N801
    """Whole days from 1970-01-01 to a date (a plain number: cheap to read in bulk)."""

    type = Integer()
    inherit_cache = True


@compiles(days_since_epoch)
def _days_default(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} - DATE '1970-01-01')"


@compiles(days_since_epoch, "sqlite")
def _days_sqlite(element, compiler, **kw):
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5 AS INTEGER)"


class epoch_seconds(FunctionElement):  # noqa: N801
    """Seconds since 1970-01-01 UTC of a timestamp."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_default(element, compiler, **kw):
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    # SQLite keeps UTC timestamps as text; julianday reads them as UTC.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"
