"""storage.runs: finishing runs, silent sources, the newest run of each source (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys

import pytest

from storage.db import Database
from storage.models import CrawlRun, utcnow
from storage.owners import Owner, process_alive
from storage.runs import (
    OWNER_GONE_AFTER,
    RunCounts,
    abandon_stale_runs,
    beat_runs,
    finish_crawl_run,
    latest_runs,
    source_health,
    start_crawl_run,
)
from tests.conftest import BACKENDS, wait_for


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
def test_a_running_run_whose_process_is_gone_is_marked_failed(db):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid now names no process
    here = socket.gethostname()
    with db.session() as session:
        mine = start_crawl_run(session, "mine").id  # this process: alive
        killed_here = start_crawl_run(session, "killed-here", Owner(here, dead.pid)).id
        elsewhere = start_crawl_run(session, "elsewhere", Owner("another-host", dead.pid)).id
        silent_elsewhere = start_crawl_run(session, "silent-elsewhere", Owner("another-host", 12345)).id
        done = start_crawl_run(session, "done", Owner(here, dead.pid)).id
        finish_crawl_run(session, done, "ok", RunCounts(pages_fetched=3, pages_new=3))
    with db.session() as session:  # the one on another host has not beaten for over a minute
        session.get(CrawlRun, silent_elsewhere).heartbeat_at = utcnow() - OWNER_GONE_AFTER - dt.timedelta(seconds=1)
    with db.session() as session:
        assert abandon_stale_runs(session) == 2
    with db.session() as session:
        runs = latest_runs(session)
        for name in ("killed-here", "silent-elsewhere"):
            assert runs[name].status == "failed" and runs[name].silent and runs[name].finished_at is not None
            assert runs[name].message == "abandoned: the process running it is gone"
            assert source_health(runs[name]) == "silent"
        # Another host's pid cannot be looked up from here: its fresh heartbeat says it is alive.
        assert runs["elsewhere"].id == elsewhere and runs["elsewhere"].status == "running"
        assert runs["mine"].id == mine and runs["mine"].status == "running"
        assert runs["killed-here"].id == killed_here and runs["done"].status == "ok"
        assert abandon_stale_runs(session) == 0


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_a_run_is_abandoned_a_minute_after_its_last_heartbeat(db):
    with db.session() as session:
        run_id = start_crawl_run(session, "a", Owner("another-host", 1)).id
        started = session.get(CrawlRun, run_id).heartbeat_at
    with db.session() as session:
        assert abandon_stale_runs(session, now=started + dt.timedelta(seconds=59)) == 0
        beat_runs(session, [run_id], now=started + dt.timedelta(seconds=50))
    with db.session() as session:  # the beat put it off
        assert abandon_stale_runs(session, now=started + dt.timedelta(seconds=100)) == 0
    with db.session() as session:
        assert abandon_stale_runs(session, now=started + dt.timedelta(seconds=111)) == 1
        assert session.get(CrawlRun, run_id).status == "failed"
    with db.session() as session:  # an ended run takes no heartbeat and is not ended again
        beat_runs(session, [run_id], now=started + dt.timedelta(seconds=200))
        assert session.get(CrawlRun, run_id).heartbeat_at < started + dt.timedelta(seconds=200)
        assert abandon_stale_runs(session, now=started + dt.timedelta(hours=1)) == 0


def test_process_alive_tells_a_live_process_from_a_dead_or_zombie_one():
    assert process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_for(lambda: not process_alive(child.pid), 10, "the child to exit (a zombie until it is reaped)")
    child.wait()
    assert not process_alive(child.pid)
