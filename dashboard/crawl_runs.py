"""What the dashboard reads about crawls: runs, each source's latest run, crawl health, and the
per-source table that joins a source's figures to its latest run.

A run is shown as the record `storage.runs.run_record` makes of it (the runs page, the JSON API,
the sources table and `hypewatch sources --json` all use that one shape).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifier.signals import SIGNALS
from dashboard.figures import RUNS_PER_PAGE, CrawlHealth, GroupStats
from storage.models import CrawlRun, Page, Source
from storage.runs import latest_runs, run_record


def latest_records(session: Session) -> dict[str, dict[str, Any]]:
    """Each source's newest run (`storage.runs.latest_runs`) as a record, by source name."""
    return {name: run_record(run) for name, run in latest_runs(session).items()}


def list_runs(session: Session, *, source: str | None = None, page: int = 1,
              per_page: int = RUNS_PER_PAGE) -> tuple[list[dict[str, Any]], int]:
    """One page of runs, newest first, and how many runs there are in all."""
    stmt = select(CrawlRun)
    count = select(func.count(CrawlRun.id))
    if source:
        stmt, count = stmt.where(CrawlRun.source_name == source), count.where(CrawlRun.source_name == source)
    stmt = stmt.order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(per_page).offset((page - 1) * per_page)
    return [run_record(r) for r in session.scalars(stmt)], session.scalar(count) or 0


def crawl_health(session: Session) -> CrawlHealth:
    runs = latest_records(session)
    week_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    finished = [r["finished_at"] for r in runs.values() if r["finished_at"]]
    return CrawlHealth(
        sources=len(runs),
        ok=sum(1 for r in runs.values() if r["status"] == "ok" and not r["silent"]),
        failing=sorted(n for n, r in runs.items() if r["status"] in ("failed", "timeout")),
        silent=sorted(n for n, r in runs.items() if r["silent"]),
        running=sum(1 for r in runs.values() if r["status"] == "running"),
        last_finished=max(finished) if finished else None,
        runs_last_week=session.scalar(select(func.count(CrawlRun.id)).where(CrawlRun.started_at >= week_ago)) or 0,
    )


def newest_seen(session: Session) -> dt.datetime | None:
    """When the newest crawl last saw any page (the reference for calling a domain silent)."""
    value = session.scalar(select(func.max(CrawlRun.finished_at)))
    if value is None:
        value = session.scalar(select(Page.last_seen).order_by(Page.id.desc()).limit(1))
    return value


def source_stats(session: Session, configured: Sequence[tuple[str, str]], by_name: dict[str, GroupStats]
                 ) -> list[GroupStats]:
    """Per known source (stored, configured or crawled): its pages' figures (`by_name`, counted by
    `dashboard.analytics`) and its latest crawl run."""
    known: dict[str, str | None] = {s.name: s.kind for s in session.scalars(select(Source))}
    for name, kind in configured:
        known.setdefault(name, kind)
    runs = latest_records(session)
    for name in runs:
        known.setdefault(name, None)
    result = []
    for name in sorted(known):
        item = by_name.get(name) or GroupStats(name, 0, 0, None, {n: None for n in SIGNALS}, None, kind=known[name])
        run = runs.get(name)
        result.append(replace(item, kind=item.kind or known[name], last_run=run,
                              silent=bool(run and (run["silent"] or run["status"] in ("failed", "timeout")))))
    return result
