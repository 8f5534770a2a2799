"""Probe: repeated `kill -9` during crawls. Round after round, a real `hypewatch crawl` of the demo
site (a real subprocess, writing to one database that every round shares) is killed with SIGKILL
at a different moment: its parent `hypewatch crawl`, or the crawl process (`python -m
crawler.runner`) with its whole process group (the extraction processes), or both at once, so
that nobody is left to record the run. Each kill lands before the first fetch or after some
articles were fetched (and stored). After each one a normal command (`hypewatch sources --json`)
runs, then the database is checked: SQLite's `PRAGMA integrity_check` (on PostgreSQL amcheck's
`bt_index_check` with heap checks, of every index) is ok, no run stays `running` (the
abandoned-run rule has marked it failed), and no page URL, document version (same page, same
text fingerprint) or prediction is stored twice. A final normal crawl must then succeed and store
nothing twice. The figures expected: integrity ok N/N, 0 stale runs, 0 duplicates.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from crawler.demo_site import DemoSite, serve_demo_site
from hypewatch.settings import PROJECT_ROOT
from tests.conftest import BACKENDS, SEEDS_DIR, articles_fetched, children_of, live_group, wait_for
from tests.test_hypewatch_crawling import write_sources

MAX_PAGES = 12  # small: a whole crawl stays short, yet a kill after a few articles lands mid-crawl
SLOW_SECONDS = 2.0  # the demo site's slow page holds a request in flight while we kill


@dataclass(frozen=True)
class Kill:
    """One round: whom SIGKILL hits, and after how many article fetches (0: as soon as the crawl
    process exists, before it has fetched anything)."""

    target: str  # "parent", "crawl-group" or "both"
    after_articles: int


SQLITE_ROUNDS = (Kill("parent", 0), Kill("parent", 1), Kill("crawl-group", 1), Kill("both", 2),
                 Kill("crawl-group", 0), Kill("parent", 3))
POSTGRES_ROUNDS = (Kill("both", 3),)  # once, the hardest case: nobody is left to record the run


def start_crawl(env: dict[str, str], sources_file: Path, stderr) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hypewatch", "crawl", "--sources", str(sources_file), "--json",
                             "demo-site"], env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=stderr)


def kill_round(kill: Kill, env: dict[str, str], sources_file: Path, site: DemoSite, stderr) -> dict[str, float]:
    """Start a crawl, SIGKILL it as `kill` says, and wait until none of its processes runs; how long
    the crawl ran before the kill, and how long its processes took to be gone after it."""
    site.clear_requests()
    started = time.monotonic()
    parent = start_crawl(env, sources_file, stderr)
    crawl = None
    try:
        crawl = wait_for(lambda: children_of(parent.pid), 60, "the crawl process to start", interval=0.05)[0]
        if kill.after_articles:
            wait_for(lambda: articles_fetched(site.requests) >= kill.after_articles, 60,
                     f"the crawl to fetch {kill.after_articles} articles", interval=0.05)
    finally:
        killed = time.monotonic()
        if kill.target in ("parent", "both") or crawl is None:
            parent.kill()
        if kill.target in ("crawl-group", "both") and crawl is not None:
            try:
                os.killpg(crawl, signal.SIGKILL)  # the crawl process leads a process group of its own
            except ProcessLookupError:  # it had already finished
                pass
        parent.wait(timeout=60)  # when only its crawl was killed, the parent records the run and exits
    if crawl is not None:
        wait_for(lambda: not live_group(crawl), 30, "the crawl process and its extraction processes to exit",
                 interval=0.05)
    return {"ran_seconds": round(killed - started, 1), "stop_seconds": round(time.monotonic() - killed, 1)}


def integrity(engine: sa.Engine) -> str:
    """'ok', or the first thing the database's own checker found wrong."""
    if engine.dialect.name == "sqlite":
        with closing(sqlite3.connect(engine.url.database or "")) as connection:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
        return "; ".join(row[0] for row in rows)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS amcheck"))
        indexes = connection.execute(sa.text(
            "SELECT c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
            "WHERE am.amname = 'btree' AND c.relnamespace = 'public'::regnamespace")).scalars().all()
    try:
        with engine.connect() as connection:
            for oid in indexes:  # heapallindexed: every row of the table is in the index too
                connection.execute(sa.text("SELECT bt_index_check(:oid, true)"), {"oid": oid})
    except sa.exc.DBAPIError as exc:
        return str(exc.orig).splitlines()[0]
    return "ok" if indexes else "no index to check"


