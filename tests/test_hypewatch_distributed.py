"""hypewatch.distributed: `hypewatch worker` processes on the local Redis and PostgreSQL crawl the demo
site together, and one killed mid-crawl (SIGKILL, with its crawl processes) loses nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from types import SimpleNamespace

import pytest
import redis
from conftest import SEEDS_DIR, _fresh_postgres_database, wait_for
from sqlalchemy import func, select

from crawler.demo_site import ROBOTS_DISALLOWED, serve_demo_site
from crawler.shared_run import RunKeys, SharedRun
from hypewatch.app import Hypewatch
from hypewatch.dispatch import run_crawls
from hypewatch.scheduling import HypewatchScheduler
from hypewatch.settings import PROJECT_ROOT
from storage.locks import acquire_lock
from storage.models import CrawlRun, DocumentVersion, Page, Prediction
from tests.test_hypewatch_crawling import cli_environment, make_settings, write_sources

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

REDIS_URL = os.environ.get("HYPEWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
HEARTBEAT = "3"  # seconds: a killed worker is noticed quickly


@pytest.fixture(scope="module")
def redis_url():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}; distributed crawling tests skipped ({exc})")
    finally:
        client.close()
    return REDIS_URL


def delete_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def prefix(redis_url):
    """A Redis key prefix of this test's own, deleted afterwards."""
    name = f"hwtest-{uuid.uuid4().hex[:10]}"
    yield name
    delete_keys(redis_url, name)


@pytest.fixture(scope="module")
def demo():
    with serve_demo_site(SEEDS_DIR, slow_seconds=3.0) as site:
        yield site


@pytest.fixture
def postgres_url(postgres_admin_url):
    url, drop = _fresh_postgres_database(postgres_admin_url)
    yield url
    drop()


def shared_app(tmp_path, model_dir, database_url, redis_url, prefix) -> Hypewatch:
    home = tmp_path / "home"
    shutil.copytree(model_dir, home / "models")
    return Hypewatch(make_settings(home, database_url, HYPEWATCH_REDIS_URL=redis_url, HYPEWATCH_REDIS_PREFIX=prefix,
                                   HYPEWATCH_CRAWL_HEARTBEAT=HEARTBEAT, HYPEWATCH_EXTRACTION_PROCESSES="1"))


