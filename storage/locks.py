"""The scheduler lock: one live holder per lock name on a database, kept by its heartbeat.

A holder refreshes its heartbeat while it lives; a lock whose heartbeat is older than its
time-to-live belongs to a holder that died, and the next contender takes it over.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, update
from sqlalchemy.orm import Session

from storage.errors import StorageError
from storage.models import SchedulerLock, utcnow
from storage.upsert import insert_ignoring_conflicts

logger = logging.getLogger(__name__)


class SchedulerLockHeld(StorageError):
    """Another live scheduler holds the lock on this database."""


@dataclass(frozen=True)
class LockOwner:
    holder: str
    host: str
    pid: int
    acquired_at: dt.datetime
    heartbeat_at: dt.datetime


def acquire_lock(session: Session, name: str, holder: str, *, host: str, pid: int, ttl: dt.timedelta,
                 now: dt.datetime | None = None) -> None:
    """Take lock `name` for `holder`, or raise `SchedulerLockHeld` naming the live holder.

    Each step is one atomic statement, so two contenders on SQLite or PostgreSQL cannot both win:
    insert the row if there is none; otherwise take it over only if its heartbeat is stale. Then
    whoever the row names holds the lock.
    """
    now = now or utcnow()
    values = {"holder": holder, "host": host, "pid": pid, "acquired_at": now, "heartbeat_at": now}
    insert_ignoring_conflicts(session, SchedulerLock, [{"name": name, **values}], ["name"])
    # A row we have just inserted is fresh, so only someone else's stale row is taken over here.
    taken = session.execute(
        update(SchedulerLock).where(SchedulerLock.name == name, SchedulerLock.heartbeat_at < now - ttl).values(**values)
    )
    if _rowcount(taken) == 1:
        logger.warning("took over the stale %s lock", name)
        return
    owner = lock_owner(session, name)
    if owner is not None and owner.holder == holder:
        return
    if owner is None:  # released between our two statements: try once more
        return acquire_lock(session, name, holder, host=host, pid=pid, ttl=ttl, now=now)
    age = (now - owner.heartbeat_at).total_seconds()
    raise SchedulerLockHeld(
        f"another scheduler is running on this database (pid {owner.pid} on {owner.host}, since "
        f"{owner.acquired_at:%Y-%m-%d %H:%M:%S} UTC, last heartbeat {age:.0f} s ago); stop it first, or wait "
        f"{max(0, ttl.total_seconds() - age):.0f} s if it died"
    )


def take_over_lock(session: Session, name: str, old_holder: str, holder: str, *, host: str, pid: int,
                   now: dt.datetime | None = None) -> bool:
    """Take the lock from `old_holder` (known to be dead); False if it changed hands meanwhile."""
    now = now or utcnow()
    result = session.execute(
        update(SchedulerLock).where(SchedulerLock.name == name, SchedulerLock.holder == old_holder)
        .values(holder=holder, host=host, pid=pid, acquired_at=now, heartbeat_at=now)
    )
    return _rowcount(result) == 1


def heartbeat_lock(session: Session, name: str, holder: str, *, now: dt.datetime | None = None) -> bool:
    """Refresh the lock; False when `holder` no longer holds it."""
    result = session.execute(
        update(SchedulerLock).where(SchedulerLock.name == name, SchedulerLock.holder == holder)
        .values(heartbeat_at=now or utcnow())
    )
    return _rowcount(result) == 1


def release_lock(session: Session, name: str, holder: str) -> None:
    session.execute(delete(SchedulerLock).where(SchedulerLock.name == name, SchedulerLock.holder == holder))


def lock_owner(session: Session, name: str) -> LockOwner | None:
    row = session.get(SchedulerLock, name, populate_existing=True)
    if row is None:
        return None
    return LockOwner(row.holder, row.host, row.pid, row.acquired_at, row.heartbeat_at)


def _rowcount(result: Result[Any]) -> int:
    # An UPDATE or DELETE returns a CursorResult; Session.execute is typed as returning any Result.
    return cast(CursorResult[Any], result).rowcount
