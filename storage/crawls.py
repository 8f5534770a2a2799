"""Crawl bookkeeping: finishing crawl runs, telling silent sources, batch stores, the scheduler lock.

A run is *silent* when it failed or timed out, or when it found nothing (no new, changed or
unchanged page) for a source that found something before: the source has stopped delivering,
even if nothing raised an error. A run we cancelled ourselves is not silent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.errors import StorageError
from storage.models import SIGNAL_NAMES, CrawlRun, DocumentVersion, Page, Prediction, SchedulerLock, utcnow
from storage.repository import ExtractedDocument, StoreResult, compress_html, content_fingerprint

logger = logging.getLogger(__name__)

RUN_STATUSES = ("running", "ok", "failed", "timeout", "cancelled")
FINISHED_STATUSES = RUN_STATUSES[1:]


# ---------------------------------------------------------------------------- crawl runs
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


def abandon_stale_runs(session: Session, older_than: dt.timedelta, *, now: dt.datetime | None = None) -> int:
    """Mark runs still 'running' long after any crawl could have ended (their process died) as failed."""
    cutoff = (now or utcnow()) - older_than
    stale = session.scalars(select(CrawlRun).where(CrawlRun.status == "running", CrawlRun.started_at < cutoff)).all()
    for run in stale:
        finish_crawl_run(session, run.id, "failed", RunCounts(
            run.pages_fetched, run.pages_new, run.pages_changed, run.pages_unchanged, run.dropped, run.errors,
            run.pages_kept,
        ), message="abandoned: the crawl process ended without recording its result")
    return len(stale)


def latest_runs(session: Session, source_names: Iterable[str] | None = None) -> dict[str, CrawlRun]:
    """The newest run of each source (of the named sources, when given)."""
    newest = select(func.max(CrawlRun.id)).group_by(CrawlRun.source_name)
    if source_names is not None:
        newest = newest.where(CrawlRun.source_name.in_(list(source_names)))
    return {run.source_name: run for run in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(newest)))}


def last_productive_run(session: Session, source_name: str) -> CrawlRun | None:
    return session.scalars(
        select(CrawlRun)
        .where(CrawlRun.source_name == source_name,
               CrawlRun.pages_new + CrawlRun.pages_changed + CrawlRun.pages_unchanged > 0)
        .order_by(CrawlRun.id.desc())
        .limit(1)
    ).first()


def source_health(run: CrawlRun | None, *, enabled: bool = True) -> str:
    """One word for a source's state: never-run, running, ok, silent (or disabled)."""
    if not enabled:
        return "disabled"
    if run is None:
        return "never-run"
    if run.status == "running":
        return "running"
    return "silent" if run.silent else "ok"


# ---------------------------------------------------------------------------- documents
@dataclass(frozen=True)
class PendingDocument:
    document: ExtractedDocument
    score: Mapping[str, Any] | None  # a DocumentScore.to_dict(), stored as this model's prediction
    raw_html_gz: bytes | None = None  # the raw HTML already compressed (else document.raw_html is)


def store_batch(session: Session, batch: Sequence[PendingDocument], *, source_id: int | None) -> list[StoreResult]:
    """Store several documents and their predictions, with a handful of statements per batch.

    The same rules as `repository.store_document` and `store_prediction`, which store one at a
    time: a page per URL, a new version only when the text's fingerprint differs from the
    current version's (going back to an earlier text makes that version current again), at
    most one prediction per version and model; inserts that can race with another crawl use
    ON CONFLICT. URLs must be distinct within a batch. Rows are written in URL order, so workers
    storing overlapping batches at once lock them in the same order and never deadlock.
    """
    if not batch:
        return []
    urls = [p.document.url for p in batch]
    if len(set(urls)) != len(urls):
        raise ValueError("a batch must not hold the same URL twice")
    results = _store_sorted(session, sorted(batch, key=lambda p: p.document.url), source_id)
    return [results[url] for url in urls]


