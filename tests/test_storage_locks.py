"""storage.locks: the scheduler lock (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from storage.db import Database
from storage.locks import SchedulerLockHeld, acquire_lock, heartbeat_lock, lock_owner, release_lock
from storage.models import utcnow
from tests.conftest import BACKENDS

TTL = dt.timedelta(seconds=60)


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.close()


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_one_scheduler_lock_holder_at_a_time(db):
    now = utcnow()
    with db.session() as session:
        acquire_lock(session, "scheduler", "first", host="h", pid=1, ttl=TTL, now=now)
    with db.session() as session, pytest.raises(SchedulerLockHeld, match="another scheduler is running.*pid 1 on h"):
        acquire_lock(session, "scheduler", "second", host="h", pid=2, ttl=TTL, now=now + dt.timedelta(seconds=30))
    with db.session() as session:
        assert heartbeat_lock(session, "scheduler", "first", now=now + dt.timedelta(seconds=50))
        assert not heartbeat_lock(session, "scheduler", "second")
    # The first holder stops beating (it died): after the time-to-live the lock can be taken over.
    with db.session() as session:
        acquire_lock(session, "scheduler", "second", host="h", pid=2, ttl=TTL, now=now + dt.timedelta(seconds=115))
    with db.session() as session:
        assert lock_owner(session, "scheduler").holder == "second"
        assert not heartbeat_lock(session, "scheduler", "first")
        release_lock(session, "scheduler", "first")  # not the holder: no effect
        assert lock_owner(session, "scheduler").pid == 2
        release_lock(session, "scheduler", "second")
        assert lock_owner(session, "scheduler") is None