def start_worker(app: Hypewatch) -> subprocess.Popen:
    env = cli_environment(app.settings, HYPEWATCH_REDIS_URL=app.settings.redis_url,
                          HYPEWATCH_REDIS_PREFIX=app.settings.redis_prefix, HYPEWATCH_CRAWL_HEARTBEAT=HEARTBEAT,
                          HYPEWATCH_EXTRACTION_PROCESSES="1")
    return subprocess.Popen([sys.executable, "-m", "hypewatch", "worker", "--concurrency", "1"], env=env,
                            cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def stop_workers(workers: list[subprocess.Popen]) -> list[str]:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    return [worker.communicate(timeout=90)[1] for worker in workers]


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (the worker's crawl processes and their extraction workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def stored_paths(app: Hypewatch, site) -> dict[str, int]:
    """Stored page path -> number of versions."""
    with app.database.session() as session:
        rows = session.execute(select(Page.url, func.count(DocumentVersion.id))
                               .join(DocumentVersion, DocumentVersion.page_id == Page.id).group_by(Page.url)).all()
    return {url.removeprefix(site.url): versions for url, versions in rows}


# ---------------------------------------------------------------------------- two workers, one crawl
@pytest.fixture(scope="module")
def clean(tmp_path_factory, model_dir, redis_url, demo, postgres_admin_url):
    """The demo site crawled by two workers sharing one frontier, on PostgreSQL."""
    database_url, drop = _fresh_postgres_database(postgres_admin_url)
    prefix = f"hwtest-{uuid.uuid4().hex[:10]}"
    app = shared_app(tmp_path_factory.mktemp("clean"), model_dir, database_url, redis_url, prefix)
    demo.clear_requests()
    workers = [start_worker(app), start_worker(app)]
    try:
        summary = run_crawls(app, [demo.sources()[0]])[0]
    finally:
        logs = stop_workers(workers)
    reports = SharedRun.connect(redis_url, prefix, summary.run_id).summaries()
    yield SimpleNamespace(app=app, summary=summary, reports=reports, stored=stored_paths(app, demo),
                          requests=demo.requests, workers=workers, logs=logs)
    app.database.close()
    drop()
    delete_keys(redis_url, prefix)


def test_two_workers_store_every_article_exactly_once(clean, demo):
    summary, stored = clean.summary, clean.stored
    assert summary.status == "ok" and not summary.silent, summary.message
    assert summary.crawl_processes == 2 and all(report["fetched"] > 0 for report in clean.reports)  # both did work
    paths_of = {a.id: {a.path, *a.duplicate_paths} for a in demo.articles.values()}
    stored_articles = {a_id for a_id, paths in paths_of.items() if paths & set(stored)}
    assert set(stored) <= set().union(*paths_of.values())  # nothing but articles
    assert all(len(paths & set(stored)) == 1 for a_id, paths in paths_of.items() if a_id in stored_articles)
    assert set(stored.values()) == {1}  # one version each
    # Every article was judged exactly once over both workers: stored, or dropped as off-topic.
    assert len(stored_articles) + summary.dropped.get("off-topic", 0) == len(demo.articles)
    assert summary.pages_new == len(stored) and summary.pages_changed == summary.pages_unchanged == 0
    with clean.app.database.session() as session:
        assert session.scalar(select(func.count(Prediction.id))) == len(stored)
        run = session.get(CrawlRun, summary.run_id)
    assert run.status == "ok" and run.pages_new == len(stored) and run.errors == dict(summary.errors)


def test_no_page_is_fetched_twice_nor_against_robots_txt_and_the_workers_stop_cleanly(clean, demo):
    article_paths = {p for a in demo.articles.values() for p in (a.path, *a.duplicate_paths)}
    fetched = Counter(path.split("?")[0] for path in clean.requests)
    assert {path: n for path, n in fetched.items() if path in article_paths and n > 1} == {}
    assert fetched["/robots.txt"] == 2  # each worker reads it once, and obeys it
    assert not [path for path in clean.requests if path.startswith(ROBOTS_DISALLOWED)]
    assert [worker.returncode for worker in clean.workers] == [0, 0], clean.logs
    assert all("run 1 (demo-site): crawling as" in log and "worker stopped" in log for log in clean.logs)


# ---------------------------------------------------------------------------- a worker killed mid-crawl
def test_a_killed_worker_loses_nothing(tmp_path, model_dir, redis_url, prefix, postgres_url, demo, clean):
    app = shared_app(tmp_path, model_dir, postgres_url, redis_url, prefix)
    workers = [start_worker(app), start_worker(app)]
    result = {}
    crawl = threading.Thread(target=lambda: result.update(summary=run_crawls(app, [demo.sources()[0]])[0]))
    crawl.start()
    try:
        run = SharedRun.connect(redis_url, prefix, 1)
        victim = workers[0]

        def victim_holds_requests() -> bool:
            held = [w for w in run.workers() if f":{victim.pid}:" in w]
            stored = sum(v for k, v in run.counters().items() if k.startswith("hypewatch/stored/"))
            return bool(held) and stored >= 20 and run.server.hlen(run.keys.inflight(held[0])) > 0

        wait_for(victim_holds_requests, 120, "the victim to hold requests mid-crawl")
        for pid in descendants(victim.pid):
            os.kill(pid, signal.SIGKILL)
        crawl.join(timeout=240)
    finally:
        logs = stop_workers(workers)
    assert not crawl.is_alive()
    summary = result["summary"]
    assert summary.status == "ok", summary.message
    assert "request(s) of lost workers were queued again" in summary.message
    assert workers[0].returncode == -signal.SIGKILL and workers[1].returncode == 0, logs
    # Exactly what the clean crawl stored: every article once, one version each.
    assert stored_paths(app, demo) == clean.stored
    with app.database.session() as session:
        assert session.scalar(select(func.count(Prediction.id))) == len(clean.stored)
    app.database.close()


def test_a_worker_killed_alone_leaves_no_crawl_process_behind(tmp_path, model_dir, redis_url, prefix, postgres_url,
                                                              demo):
    app = shared_app(tmp_path, model_dir, postgres_url, redis_url, prefix)
    worker = start_worker(app)
    stop, result = threading.Event(), {}
    crawl = threading.Thread(target=lambda: result.update(summary=run_crawls(app, [demo.sources()[0]], stop=stop)[0]))
    crawl.start()
    try:
        crawling = wait_for(lambda: [pid for pid in descendants(worker.pid)[1:] if _ppid(pid) == worker.pid], 120,
                            "the worker's crawl process to start")[0]
        run = SharedRun.connect(redis_url, prefix, 1)
        wait_for(lambda: sum(v for k, v in run.counters().items() if k.startswith("hypewatch/stored/")) >= 5, 120,
                 "the crawl to store pages")
        worker.kill()  # kill -9 of the worker alone: its crawl process is not signalled
        worker.communicate(timeout=30)
        wait_for(lambda: not [pid for pid in _group(crawling) if _state(pid) != "Z"], 20,
                 "the orphaned crawl process and its extraction processes to exit")
    finally:
        stop.set()
        crawl.join(timeout=120)
        stop_workers([worker])
    assert result["summary"].status == "cancelled", "the orphaned crawl process ran the whole crawl"
    app.database.close()


def _stat(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return ["X", "0", "0"]


def _ppid(pid: int) -> int:
    return int(_stat(pid)[1])


def _state(pid: int) -> str:
    return _stat(pid)[0]


def _group(pgid: int) -> list[int]:
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and int(_stat(int(e))[2]) == pgid]


# ---------------------------------------------------------------------------- the scheduler publishes
def test_the_scheduler_publishes_its_crawls_for_the_workers(tmp_path, model_dir, redis_url, prefix, postgres_url,
                                                            demo):
    app = shared_app(tmp_path, model_dir, postgres_url, redis_url, prefix)
    feed = dataclasses.replace(demo.sources()[1], schedule="*/2 * * * * *", max_pages=3)
    runs = []
    worker = start_worker(app)
    scheduler = HypewatchScheduler(app, [feed], on_run=runs.append)
    scheduler.start()
    try:
        wait_for(lambda: runs, 120, "a scheduled run")
    finally:
        scheduler.stop()
        logs = stop_workers([worker])
    assert runs[0].status == "ok" and runs[0].crawl_processes == 1 and runs[0].pages_fetched == 4, runs[0].message
    assert f"run {runs[0].run_id} (demo-feed): crawling as" in logs[0]  # the worker crawled it, not the scheduler
    app.database.close()


# ---------------------------------------------------------------------------- runs without workers, commands
def test_a_run_no_worker_takes_ends_at_the_timeout_saying_so(tmp_path, model_dir, redis_url, prefix, postgres_url,
                                                             demo):
    app = shared_app(tmp_path, model_dir, postgres_url, redis_url, prefix)
    summary = run_crawls(app, [demo.sources()[1]], timeout=2)[0]
    assert summary.status == "timeout" and summary.silent
    assert "no worker took this run; start `hypewatch worker`" in summary.message
    assert SharedRun(redis.Redis.from_url(redis_url), RunKeys(prefix, summary.run_id)).is_active() is False
    app.database.close()


def test_worker_needs_redis(cli_env):
    result = subprocess.run([sys.executable, "-m", "hypewatch", "worker"], capture_output=True, text=True,
                            env=cli_env, cwd=PROJECT_ROOT, timeout=60, check=False)
    assert result.returncode == 2 and "hypewatch worker needs HYPEWATCH_REDIS_URL" in result.stderr
    unreachable = subprocess.run([sys.executable, "-m", "hypewatch", "worker"], capture_output=True, text=True,
                                 env={**cli_env, "HYPEWATCH_REDIS_URL": "redis://127.0.0.1:1/0"}, cwd=PROJECT_ROOT,
                                 timeout=60, check=False)
    assert unreachable.returncode == 2 and "cannot reach Redis at redis://127.0.0.1:1/0" in unreachable.stderr


def test_a_scheduler_on_another_machine_keeps_a_second_one_out(tmp_path, model_dir, postgres_url, demo):
    """The scheduler lock lives in the shared PostgreSQL database, so it holds across machines."""
    app = Hypewatch(make_settings(tmp_path, postgres_url))
    with app.database.session() as session:
        acquire_lock(session, "scheduler", "elsewhere", host="crawler-2.example", pid=4242,
                     ttl=dt.timedelta(seconds=60))
    sources_file = tmp_path / "sources.toml"
    write_sources(sources_file, demo.sources()[1:2])
    result = subprocess.run([sys.executable, "-m", "hypewatch", "schedule", "--sources", str(sources_file)],
                            capture_output=True, text=True, env=cli_environment(app.settings), cwd=PROJECT_ROOT,
                            timeout=120, check=False)
    assert result.returncode == 2
    assert "another scheduler is running on this database (pid 4242 on crawler-2.example" in result.stderr
    app.database.close()