DUPLICATES = {
    "pages": "SELECT count(*) FROM (SELECT url FROM pages GROUP BY url HAVING count(*) > 1) d",
    "versions": "SELECT count(*) FROM (SELECT page_id, fingerprint FROM document_versions "
                "GROUP BY page_id, fingerprint HAVING count(*) > 1) d",
    "predictions": "SELECT count(*) FROM (SELECT version_id, model_version FROM predictions "
                   "GROUP BY version_id, model_version HAVING count(*) > 1) d",
}


def database_state(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        state = {f"duplicate_{name}": connection.execute(sa.text(query)).scalar_one()
                 for name, query in DUPLICATES.items()}
        state["stale_runs"] = connection.execute(
            sa.text("SELECT count(*) FROM crawl_runs WHERE status = 'running'")).scalar_one()
        state["pages"] = connection.execute(sa.text("SELECT count(*) FROM pages")).scalar_one()
        state["versions"] = connection.execute(sa.text("SELECT count(*) FROM document_versions")).scalar_one()
    return state


def hypewatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hypewatch", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=PROJECT_ROOT)


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_repeated_kill_9_leaves_the_database_intact_with_no_stale_run_or_duplicate(
        database_url, cli_env, tmp_path, probe_report):
    rounds = SQLITE_ROUNDS if database_url.startswith("sqlite") else POSTGRES_ROUNDS
    # One extraction process (plus the one holding the model): the group killed still has several
    # processes, and the probe stays light on a busy 2-core machine.
    env = {**cli_env, "HYPEWATCH_FETCH_TIMEOUT": "2", "HYPEWATCH_EXTRACTION_PROCESSES": "1"}
    sources_file = tmp_path / "sources.toml"
    engine = sa.create_engine(database_url)
    outcomes: list[dict] = []
    started = time.monotonic()
    try:
        with serve_demo_site(SEEDS_DIR, slow_seconds=SLOW_SECONDS) as site, \
                (tmp_path / "crawl.err").open("wb") as stderr:
            write_sources(sources_file, site.sources(max_pages=MAX_PAGES, max_depth=2))
            for kill in rounds:
                round_started = time.monotonic()
                timings = kill_round(kill, env, sources_file, site, stderr)
                listed = hypewatch(env, "sources", "--sources", str(sources_file), "--json")
                last_run = json.loads(listed.stdout.splitlines()[0])["last_run"] if listed.returncode == 0 else {}
                outcomes.append({"kill": f"{kill.target}@{kill.after_articles}", **timings,
                                 "sources_exit": listed.returncode, "tracebacks": listed.stderr.count("Traceback"),
                                 "run_status": last_run.get("status"), "integrity": integrity(engine),
                                 **database_state(engine), "seconds": round(time.monotonic() - round_started, 1)})
            final = hypewatch(env, "crawl", "--sources", str(sources_file), "--json", "demo-site")
            after = database_state(engine)
            final_integrity = integrity(engine)
            with engine.connect() as connection:
                most_versions = connection.execute(sa.text(
                    "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM document_versions GROUP BY page_id) v"
                )).scalar_one()
    finally:
        engine.dispose()
    final_run = json.loads(final.stdout.splitlines()[-1]) if final.returncode == 0 and final.stdout else {}
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    probe_report[f"hard_stops_{backend}"] = {
        "rounds": len(outcomes),
        "integrity_ok": sum(o["integrity"] == "ok" for o in outcomes),
        "stale_runs": sum(o["stale_runs"] for o in outcomes),
        "duplicates": sum(o[f"duplicate_{name}"] for o in outcomes for name in DUPLICATES),
        "seconds_per_round": round(sum(o["seconds"] for o in outcomes) / len(outcomes), 1),
        "final_crawl_exit": final.returncode,
        "final_crawl_duplicates": sum(after[f"duplicate_{name}"] for name in DUPLICATES),
        "pages_stored": after["pages"],
        "seconds": round(time.monotonic() - started, 1),
        "per_round": outcomes,
    }
    for outcome in outcomes:
        assert outcome["sources_exit"] == 0 and not outcome["tracebacks"], outcome
        assert outcome["integrity"] == "ok", outcome
        # "failed", not "ok": the kill landed before the crawl ended (and the run was ended for it).
        assert outcome["stale_runs"] == 0 and outcome["run_status"] == "failed", outcome
        assert not any(outcome[f"duplicate_{name}"] for name in DUPLICATES), outcome
    assert final.returncode == 0 and "Traceback" not in final.stderr, final.stderr
    assert final_integrity == "ok" and after["stale_runs"] == 0
    assert not any(after[f"duplicate_{name}"] for name in DUPLICATES), after
    # The demo site did not change between rounds: each page has exactly the one version.
    assert most_versions == 1 and after["pages"] > 0, (most_versions, after)
    assert final_run.get("status") == "ok", final.stdout
