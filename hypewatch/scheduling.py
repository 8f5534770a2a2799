"""`hypewatch schedule`: APScheduler 3 running every source's crawl on its cron schedule.

- Jobs live in the database (APScheduler's SQLAlchemyJobStore, table `apscheduler_jobs`), so a
  restart keeps them: a job whose schedule did not change keeps its stored next run time, and a
  run missed while the scheduler was down still happens once (coalesced) if it was missed by
  less than the misfire grace time.
- One instance per source at a time, and up to `parallel_crawls` crawls at once; each crawl runs
  through `hypewatch.dispatch`: in its own crawl process, killed with its extraction processes
  when it outlives the crawl timeout, or, with HYPEWATCH_REDIS_URL set, published for
  `hypewatch worker`s, the job waiting for its run to be over.
- One scheduler per database: a lock row (`scheduler_lock`) with a heartbeat. A second
  scheduler finds it fresh and refuses to start, on this machine or any other using the same
  database; a scheduler that died leaves a stale heartbeat that the next one may take over after
  the lock's time-to-live (at once when it ran on this machine and its process is gone).
- `stop()` (SIGTERM or SIGINT in the CLI) stops scheduling, asks running crawls to stop (they
  flush what they stored), and releases the lock.
- The trial registries' cached records are refreshed on their own schedule
  (HYPEWATCH_REGISTRY_REFRESH, daily by default), as `hypewatch trials refresh` does.
- Alert rules are evaluated after every crawl (`hypewatch.dispatch`); what is due is delivered
  then and every minute (`hypewatch.alerting.cycle`).
- Runs a killed crawl or scheduler left `running` are marked failed when the scheduler starts and
  at every lock heartbeat (`storage.runs.abandon_stale_runs`), and by `--list`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from crawler.sources import SourceConfig, cron_trigger
from hypewatch.alerting.cycle import deliver_due
from hypewatch.app import Hypewatch
from hypewatch.dispatch import refresh_trials, run_crawl
from hypewatch.distributed import connect
from hypewatch.errors import HypewatchError
from hypewatch.runs import CrawlSummary, end_abandoned_runs, prepare
from hypewatch.settings import PARALLEL_CRAWLS
from storage.errors import StorageError
from storage.locks import SchedulerLockHeld, acquire_lock, heartbeat_lock, lock_owner, release_lock, take_over_lock
from storage.models import SchedulerJob, utcnow
from storage.owners import Owner, process_alive
from storage.runs import latest_runs, source_health

logger = logging.getLogger(__name__)

LOCK_NAME = "scheduler"
LOCK_TTL = dt.timedelta(seconds=60)
HEARTBEAT_SECONDS = 15.0
JOB_PREFIX = "crawl:"
REGISTRY_JOB = "registry:refresh"  # HYPEWATCH_REGISTRY_REFRESH: cited trials' records fetched again
ALERT_DELIVERY_SECONDS = 60.0
JOBS_TABLE = SchedulerJob.__tablename__

_active: HypewatchScheduler | None = None  # the scheduler of this process, for the job function


class SchedulerError(HypewatchError):
    """The scheduler cannot run (or lost its lock)."""


def run_scheduled_crawl(source_name: str) -> None:
    """The job function APScheduler stores (by reference) for every source."""
    if _active is None:
        raise SchedulerError("no scheduler is running in this process")
    _active.crawl(source_name)


def run_registry_refresh() -> None:
    """The job function APScheduler stores for the registry refresh."""
    if _active is None:
        raise SchedulerError("no scheduler is running in this process")
    _active.refresh_registries()


class HypewatchScheduler:
    def __init__(self, app: Hypewatch, sources: list[SourceConfig], *, parallel_crawls: int = PARALLEL_CRAWLS,
                 lock_ttl: dt.timedelta = LOCK_TTL, heartbeat_seconds: float = HEARTBEAT_SECONDS,
                 on_run: Callable[[CrawlSummary], None] | None = None):
        self.app = app
        self.sources = {s.name: s for s in sources}
        self.parallel_crawls = parallel_crawls
        self.lock_ttl = lock_ttl
        self.heartbeat_seconds = heartbeat_seconds
        self.on_run = on_run
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()  # set: running crawls are asked to stop
        self.stop_requested = threading.Event()  # set: the foreground loop returns
        self.lock_lost = False
        self.model_version: str | None = None
        self.runs_finished = 0
        self._scheduler: BackgroundScheduler | None = None
        self._heartbeat: threading.Thread | None = None
        self._alerts: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        global _active
        if _active is not None:
            raise SchedulerError("a scheduler is already running in this process")
        if self.app.settings.redis_url:  # crawls are published for the workers: Redis must answer
            connect(self.app.settings)
        self._acquire_lock()
        try:
            end_abandoned_runs(self.app)
            self.model_version = prepare(self.app)
            self._scheduler = self._build_scheduler()
            _active = self
            self._scheduler.start(paused=True)
            self.sync_jobs()
            self._scheduler.resume()
        except BaseException:
            _active = None
            if self._scheduler is not None and self._scheduler.running:
                self._scheduler.shutdown(wait=False)
            self._release_lock()
            raise
        self._heartbeat = threading.Thread(target=self._beat, name="hypewatch-scheduler-lock", daemon=True)
        self._heartbeat.start()
        self._alerts = threading.Thread(target=self._deliver_alerts, name="hypewatch-alerts", daemon=True)
        self._alerts.start()
        logger.info("scheduler started with %d job(s)", len(self._scheduler.get_jobs()))

    def wait(self) -> None:
        """Block until `request_stop()` (from a signal handler, say) or the lock is lost."""
        while not self.stop_requested.wait(0.5):
            pass

    def request_stop(self) -> None:
        self.stop_requested.set()

    def stop(self) -> None:
        """Stop scheduling, stop running crawls, release the lock."""
        global _active
        self.stop_requested.set()
        self.stopping.set()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=self.heartbeat_seconds + 5)
        self._release_lock()
        _active = None
        logger.info("scheduler stopped")

    def _build_scheduler(self) -> BackgroundScheduler:
        return BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.app.database.engine, tablename=JOBS_TABLE)},
            executors={"default": ThreadPoolExecutor(self.parallel_crawls)},
            job_defaults=self._job_options(),
            timezone=dt.UTC,
        )

    def _job_options(self) -> dict:
        return {"coalesce": True, "max_instances": 1, "misfire_grace_time": int(self.app.settings.misfire_grace_time)}

    # ------------------------------------------------------------------ jobs
    def sync_jobs(self) -> None:
        """Make the stored jobs match the sources file, keeping unchanged jobs' next run times."""
        scheduler = self._scheduler
        assert scheduler is not None, "jobs are synced once the scheduler is built"
        wanted = {JOB_PREFIX + s.name: s for s in self.sources.values() if s.enabled}
        refresh = self.app.settings.registry_refresh if self.app.registry_clients else None
        for job in scheduler.get_jobs():
            if job.id == REGISTRY_JOB and refresh is not None:
                continue
            if job.id not in wanted:
                logger.info("removing job %s (no longer an enabled source)", job.id)
                job.remove()
        for job_id, source in wanted.items():
            self._schedule(job_id, run_scheduled_crawl, source.schedule, [source.name], f"crawl {source.name}")
        if refresh is not None:
            self._schedule(REGISTRY_JOB, run_registry_refresh, refresh, [], "refresh the trial registries' records")

    def _schedule(self, job_id: str, function: Callable[..., None], cron: str, args: list, name: str) -> None:
        """Store the job, or bring a stored one to this schedule and the job options; a job whose
        schedule did not change keeps its next run time."""
        scheduler = self._scheduler
        assert scheduler is not None, "jobs are synced once the scheduler is built"
        try:
            trigger = cron_trigger(cron)
        except ValueError as exc:
            raise SchedulerError(f"{name}: the schedule {cron!r} is not a crontab expression ({exc})") from None
        existing = scheduler.get_job(job_id)
        if existing is None:
            scheduler.add_job(function, trigger=trigger, args=args, id=job_id, name=name, **self._job_options())
            return
        if str(existing.trigger) != str(trigger):
            logger.info("schedule of %s changed to %s", name, cron)
            scheduler.reschedule_job(job_id, trigger=trigger)
        scheduler.modify_job(job_id, **self._job_options())

    def refresh_registries(self) -> None:
        """The registry job: cited trials without a fresh record are fetched again, and the pages
        whose predictions their judgements move are scored again (`hypewatch trials refresh`)."""
        if self.stopping.is_set():
            return
        try:
            outcome, moved = refresh_trials(self.app)
        except (StorageError, SQLAlchemyError) as exc:  # the next run tries again
            logger.warning("scheduled registry refresh failed: %s", exc)
            return
        logger.info("scheduled registry refresh: %s, %d prediction(s) moved", outcome.to_dict(), moved)

    def crawl(self, source_name: str) -> CrawlSummary | None:
        source = self.sources.get(source_name)
        if source is None:
            logger.error("scheduled source %r is not in the sources file; skipped", source_name)
            return None
        if self.stopping.is_set():
            return None
        logger.info("scheduled crawl of %s starting", source_name)
        summary = run_crawl(self.app, source, stop=self.stopping, model_version=self.model_version)
        logger.info("scheduled crawl of %s: %s, %d new, %d changed, %d unchanged%s", source_name, summary.status,
                    summary.pages_new, summary.pages_changed, summary.pages_unchanged,
                    " (source is silent)" if summary.silent else "")
        self.runs_finished += 1
        if self.on_run is not None:
            self.on_run(summary)
        return summary

    # ------------------------------------------------------------------ lock
    def _acquire_lock(self) -> None:
        host, pid = socket.gethostname(), os.getpid()
        try:
            with self.app.database.session() as session:
                acquire_lock(session, LOCK_NAME, self.holder, host=host, pid=pid, ttl=self.lock_ttl)
        except SchedulerLockHeld:
            # A scheduler on this machine whose process is gone need not be waited for.
            with self.app.database.session() as session:
                owner = lock_owner(session, LOCK_NAME)
                if not (owner and owner.host == host and not process_alive(owner.pid)
                        and take_over_lock(session, LOCK_NAME, owner.holder, self.holder, host=host, pid=pid)):
                    raise
            logger.warning("took over the scheduler lock of pid %d, which is no longer running", owner.pid)

    def _release_lock(self) -> None:
        try:
            with self.app.database.session() as session:
                release_lock(session, LOCK_NAME, self.holder)
        except Exception:
            logger.exception("could not release the scheduler lock; it expires in %s", self.lock_ttl)

    def _deliver_alerts(self) -> None:
        """Every minute, deliver the alerts that are due (retries, digests a cap held back, daily
        digests); new events are found after each crawl (`hypewatch.dispatch`)."""
        while not self.stop_requested.wait(ALERT_DELIVERY_SECONDS):
            deliver_due(self.app)

    def _beat(self) -> None:
        while not self.stop_requested.wait(self.heartbeat_seconds):
            try:
                with self.app.database.session() as session:
                    held = heartbeat_lock(session, LOCK_NAME, self.holder)
            except Exception:
                logger.exception("scheduler lock heartbeat failed; retrying")
                continue
            if not held:
                logger.error("another scheduler took over the lock; stopping")
                self.lock_lost = True
                self.request_stop()
                return
            try:
                end_abandoned_runs(self.app)  # a run of a crawl killed under us, or of a worker's publisher
            except Exception:
                logger.exception("could not look for abandoned crawl runs; trying again at the next heartbeat")


