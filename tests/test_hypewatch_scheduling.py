"""hypewatch.scheduling and `hypewatch schedule`: real APScheduler, real crawl processes, real database."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from conftest import articles_fetched, children_of, live_group, wait_for
from sqlalchemy import select, update

from hypewatch.scheduling import JOB_PREFIX, LOCK_NAME, LOCK_TTL, HypewatchScheduler
from hypewatch.settings import PROJECT_ROOT
from storage.db import make_engine
from storage.locks import SchedulerLockHeld, acquire_lock, lock_owner
from storage.models import CrawlRun, SchedulerJob, SchedulerLock, utcnow
from tests.test_hypewatch_crawling import write_sources

EVERY_TWO_SECONDS = "*/2 * * * * *"


def finished_runs(database_url: str, source: str) -> list[tuple[int, str]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(CrawlRun.id, CrawlRun.status).where(CrawlRun.source_name == source)
                                      .order_by(CrawlRun.id)).all()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # no schema yet: the scheduler creates it
        return []
    finally:
        engine.dispose()
    return [(run_id, status) for run_id, status in rows]


def start_scheduler(cli_env, sources_file) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hypewatch", "schedule", "--sources", str(sources_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT,
                            env={**cli_env, "HYPEWATCH_FETCH_TIMEOUT": "2", "HYPEWATCH_EXTRACTION_PROCESSES": "1"})


def test_five_scheduled_crawls_in_one_scheduler_and_a_second_scheduler_refuses(cli_env, settings, demo_site,
                                                                               tmp_path):
    feed = dataclasses.replace(demo_site.sources()[1], schedule=EVERY_TWO_SECONDS, max_pages=2)
    sources_file = tmp_path / "sources.toml"
    write_sources(sources_file, [feed])
    first = start_scheduler(cli_env, sources_file)
    try:
        wait_for(lambda: len(finished_runs(settings.database_url, feed.name)) >= 1, 240, "the first scheduled run")
        second = subprocess.run([sys.executable, "-m", "hypewatch", "schedule", "--sources", str(sources_file)],
                                capture_output=True, text=True, env=cli_env, cwd=PROJECT_ROOT, timeout=120)
        assert second.returncode == 2
        assert "another scheduler is running on this database" in second.stderr
        done = wait_for(lambda: [r for r in finished_runs(settings.database_url, feed.name) if r[1] != "running"][:5]
                        if len([r for r in finished_runs(settings.database_url, feed.name) if r[1] != "running"]) >= 5
                        else None, 600, "five finished runs")
        assert [status for _, status in done] == ["ok"] * 5
        first.send_signal(signal.SIGTERM)
        _, stderr = first.communicate(timeout=90)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, stderr
    assert "scheduler stopping" in stderr
    statuses = {status for _, status in finished_runs(settings.database_url, feed.name)}
    assert statuses <= {"ok", "cancelled"}  # a crawl running at SIGTERM is stopped and recorded, not left running
    engine = make_engine(settings.database_url)
    with engine.connect() as connection:
        assert connection.execute(select(SchedulerLock.name)).all() == []  # the lock was released
        assert connection.execute(select(SchedulerJob.id)).scalars().all() == [JOB_PREFIX + feed.name]
    engine.dispose()


def test_a_restart_keeps_jobs_and_runs_missed_runs_once(app, demo_site):
    feed = dataclasses.replace(demo_site.sources()[1], schedule="* * * * *", max_pages=1)
    scheduler = HypewatchScheduler(app, [feed])
    scheduler.start()
    assert scheduler._scheduler.get_job(JOB_PREFIX + feed.name).next_run_time > utcnow()
    scheduler.stop()
    # While the scheduler was down, five minutely runs were missed: they coalesce into one run.
    with app.database.session() as session:
        session.execute(update(SchedulerJob).values(next_run_time=time.time() - 300))
    runs = []
    restarted = HypewatchScheduler(app, [feed], on_run=runs.append)
    restarted.start()
    try:
        wait_for(lambda: runs, 240, "the missed run")
        assert restarted._scheduler.get_job(JOB_PREFIX + feed.name).next_run_time > utcnow()
    finally:
        restarted.stop()
    assert len(runs) == 1 and runs[0].status == "ok"
    with app.database.session() as session:
        assert len(session.scalars(select(CrawlRun)).all()) == 1


def test_schedule_list_shows_next_runs(run_cli, demo_site, tmp_path):
    sources = [dataclasses.replace(s, schedule="30 5 * * *") for s in demo_site.sources()]
    sources[2] = dataclasses.replace(sources[2], enabled=False)
    sources_file = tmp_path / "sources.toml"
    write_sources(sources_file, sources)
    result = run_cli("schedule", "--list", "--sources", str(sources_file))
    assert result.exit_code == 0, result.stderr
    assert "demo-site" in result.stdout and "05:30:00" in result.stdout and "no scheduler running" in result.stdout
    assert "disabled" in result.stdout


def test_the_lock_of_a_dead_scheduler_on_this_machine_is_taken_over(app, demo_site):
    with app.database.session() as session:
        acquire_lock(session, LOCK_NAME, "dead-one", host=socket.gethostname(), pid=_dead_pid(), ttl=LOCK_TTL)
    live = HypewatchScheduler(app, [dataclasses.replace(demo_site.sources()[1], schedule="0 6 * * *")])
    live.start()
    try:
        with app.database.session() as session:
            assert lock_owner(session, LOCK_NAME).holder == live.holder
    finally:
        live.stop()
    with app.database.session() as session:
        acquire_lock(session, LOCK_NAME, "alive", host=socket.gethostname(), pid=os.getpid(), ttl=LOCK_TTL)
    with pytest.raises(SchedulerLockHeld, match="another scheduler is running"):
        HypewatchScheduler(app, []).start()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_killed_scheduler_leaves_no_crawl_running_and_its_run_shows_failed(cli_env, settings, demo_site, tmp_path,
                                                                              run_cli):
    site = dataclasses.replace(demo_site.sources()[0], schedule=EVERY_TWO_SECONDS)
    sources_file = tmp_path / "sources.toml"
    write_sources(sources_file, [site])
    scheduler = start_scheduler(cli_env, sources_file)
    try:
        crawl = wait_for(lambda: children_of(scheduler.pid), 240, "the scheduled crawl's process")[0]
        wait_for(lambda: articles_fetched(demo_site.requests) >= 3, 120, "the crawl to fetch articles")
    finally:
        scheduler.kill()  # kill -9: it can neither stop its crawl nor record its run
        scheduler.communicate(timeout=30)
    wait_for(lambda: not live_group(crawl), 20, "the crawl process and its extraction processes to exit")
    assert [status for _, status in finished_runs(settings.database_url, site.name)] == ["running"]
    result = run_cli("schedule", "--list", "--sources", str(sources_file))
    assert result.exit_code == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if site.name in line)
    assert "failed" in row and "silent" in row and "running" not in row
    assert "no scheduler running" in result.stdout  # the dead scheduler's lock is not shown as a live one
    assert [status for _, status in finished_runs(settings.database_url, site.name)] == ["failed"]


def test_a_scheduled_crawl_evaluates_the_alert_rules_and_sends_what_fired(app, demo_site, webhook_receiver):
    from storage.alert_rules import RuleDraft
    from storage.alerts import add_rule, recent_events

    with app.database.session() as session:
        add_rule(session, RuleDraft("every new page", "new_page", channels=(webhook_receiver.url(),)))
    feed = dataclasses.replace(demo_site.sources()[1], schedule="* * * * *", max_pages=4)
    runs = []
    scheduler = HypewatchScheduler(app, [feed], on_run=runs.append)
    scheduler.start()
    try:
        with app.database.session() as session:  # due now
            session.execute(update(SchedulerJob).values(next_run_time=time.time() - 1))
        scheduler._scheduler.wakeup()
        wait_for(lambda: runs, 240, "the scheduled run")
    finally:
        scheduler.stop()
    with app.database.session() as session:
        events = recent_events(session)
    assert runs[0].ok and events and all(e.status == "sent" for e in events)
    [message] = webhook_receiver.received()
    assert f"fired {len(events)} time(s)" in message.body["message"]


def test_the_scheduler_refreshes_the_registry_records_on_its_own_schedule(settings, registry, tmp_path):
    from hypewatch.app import Hypewatch
    from hypewatch.scheduling import REGISTRY_JOB
    from storage.models import TrialRecord
    from tests.test_hypewatch_trials import STUDIES, WITHDRAWN, proven_page

    app = Hypewatch(settings.with_overrides(registry_url=registry.base_url, registry_rate="100/second",
                                            registry_refresh="*/2 * * * * *"))  # every 2 s
    page = tmp_path / "page.txt"
    page.write_text(proven_page(WITHDRAWN), encoding="utf-8")
    registry.answer_all(503)  # down when the page is saved: its trial has no record yet
    saved = app.save(app.check(str(page)))
    registry.add(STUDIES[1])  # and back before the job runs
    scheduler = HypewatchScheduler(app, [])
    scheduler.start()
    try:
        with app.database.session() as session:  # stored beside the crawls' jobs, on its own schedule
            assert session.get(SchedulerJob, REGISTRY_JOB) is not None

        def fetched():
            with app.database.session() as session:
                return session.scalar(select(TrialRecord).where(TrialRecord.identifier == WITHDRAWN))
        wait_for(fetched, 60, "the scheduled registry refresh")
        # ... and the page citing it is scored again with its judgement (a withdrawn trial as proof).
        wait_for(lambda: flagged(app, saved.version_id), 30, "the page's prediction to be grounded")
    finally:
        scheduler.stop()
        app.database.close()


def flagged(app, version_id: int) -> bool:
    from storage.models import Prediction

    with app.database.session() as session:
        return any(p.flag_missing_trial_reference
                   for p in session.scalars(select(Prediction).where(Prediction.version_id == version_id)))


def test_no_registry_job_when_the_registries_are_off_or_its_schedule_is(app):
    from hypewatch.scheduling import REGISTRY_JOB

    scheduler = HypewatchScheduler(app, [])  # the tests' settings turn both registries off
    scheduler.start()
    try:
        with app.database.session() as session:
            assert session.get(SchedulerJob, REGISTRY_JOB) is None
    finally:
        scheduler.stop()