def _store_sorted(session: Session, batch: list[PendingDocument], source_id: int | None) -> dict[str, StoreResult]:
    urls = [p.document.url for p in batch]
    now = utcnow()
    seen = {p.document.url: p.document.fetched_at or now for p in batch}
    fingerprints = {p.document.url: content_fingerprint(p.document.text) for p in batch}
    _insert_ignoring_conflicts(session, Page, [
        {"url": p.document.url, "domain": p.document.domain, "source_id": source_id,
         "first_seen": seen[p.document.url], "last_seen": seen[p.document.url]} for p in batch
    ], ["url"])
    pages = {row.url: row for row in session.execute(
        select(Page.id, Page.url, Page.source_id, Page.current_version_id, DocumentVersion.fingerprint)
        .outerjoin(DocumentVersion, DocumentVersion.id == Page.current_version_id)
        .where(Page.url.in_(urls))
    )}
    statuses: dict[str, str] = {}
    for url in urls:
        page = pages[url]
        if page.current_version_id is None:
            statuses[url] = "new"
        else:
            statuses[url] = "unchanged" if page.fingerprint == fingerprints[url] else "changed"
    _insert_ignoring_conflicts(session, DocumentVersion, [
        _version_row(p, pages[p.document.url].id, fingerprints[p.document.url], seen[p.document.url])
        for p in batch if statuses[p.document.url] != "unchanged"
    ], ["page_id", "fingerprint"])
    page_ids = [pages[url].id for url in urls]
    version_ids = {
        (row.page_id, row.fingerprint): row.id for row in session.execute(
            select(DocumentVersion.id, DocumentVersion.page_id, DocumentVersion.fingerprint)
            .where(DocumentVersion.page_id.in_(page_ids), DocumentVersion.fingerprint.in_(set(fingerprints.values())))
        )
    }
    version_of = {url: version_ids[(pages[url].id, fingerprints[url])] for url in urls}
    _insert_ignoring_conflicts(session, Prediction, [
        prediction_row(version_of[p.document.url], p.score) for p in batch if p.score is not None
    ], ["version_id", "model_version"])
    newest_prediction = dict(session.execute(
        select(Prediction.version_id, func.max(Prediction.id))
        .where(Prediction.version_id.in_(list(version_of.values()))).group_by(Prediction.version_id)
    ).all())
    session.execute(update(Page), [
        {"id": pages[url].id, "last_seen": seen[url], "current_version_id": version_of[url],
         "current_prediction_id": newest_prediction.get(version_of[url]),
         "source_id": pages[url].source_id if pages[url].source_id is not None else source_id}
        for url in urls
    ])
    return {url: StoreResult(pages[url].id, version_of[url], statuses[url]) for url in urls}


def _version_row(pending: PendingDocument, page_id: int, fingerprint: str, fetched_at: dt.datetime) -> dict:
    doc = pending.document
    return {
        "page_id": page_id, "fingerprint": fingerprint, "text": doc.text, "title": _clip(doc.title, 1000),
        "author": _clip(doc.author, 500), "published": doc.published, "language": doc.language,
        "site_name": _clip(doc.site_name, 500), "fetched_at": fetched_at,
        "raw_html_gz": pending.raw_html_gz if pending.raw_html_gz is not None else compress_html(doc.raw_html),
    }


def prediction_row(version_id: int, score: Mapping[str, Any]) -> dict:
    """A `predictions` row for a classifier result (as `repository.store_prediction` writes it)."""
    row: dict[str, Any] = {
        "version_id": version_id, "model_version": score["model_version"], "created_at": utcnow(),
        "relevance": float(score["relevance"]), "relevant": bool(score["relevant"]),
        "hype_score": float(score["hype_score"]),
        "details": {"signals": score["signals"], "counter_signals": score["counter_signals"]},
    }
    for name in SIGNAL_NAMES:
        row[f"p_{name}"] = float(score["signals"][name]["probability"])
        row[f"flag_{name}"] = bool(score["signals"][name]["flagged"])
    return row


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else value


def _insert_ignoring_conflicts(session: Session, model, rows: list[dict], conflict_columns: list[str]) -> None:
    """One INSERT ... ON CONFLICT DO NOTHING for many rows (PostgreSQL and SQLite)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(model).on_conflict_do_nothing(index_elements=conflict_columns), rows)


def url_with_content(session: Session, fingerprint: str, *, other_than: str) -> str | None:
    """A stored page, other than `other_than`, whose current text has this fingerprint."""
    return session.scalar(
        select(Page.url)
        .join(DocumentVersion, DocumentVersion.id == Page.current_version_id)
        .where(DocumentVersion.fingerprint == fingerprint, Page.url != other_than)
        .limit(1)
    )


# ---------------------------------------------------------------------------- scheduler lock
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
    insert the row if there is none; otherwise take it over only if its heartbeat is stale.
    """
    now = now or utcnow()
    values = {"name": name, "holder": holder, "host": host, "pid": pid, "acquired_at": now, "heartbeat_at": now}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = session.execute(insert(SchedulerLock).values(**values).on_conflict_do_nothing(index_elements=["name"]))
    if inserted.rowcount == 1:
        return
    taken = session.execute(
        update(SchedulerLock)
        .where(SchedulerLock.name == name, SchedulerLock.heartbeat_at < now - ttl)
        .values(**{k: v for k, v in values.items() if k != "name"})
    )
    if taken.rowcount == 1:
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
    return result.rowcount == 1


def heartbeat_lock(session: Session, name: str, holder: str, *, now: dt.datetime | None = None) -> bool:
    """Refresh the lock; False when `holder` no longer holds it."""
    result = session.execute(
        update(SchedulerLock).where(SchedulerLock.name == name, SchedulerLock.holder == holder)
        .values(heartbeat_at=now or utcnow())
    )
    return result.rowcount == 1


def release_lock(session: Session, name: str, holder: str) -> None:
    session.execute(delete(SchedulerLock).where(SchedulerLock.name == name, SchedulerLock.holder == holder))


def lock_owner(session: Session, name: str) -> LockOwner | None:
    row = session.get(SchedulerLock, name, populate_existing=True)
    if row is None:
        return None
    return LockOwner(row.holder, row.host, row.pid, row.acquired_at, row.heartbeat_at)