# ---------------------------------------------------------------------- listing
@dataclass(frozen=True)
class ScheduledSource:
    name: str
    schedule: str
    enabled: bool
    next_run: dt.datetime | None
    stored: bool  # the job is in the database's job store
    last_status: str | None
    health: str


def list_schedule(app: Hypewatch, sources: list[SourceConfig], *,
                  now: dt.datetime | None = None) -> list[ScheduledSource]:
    """Every source's next run: the job store's, or (not scheduled yet) the one its cron gives."""
    now = now or utcnow()
    end_abandoned_runs(app)
    with app.database.session() as session:
        jobs = session.execute(select(SchedulerJob.id, SchedulerJob.next_run_time)).tuples().all()
        stored: dict[str, float | None] = dict(jobs)
        runs = latest_runs(session, [s.name for s in sources])
    rows = []
    for source in sources:
        job_id = JOB_PREFIX + source.name
        stored_time = stored.get(job_id)
        if stored_time is not None:
            next_run = dt.datetime.fromtimestamp(stored_time, dt.UTC)
        elif source.enabled:
            next_run = cron_trigger(source.schedule).get_next_fire_time(None, now)
        else:
            next_run = None
        run = runs.get(source.name)
        rows.append(ScheduledSource(source.name, source.schedule, source.enabled, next_run, job_id in stored,
                                    run.status if run else None, source_health(run, enabled=source.enabled)))
    return rows


def scheduler_owner(app: Hypewatch):
    """Who holds the scheduler lock (None when no scheduler runs: no lock, or a lock whose holder is
    gone: its process on this host no longer exists, or its heartbeat is past the lock's time-to-live)."""
    with app.database.session() as session:
        owner = lock_owner(session, LOCK_NAME)
    if owner is None:
        return None
    gone = (Owner(owner.host, owner.pid).is_here and not process_alive(owner.pid)) or \
        utcnow() - owner.heartbeat_at > LOCK_TTL
    return None if gone else owner
