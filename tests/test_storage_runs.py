"""storage.runs: finishing runs, silent sources, the newest run of each source (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from storage.db import Database
from storage.models import utcnow
from storage.runs import RunCounts, abandon_stale_runs, finish_crawl_run, latest_runs, source_health, start_crawl_run
from tests.conftest import BACKENDS


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.close()


def run(db, source: str, status: str, counts: RunCounts):
    with db.session() as session:
        run_id = start_crawl_run(session, source).id
    with db.session() as session:
        return finish_crawl_run(session, run_id, status, counts)


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_a_source_is_silent_when_it_fails_or_stops_finding_what_it_found(db):
    assert not run(db, "a", "ok", RunCounts()).silent  # never found anything: nothing to miss yet
    assert not run(db, "a", "ok", RunCounts(pages_fetched=5, pages_new=3)).silent
    assert not run(db, "a", "ok", RunCounts(pages_fetched=5, pages_unchanged=3)).silent
    quiet = run(db, "a", "ok", RunCounts(pages_fetched=5, dropped={"off-topic": 5}))
    assert quiet.silent and quiet.dropped == {"off-topic": 5} and quiet.finished_at is not None
    assert run(db, "b", "failed", RunCounts()).silent
    with db.session() as session:
        latest = latest_runs(session)
        assert set(latest) == {"a", "b"} and latest["a"].id == quiet.id
        assert source_health(latest["a"]) == "silent" and source_health(None) == "never-run"
        assert source_health(latest["a"], enabled=False) == "disabled"


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_stale_running_runs_are_abandoned(db):
    with db.session() as session:
        old = start_crawl_run(session, "a")
        old.started_at = utcnow() - dt.timedelta(hours=3)
        fresh = start_crawl_run(session, "b")
    with db.session() as session:
        assert abandon_stale_runs(session, dt.timedelta(hours=2)) == 1
    with db.session() as session:
        runs = latest_runs(session)
        assert runs["a"].status == "failed" and runs["a"].silent and "abandoned" in runs["a"].message
        assert runs["b"].id == fresh.id and runs["b"].status == "running"
