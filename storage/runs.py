"""Crawl runs: starting and finishing them, telling silent sources, the newest run of each source.

A run is *silent* when it failed or timed out, or when it found nothing (no new, changed or
unchanged page) for a source that found something before: the source has stopped delivering,
even if nothing raised an error. A run we cancelled ourselves is not silent.

A run is *abandoned* when it is still `running` but its owner, the process that opened it and
would record how it ended, is gone: it ran on this host and its process no longer exists, or it
has not refreshed its heartbeat for `OWNER_GONE_AFTER` (an owner refreshes it every
`HEARTBEAT_EVERY` while it waits for the crawl). `abandon_stale_runs` is that rule, the one place
it lives; whoever next reads or starts runs calls it, so a run whose process was killed shows as
failed within a minute.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.errors import StorageError
from storage.models import CrawlRun, utcnow
from storage.owners import Owner, process_alive

logger = logging.getLogger(__name__)

RUN_STATUSES = ("running", "ok", "failed", "timeout", "cancelled")
FINISHED_STATUSES = RUN_STATUSES[1:]
HEARTBEAT_EVERY = dt.timedelta(seconds=15)
# Four missed heartbeats: an owner busy writing (SQLite waits up to 30 s for a lock) is not gone.
OWNER_GONE_AFTER = dt.timedelta(seconds=60)
ABANDONED_MESSAGE = "abandoned: the process running it is gone"


@dataclass(frozen=True)
class RunCounts:
    pages_fetched: int = 0
    pages_new: int = 0
    pages_changed: int = 0
    pages_unchanged: int = 0
    dropped: Mapping[str, int] | None = None
    errors: Mapping[str, int] | None = None
    pages_kept: int = 0  # of the stored pages, those the relevance gate called off-topic (`classifier.topic`)

    @property
    def found(self) -> int:
        return self.pages_new + self.pages_changed + self.pages_unchanged


def start_crawl_run(session: Session, source_name: str, owner: Owner | None = None) -> CrawlRun:
    """Open a `running` run owned by `owner` (this process by default), which must keep it alive
    (`beat_runs`) until it records how the run ended."""
    owner = owner or Owner.this_process()
    now = utcnow()
    run = CrawlRun(source_name=source_name, started_at=now, status="running", owner_host=owner.host,
                   owner_pid=owner.pid, heartbeat_at=now)
    session.add(run)
    session.flush()
    return run


def beat_runs(session: Session, run_ids: Iterable[int], *, now: dt.datetime | None = None) -> None:
    """The owner of these runs is alive and still waiting for them."""
    ids = list(run_ids)
    if ids:
        session.execute(update(CrawlRun).where(CrawlRun.id.in_(ids), CrawlRun.status == "running")
                        .values(heartbeat_at=now or utcnow()), execution_options={"synchronize_session": False})


def finish_crawl_run(session: Session, run_id: int, status: str, counts: RunCounts,
                     message: str | None = None, finished_at: dt.datetime | None = None) -> CrawlRun:
    """Record how a run ended and whether it makes its source silent."""
    if status not in FINISHED_STATUSES:
        raise ValueError(f"not a finished run status: {status!r}")
    run = session.get(CrawlRun, run_id)
    if run is None:
        raise StorageError(f"no crawl run {run_id}")
    run.status = status
    run.finished_at = finished_at or utcnow()
    run.pages_fetched = counts.pages_fetched
    run.pages_new = counts.pages_new
    run.pages_changed = counts.pages_changed
    run.pages_unchanged = counts.pages_unchanged
    run.pages_kept = counts.pages_kept
    run.dropped = dict(counts.dropped or {})
    run.errors = dict(counts.errors or {})
    run.message = message
    if status == "cancelled":  # stopped by us (scheduler shutdown, Ctrl-C): says nothing about the source
        run.silent = False
    else:
        run.silent = status != "ok" or (counts.found == 0 and _found_something_before(session, run))
    session.flush()
    return run


def _found_something_before(session: Session, run: CrawlRun) -> bool:
    earlier = select(CrawlRun.id).where(
        CrawlRun.source_name == run.source_name,
        CrawlRun.id != run.id,
        CrawlRun.started_at <= run.started_at,
        CrawlRun.pages_new + CrawlRun.pages_changed + CrawlRun.pages_unchanged > 0,
    ).limit(1)
    return session.scalar(earlier) is not None


def abandon_stale_runs(session: Session, *, now: dt.datetime | None = None,
                       gone_after: dt.timedelta = OWNER_GONE_AFTER) -> int:
    """Mark the `running` runs whose owner is gone as failed (see the module doc); how many were.

    Each run is ended by one statement that also checks it is still running and still looks
    abandoned, so an owner that records its run, or beats, meanwhile is never overwritten.
    """
    now = now or utcnow()
    cutoff = now - gone_after
    running = session.execute(
        select(CrawlRun.id, CrawlRun.owner_host, CrawlRun.owner_pid).where(CrawlRun.status == "running")
    ).all()
    if not running:
        return 0
    dead_here = [run_id for run_id, host, pid in running
                 if host is not None and pid is not None and Owner(host, pid).is_here and not process_alive(pid)]
    abandoned = (CrawlRun.heartbeat_at < cutoff) | CrawlRun.id.in_(dead_here)
    ended = session.execute(
        update(CrawlRun).where(CrawlRun.id.in_([run_id for run_id, _, _ in running]), CrawlRun.status == "running",
                               abandoned)
        .values(status="failed", finished_at=now, silent=True, message=ABANDONED_MESSAGE)
        .returning(CrawlRun.id, CrawlRun.source_name, CrawlRun.owner_host, CrawlRun.owner_pid),
        execution_options={"synchronize_session": False},
    ).all()
    for run_id, source, host, pid in ended:
        logger.warning("crawl run %d (%s) of pid %s on %s marked failed: its process is gone", run_id, source, pid, host)
    return len(ended)


def latest_runs(session: Session, source_names: Iterable[str] | None = None) -> dict[str, CrawlRun]:
    """The newest run of each source (of the named sources, when given), by source name."""
    newest = select(func.max(CrawlRun.id)).group_by(CrawlRun.source_name)
    if source_names is not None:
        newest = newest.where(CrawlRun.source_name.in_(list(source_names)))
    return {run.source_name: run for run in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(newest)))}


def source_health(run: CrawlRun | None, *, enabled: bool = True) -> str:
    """One word for a source's state: never-run, running, ok, silent (or disabled)."""
    if not enabled:
        return "disabled"
    if run is None:
        return "never-run"
    if run.status == "running":
        return "running"
    return "silent" if run.silent else "ok"


def run_record(run: CrawlRun) -> dict[str, Any]:
    """A crawl run as a plain record: the one shape the dashboard's pages and API and
    `hypewatch sources --json` show."""
    duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    errors = run.errors or {}
    return {
        "id": run.id, "source": run.source_name, "status": run.status,
        "started_at": run.started_at.isoformat(), "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_seconds": round(duration, 1) if duration is not None else None,
        "pages_fetched": run.pages_fetched, "pages_new": run.pages_new, "pages_changed": run.pages_changed,
        "pages_unchanged": run.pages_unchanged, "pages_kept": run.pages_kept, "dropped": run.dropped or {},
        "errors": errors, "error_count": sum(int(v) for v in errors.values() if isinstance(v, int | float)),
        "silent": run.silent, "message": run.message,
    }
