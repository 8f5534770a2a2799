"""An in-memory, column-wise copy of every page's current scores: what the charts and lists count.

Trends, domain tables, the review queue and the filtered, sorted article list all look at every
stored page. Joining 100,000 pages to their versions and predictions for each request takes
seconds on SQLite, so the dashboard keeps the few numbers it aggregates (date, domain, source,
relevance, hype score, signal flags and probabilities, labelled) as NumPy arrays: about 60 bytes a
page. They are loaded once, then brought up to date from the rows whose ids moved since (new
pages, versions, predictions and labels are all found through indexed id ranges), so a crawl or a
label costs the dashboard a small query, not a reload. The database stays the only truth: titles,
texts and everything shown for a row are read from it for the rows on screen.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Row, exists, select, union
from sqlalchemy.orm import Session

from classifier.signals import SIGNALS
from dashboard.reads import ARTICLE_DATE
from dashboard.sqlfuncs import days_since_epoch, epoch_seconds
from storage.models import CrawlRun, DocumentVersion, Label, Page, Prediction, Source

CHUNK = 900  # ids per IN (...) query, below every backend's bound-parameter limit


@dataclass(frozen=True)
class Stamp:
    pages: int
    versions: int
    predictions: int
    labels: int
    runs: tuple
    sources: int


def read_stamp(session: Session) -> Stamp:
    from sqlalchemy import func

    row = session.execute(select(
        select(func.max(Page.id)).scalar_subquery(),
        select(func.max(DocumentVersion.id)).scalar_subquery(),
        select(func.max(Prediction.id)).scalar_subquery(),
        select(func.max(Label.id)).scalar_subquery(),
        select(func.max(CrawlRun.id)).scalar_subquery(),
        select(func.count(CrawlRun.finished_at)).scalar_subquery(),
        select(func.count(Source.id)).scalar_subquery(),
    )).one()
    return Stamp(row[0] or 0, row[1] or 0, row[2] or 0, row[3] or 0, (row[4] or 0, row[5] or 0), row[6] or 0)


EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _row_select():
    """One row per page with a current prediction; only numbers and the domain, so bulk reads are fast."""
    labelled = exists(select(Label.id).where(Label.version_id == Page.current_version_id))
    return (
        select(
            Page.id, Page.domain, Page.source_id, days_since_epoch(ARTICLE_DATE), epoch_seconds(Page.last_seen),
            Prediction.relevant, Prediction.hype_score, Prediction.relevance,
            *[getattr(Prediction, f"flag_{n}") for n in SIGNALS], *[getattr(Prediction, f"p_{n}") for n in SIGNALS],
            labelled.label("labelled"), Page.current_version_id,
        )
        .select_from(Page)
        .join(DocumentVersion, DocumentVersion.id == Page.current_version_id)
        .join(Prediction, Prediction.id == Page.current_prediction_id)
    )


class Facts:
    """One immutable snapshot of the arrays; `FactStore` swaps in a new one when data changes."""

    def __init__(self, rows: Sequence, domains: list[str], sources: dict[str, int], stamp: Stamp):
        k = len(SIGNALS)
        self.stamp = stamp
        self.sources = sources
        self.domains = domains
        index = {d: i for i, d in enumerate(domains)}
        columns = list(zip(*rows, strict=True)) if rows else [()] * (10 + 2 * k)
        self.page_id = np.array(columns[0], dtype=np.int64)
        self.domain = np.array([index[d] for d in columns[1]], dtype=np.int32)
        self.source = np.array([-1 if s is None else s for s in columns[2]], dtype=np.int32)
        self.day = np.array(columns[3], dtype=np.int32) + EPOCH_ORDINAL
        self.last_seen = np.array(columns[4], dtype=np.float64)
        self.relevant = np.array(columns[5], dtype=bool)
        self.hype = np.array(columns[6], dtype=np.float64)
        self.relevance = np.array(columns[7], dtype=np.float64)
        self.flags = np.array(columns[8:8 + k], dtype=bool).T.reshape(len(rows), k)
        self.probs = np.array(columns[8 + k:8 + 2 * k], dtype=np.float64).T.reshape(len(rows), k)
        self.labelled = np.array(columns[8 + 2 * k], dtype=bool)
        self.version_id = np.array(columns[9 + 2 * k], dtype=np.int64)
        self._derive()

    def _derive(self) -> None:
        self._by_id = np.argsort(self.page_id, kind="stable")
        self.domain_index = {d: i for i, d in enumerate(self.domains)}
        order = np.argsort(np.array(self.domains, dtype=object)) if self.domains else np.array([], dtype=np.int64)
        self.domain_rank = np.empty(len(self.domains), dtype=np.int32)
        self.domain_rank[order] = np.arange(len(self.domains), dtype=np.int32)
        margins = np.abs(self.probs - 0.5)
        relevance_margin = np.abs(self.relevance - 0.5)
        signal_margin = margins.min(axis=1) if len(margins) else relevance_margin
        self.margin = np.where(self.relevant, np.minimum(relevance_margin, signal_margin), relevance_margin)

    def __len__(self) -> int:
        return len(self.page_id)

    def positions(self, page_ids) -> np.ndarray:
        """Row of each page id, or -1 for ids not held."""
        wanted = np.asarray(page_ids, dtype=np.int64)
        if not len(self.page_id):
            return np.full(len(wanted), -1, dtype=np.int64)
        sorted_ids = self.page_id[self._by_id]
        at = np.clip(np.searchsorted(sorted_ids, wanted), 0, len(sorted_ids) - 1)
        return np.where(sorted_ids[at] == wanted, self._by_id[at], -1)

    def merged(self, rows: Sequence, stamp: Stamp, sources: dict[str, int]) -> Facts:
        """A new snapshot with `rows` (fresh reads of changed or new pages) replacing or added."""
        new_domains = list(self.domains)
        known = set(new_domains)
        for r in rows:
            if r[1] not in known:
                known.add(r[1])
                new_domains.append(r[1])
        fresh = Facts(rows, new_domains, sources, stamp)
        existing = self.positions(fresh.page_id)
        combined = object.__new__(Facts)
        combined.stamp, combined.sources, combined.domains = stamp, sources, new_domains
        keep = np.ones(len(self), dtype=bool)
        keep[existing[existing >= 0]] = False
        for name in ("page_id", "domain", "source", "day", "last_seen", "relevant", "hype", "relevance", "flags",
                     "probs", "labelled", "version_id"):
            setattr(combined, name, np.concatenate([getattr(self, name)[keep], getattr(fresh, name)]))
        combined._derive()
        return combined


def _load_sources(session: Session) -> dict[str, int]:
    return {name: sid for sid, name in session.execute(select(Source.id, Source.name))}


class FactStore:
    """Holds the current snapshot and refreshes it when the database's stamp moves."""

    def __init__(self) -> None:
        self._facts: Facts | None = None
        self._lock = threading.Lock()

    def current(self, session: Session, stamp: Stamp) -> Facts:
        facts = self._facts
        if facts is not None and facts.stamp == stamp:
            return facts
        with self._lock:
            facts = self._facts
            if facts is None:
                facts = self._full_load(session, stamp)
            elif facts.stamp != stamp:
                facts = self._update(session, facts, stamp)
            self._facts = facts
            return facts

    def reset(self) -> None:
        with self._lock:
            self._facts = None

    @staticmethod
    def _full_load(session: Session, stamp: Stamp) -> Facts:
        rows = session.execute(_row_select().execution_options(yield_per=5000)).all()
        domains = sorted({r[1] for r in rows})
        return Facts(rows, domains, _load_sources(session), stamp)

    def _update(self, session: Session, facts: Facts, stamp: Stamp) -> Facts:
        old = facts.stamp
        if stamp.pages < old.pages or stamp.versions < old.versions or stamp.predictions < old.predictions:
            return self._full_load(session, stamp)  # rows were deleted: start again
        changed = set(session.scalars(union(
            select(Page.id).where(Page.id > old.pages),
            select(Page.id).where(Page.current_version_id > old.versions),
            select(Page.id).where(Page.current_prediction_id > old.predictions),
        )))
        if stamp.labels != old.labels:
            changed |= set(session.scalars(
                select(DocumentVersion.page_id).join(Label, Label.version_id == DocumentVersion.id)
                .where(Label.id > old.labels)
            ))
        rows: list[Row[Any]] = []
        ids = sorted(changed)
        for start in range(0, len(ids), CHUNK):
            rows.extend(session.execute(_row_select().where(Page.id.in_(ids[start:start + CHUNK]))).all())
        updated = facts.merged(rows, stamp, _load_sources(session)) if rows else _restamped(facts, stamp)
        if stamp.runs != old.runs and len(updated):
            # A crawl that found pages unchanged moves only their last_seen: read the pages seen
            # since the newest time known (a second early, as SQLite's julianday rounds).
            since = dt.datetime.fromtimestamp(float(facts.last_seen.max()) - 1, dt.UTC) if len(facts) else None
            stmt = select(Page.id, epoch_seconds(Page.last_seen))
            if since is not None:
                stmt = stmt.where(Page.last_seen >= since)
            seen = session.execute(stmt).all()
            if seen:
                seen_ids, times = zip(*seen, strict=True)
                at = updated.positions(seen_ids)
                last_seen = updated.last_seen.copy()
                last_seen[at[at >= 0]] = np.array(times, dtype=np.float64)[at >= 0]
                updated.last_seen = last_seen
            updated.sources = _load_sources(session)
        return updated


def _restamped(facts: Facts, stamp: Stamp) -> Facts:
    copy = object.__new__(Facts)
    copy.__dict__.update(facts.__dict__)
    copy.stamp = stamp
    return copy


__all__ = ["Facts", "FactStore", "Stamp", "read_stamp"]
