"""An in-memory, column-wise copy of every page's current scores: what the charts and lists count.

Trends, domain tables, the review queue and the filtered, sorted article list all look at every
stored page. Joining 100,000 pages to their versions and predictions for each request takes
seconds on SQLite, so the dashboard keeps the few numbers it aggregates (date, domain, source,
relevance, hype score, signal flags and probabilities, labelled) as NumPy arrays: about 60 bytes a
page. They are loaded once, then brought up to date from the rows whose ids moved since (new
pages, versions, predictions and labels are all found through indexed id ranges), so a crawl or a
label costs the dashboard a small query, not a reload. The database stays the only truth: titles,
texts and everything shown for a row are read from it for the rows on screen.

Reading a million pages takes about 20 seconds, so the arrays are also kept on disk, like the
search index (derived data in HYPEWATCH_HOME/cache/, safe to delete): a snapshot file stamped
with the database it came from and the ids it had reached. A restarting dashboard loads it in a
fraction of a second and reads only the rows that moved since, as it does after a crawl; it is
written after a full load and again at most every `SNAPSHOT_EVERY` seconds while data changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Row, exists, select, union
from sqlalchemy.orm import Session

from classifier.signals import HIGH_HYPE, SIGNALS
from dashboard.reads import ARTICLE_DATE
from dashboard.search import database_identity
from dashboard.sqlfuncs import days_since_epoch, epoch_seconds
from storage.models import CrawlRun, DocumentVersion, Label, Page, Prediction, Source

logger = logging.getLogger(__name__)

CHUNK = 900  # ids per IN (...) query, below every backend's bound-parameter limit
SNAPSHOT_FORMAT = 1
SNAPSHOT_EVERY = 300.0  # seconds between two writes of the snapshot while the data changes
SNAPSHOT_DELAY = 5.0  # seconds from a change of the facts to the write of the snapshot


@dataclass(frozen=True)
class Stamp:
    pages: int
    versions: int
    predictions: int
    labels: int
    runs: tuple
    sources: int

    def as_list(self) -> list[int]:
        return [self.pages, self.versions, self.predictions, self.labels, *self.runs, self.sources]

    @classmethod
    def from_list(cls, values: Sequence[int]) -> Stamp:
        pages, versions, predictions, labels, runs, finished, sources = (int(v) for v in values)
        return cls(pages, versions, predictions, labels, (runs, finished), sources)

    def reaches(self, earlier: Stamp) -> bool:
        """Whether this stamp is at or past `earlier` in every id: what was added since can be read."""
        return (self.pages >= earlier.pages and self.versions >= earlier.versions
                and self.predictions >= earlier.predictions and self.labels >= earlier.labels)


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


# Bits of `Facts.code`: each row's relevance, signal flags and high hype in one byte, so that one
# bincount over (group, code) counts articles, relevant ones, flags and high hype per group.
RELEVANT_BIT = 1
HIGH_HYPE_BIT = 1 << (1 + len(SIGNALS))
CODES = 1 << (2 + len(SIGNALS))
COLUMNS = ("page_id", "domain", "source", "day", "last_seen", "relevant", "hype", "relevance", "flags",
           "labelled", "version_id", "margin", "code")


DERIVED = ("hype_relevant", "week", "week_code", "code_key", "domain_key", "source_group", "source_key")


def flag_bit(j: int) -> int:
    return 1 << (1 + j)


def _room(rows: int) -> int:
    """Rows of memory for a column of `rows`: a quarter more, so many crawls append before a copy."""
    return rows + max(rows // 4, 1024)


def _derived(compute: Callable[[Facts], np.ndarray]) -> cached_property:
    """A derived column, made when first needed (a few milliseconds), in memory with room to grow."""
    def made(facts: Facts) -> np.ndarray:
        return facts._kept(compute.__name__, compute(facts))

    made.__doc__ = compute.__doc__
    return cached_property(made)


class Facts:
    """One immutable snapshot of the arrays, one row per page in page id order; `FactStore` swaps
    in a new one when data changes."""

    page_id: np.ndarray
    domain: np.ndarray
    source: np.ndarray
    day: np.ndarray
    last_seen: np.ndarray
    relevant: np.ndarray
    hype: np.ndarray
    relevance: np.ndarray
    flags: np.ndarray
    labelled: np.ndarray
    version_id: np.ndarray
    margin: np.ndarray  # how sure the model is: the smallest distance of a probability from 0.5
    code: np.ndarray  # RELEVANT_BIT | flag_bit(j) for each flag | HIGH_HYPE_BIT
    domain_index: dict[str, int]
    domain_rank: np.ndarray  # each domain's place in alphabetical order

    def __init__(self, memory: dict[str, _Column], domains: list[str], sources: dict[str, int], stamp: Stamp,
                 *, like: Facts | None = None):
        """Facts over columns already in memory: a merge hands over the memory it wrote (derived
        columns included), a restamp the memory it shares. `from_columns` puts new columns there."""
        self.stamp = stamp
        self.sources = sources
        self.domains = domains
        self._memory = memory
        for name, column_memory in memory.items():
            setattr(self, name, column_memory.view())
        if like is not None and len(like.domains) == len(domains):  # domains are only ever added
            self.domain_index, self.domain_rank = like.domain_index, like.domain_rank
            return
        self.domain_index = {d: i for i, d in enumerate(domains)}
        order = np.argsort(np.array(domains, dtype=object)) if domains else np.array([], dtype=np.int64)
        self.domain_rank = np.empty(len(domains), dtype=np.int32)
        self.domain_rank[order] = np.arange(len(domains), dtype=np.int32)

    @classmethod
    def from_columns(cls, columns: dict[str, np.ndarray], domains: list[str], sources: dict[str, int],
                     stamp: Stamp) -> Facts:
        """Each column in memory with room to grow (one copy when made, so no merge has to copy it)."""
        memory = {name: _Column(column, len(column), room=_room(len(column))) for name, column in columns.items()}
        return cls(memory, domains, sources, stamp)

    @classmethod
    def from_rows(cls, rows: Sequence, domains: list[str], sources: dict[str, int], stamp: Stamp) -> Facts:
        """Facts of rows read with `_row_select` (in any order), for the given list of domains."""
        k = len(SIGNALS)
        index = {d: i for i, d in enumerate(domains)}
        raw = list(zip(*rows, strict=True)) if rows else [()] * (10 + 2 * k)
        n = len(rows)
        page_id = np.array(raw[0], dtype=np.int64)
        order = np.argsort(page_id, kind="stable")
        relevant = np.array(raw[5], dtype=bool)
        hype = np.array(raw[6], dtype=np.float64)
        relevance = np.array(raw[7], dtype=np.float64)
        flags = np.array(raw[8:8 + k], dtype=bool).T.reshape(n, k)
        probs = np.array(raw[8 + k:8 + 2 * k], dtype=np.float64).T.reshape(n, k)
        relevance_margin = np.abs(relevance - 0.5)
        signal_margin = np.abs(probs - 0.5).min(axis=1) if k and n else relevance_margin
        code = relevant.astype(np.uint8) * RELEVANT_BIT + (hype >= HIGH_HYPE).astype(np.uint8) * HIGH_HYPE_BIT
        for j in range(k):
            code += flags[:, j].astype(np.uint8) * flag_bit(j)
        columns: dict[str, np.ndarray] = {
            "page_id": page_id,
            "domain": np.array([index[d] for d in raw[1]], dtype=np.int32),
            "source": np.array([-1 if s is None else s for s in raw[2]], dtype=np.int32),
            "day": np.array(raw[3], dtype=np.int32) + EPOCH_ORDINAL,
            "last_seen": np.array(raw[4], dtype=np.float64),
            "relevant": relevant, "hype": hype, "relevance": relevance, "flags": flags,
            "labelled": np.array(raw[8 + 2 * k], dtype=bool),
            "version_id": np.array(raw[9 + 2 * k], dtype=np.int64),
            "margin": np.where(relevant, np.minimum(relevance_margin, signal_margin), relevance_margin),
            "code": code,
        }
        return cls.from_columns({name: column[order] for name, column in columns.items()}, domains, sources, stamp)

    def __len__(self) -> int:
        return len(self.page_id)

    # Derived columns the figures group by, made when first needed (a few milliseconds each).
    @_derived
    def hype_relevant(self) -> np.ndarray:
        """The hype score of relevant rows, 0 for the others (what means of hype add up)."""
        return np.where(self.relevant, self.hype, 0.0)

    @_derived
    def week(self) -> np.ndarray:
        """Weeks (Monday to Sunday) since 0001-01-01, a Monday: the week of ordinal day d is (d - 1) // 7."""
        return (self.day.astype(np.int64) - 1) // 7

    @_derived
    def week_code(self) -> np.ndarray:
        return self.week * CODES + self.code

    @_derived
    def code_key(self) -> np.ndarray:
        return self.code.astype(np.int64)

    @_derived
    def domain_key(self) -> np.ndarray:
        return self.domain.astype(np.int64) * CODES + self.code

    @_derived
    def source_group(self) -> np.ndarray:
        return np.maximum(self.source, 0)

    @_derived
    def source_key(self) -> np.ndarray:
        return self.source_group.astype(np.int64) * CODES + self.code

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in COLUMNS}

    # ---------------------------------------------------------------- the snapshot file
    def save(self, path: Path, identity: str) -> None:
        """Write the arrays to `path` (replaced at once, never half-written)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        arrays: dict[str, np.ndarray] = {
            "format": np.array([SNAPSHOT_FORMAT]), "identity": np.array([identity]),
            "stamp": np.array(self.stamp.as_list(), dtype=np.int64), "domains": np.array(self.domains, dtype=str),
            "source_names": np.array(list(self.sources), dtype=str),
            "source_ids": np.array(list(self.sources.values()), dtype=np.int64), **self.columns(),
        }
        with partial.open("wb") as file:
            np.savez(file, allow_pickle=False, **arrays)
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path, identity: str) -> Facts | None:
        """The snapshot at `path` if it is one of this database (else, or if unreadable, None)."""
        try:
            with np.load(path, allow_pickle=False) as saved:
                if int(saved["format"][0]) != SNAPSHOT_FORMAT or str(saved["identity"][0]) != identity:
                    return None
                columns = {name: saved[name] for name in COLUMNS}
                stamp = Stamp.from_list(saved["stamp"].tolist())
                domains = saved["domains"].tolist()
                sources = dict(zip(saved["source_names"].tolist(), saved["source_ids"].tolist(), strict=True))
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged or foreign file: the facts are read from the database
            logger.warning("ignoring the dashboard's figures snapshot %s: %s", path, exc)
            return None
        n = len(columns["page_id"])
        if any(len(c) != n for c in columns.values()) or (n and int(columns["domain"].max()) >= len(domains)):
            logger.warning("ignoring the dashboard's figures snapshot %s: its columns do not match", path)
            return None
        return cls.from_columns(columns, domains, sources, stamp)

    def positions(self, page_ids) -> np.ndarray:
        """Row of each page id, or -1 for ids not held."""
        wanted = np.asarray(page_ids, dtype=np.int64)
        if not len(self.page_id):
            return np.full(len(wanted), -1, dtype=np.int64)
        at = np.clip(np.searchsorted(self.page_id, wanted), 0, len(self.page_id) - 1)
        return np.where(self.page_id[at] == wanted, at, -1)

    def merged(self, rows: Sequence, stamp: Stamp, sources: dict[str, int]) -> Facts:
        """A new snapshot with `rows` (fresh reads of changed or new pages) replacing or added.

        New pages are appended (their ids are past every held one, so the page id order holds
        without sorting a million rows), in place past the end of each column's memory; a column
        is copied only when a held row's value in it changed (see `_Column`)."""
        new_domains = list(self.domains)
        known = set(new_domains)
        for r in rows:
            if r[1] not in known:
                known.add(r[1])
                new_domains.append(r[1])
        fresh = Facts.from_rows(rows, new_domains, sources, stamp)
        at = self.positions(fresh.page_id)
        held, added = np.flatnonzero(at >= 0), np.flatnonzero(at < 0)
        if len(added) and len(self) and fresh.page_id[added].min() < self.page_id[-1]:
            return self._sorted_with(fresh, at, held, added, stamp)  # an id below the newest held: sort again
        names = [*COLUMNS, *(name for name in DERIVED if name in self.__dict__)]  # derived: carried over, not made again
        memory = {name: self._column_memory(name).merged(at[held], getattr(fresh, name)[held], getattr(fresh, name)[added])
                  for name in names}
        return Facts(memory, new_domains, sources, stamp, like=self)

    def _column_memory(self, name: str) -> _Column:
        column = getattr(self, name)
        memory = self._memory.get(name)
        return memory if memory is not None and memory.shows(column) else _Column(column, len(column))

    def _sorted_with(self, fresh: Facts, at: np.ndarray, held: np.ndarray, added: np.ndarray, stamp: Stamp) -> Facts:
        n = len(self)

        def overlay(old: np.ndarray, new: np.ndarray) -> np.ndarray:
            column = np.empty((n + len(added), *old.shape[1:]), dtype=old.dtype)
            column[:n] = old
            column[at[held]] = new[held]
            column[n:] = new[added]
            return column

        columns = {name: overlay(getattr(self, name), getattr(fresh, name)) for name in COLUMNS}
        order = np.argsort(columns["page_id"], kind="stable")
        return Facts.from_columns({name: column[order] for name, column in columns.items()}, fresh.domains,
                                  fresh.sources, stamp)

    def _kept(self, name: str, values: np.ndarray) -> np.ndarray:
        self._memory[name] = _Column(values, len(values), room=_room(len(values)))
        return self._memory[name].view()

    def rewritten(self, name: str, rows: np.ndarray, values: np.ndarray) -> None:
        """Set `values` at `rows` of one column, for a snapshot not yet shown to anyone (the
        memory it shares with earlier snapshots is copied first)."""
        memory = self._column_memory(name).merged(rows, values, values[:0])
        self._memory[name] = memory
        setattr(self, name, memory.view())


class _Column:
    """A column's memory, with room past the rows a snapshot shows.

    Snapshots never change once shown (a request may be counting them): a merge writes new
    pages past the end of the memory the newest snapshot shows (no snapshot sees that part), and
    copies the column only when a held row's value changed. Fresh memory costs more here than
    the copy itself (the kernel maps it page by page: about 1.5 ms a megabyte on this machine), so
    a crawl of new pages writes only those rows, where copying every column cost 150-250 ms at a
    million pages."""

    __slots__ = ("data", "length")

    def __init__(self, values: np.ndarray, length: int, room: int | None = None):
        if room is None:
            self.data, self.length = values, length  # the memory of the values as they are
        else:
            self.data = np.empty((room, *values.shape[1:]), dtype=values.dtype)
            self.data[:length] = values[:length]
            self.length = length

    def shows(self, column: np.ndarray) -> bool:
        """Whether `column` is this memory's newest view (so appending past it is unseen)."""
        return column.base is self.data and len(column) == self.length

    def view(self) -> np.ndarray:
        return self.data[:self.length]

    def merged(self, rows: np.ndarray, values: np.ndarray, appended: np.ndarray) -> _Column:
        """This column with `values` at `rows` and `appended` after the end: in place when no held value
        changes and there is room, else in a copy with room to grow by a quarter."""
        n, total = self.length, self.length + len(appended)
        changes = len(rows) > 0 and not np.array_equal(self.data[rows], values)
        target = self
        if changes or total > len(self.data):
            target = _Column(self.data, n, room=_room(total))
        if changes:
            target.data[rows] = values
        target.data[n:total] = appended
        target.length = total
        return target


def _load_sources(session: Session) -> dict[str, int]:
    return {name: sid for sid, name in session.execute(select(Source.id, Source.name))}


def snapshot_path(cache_dir: Path, database_url: str) -> Path:
    """One snapshot file per database, under the given cache directory."""
    return cache_dir / f"facts-{hashlib.sha256(database_url.encode()).hexdigest()[:12]}.npz"


class FactStore:
    """Holds the current facts and refreshes them when the database's stamp moves; with a
    `snapshot` path, starts from the snapshot there and keeps it written."""

    def __init__(self, snapshot: Path | None = None) -> None:
        self.snapshot = snapshot
        self._facts: Facts | None = None
        self._lock = threading.Lock()
        self._identity: str | None = None
        self._saving = threading.Lock()
        self._saved: tuple[float, Stamp] | None = None  # when, and at which stamp
        self.origin: str | None = None  # where the facts came from at start: "snapshot" or "database"

    def current(self, session: Session, stamp: Stamp) -> Facts:
        facts = self._facts
        if facts is not None and facts.stamp == stamp:
            return facts
        with self._lock:
            facts = self._facts
            if facts is None:
                facts = self._restore(session, stamp)
            elif facts.stamp != stamp:
                facts = self._update(session, facts, stamp)
            self._facts = facts
        self._keep(facts)
        return facts

    def reset(self) -> None:
        with self._lock:
            self._facts = None

    # ---------------------------------------------------------------- the snapshot file
    def _restore(self, session: Session, stamp: Stamp) -> Facts:
        """The facts from the snapshot brought up to date, or (with none usable) read in full."""
        if self.snapshot is not None:
            self._identity = database_identity(session)
            saved = Facts.load(self.snapshot, self._identity)
            if saved is not None and stamp.reaches(saved.stamp):
                self._saved = (time.monotonic(), saved.stamp)
                self.origin = "snapshot"
                logger.info("figures of %d pages restored from %s", len(saved), self.snapshot)
                return saved if saved.stamp == stamp else self._update(session, saved, stamp)
        self.origin = "database"
        return self._full_load(session, stamp)

    def _keep(self, facts: Facts) -> None:
        """Write the snapshot in the background when it is missing or older than SNAPSHOT_EVERY
        (a few seconds later, so that the request that moved the facts is not slowed down)."""
        saved = self._saved
        if self.snapshot is None or (saved is not None and (saved[1] == facts.stamp
                                                           or time.monotonic() - saved[0] < SNAPSHOT_EVERY)):
            return
        self._saved = (time.monotonic(), facts.stamp)  # one write at a time is enough
        timer = threading.Timer(SNAPSHOT_DELAY, self.save, kwargs={"wait": False})
        timer.daemon = True
        timer.start()

    def save(self, *, wait: bool = True) -> bool:
        """Write the snapshot of the current facts now (without `wait`: unless another write is going on)."""
        if self.snapshot is None or not self._saving.acquire(blocking=wait):
            return False
        facts, identity = self._facts, self._identity
        if facts is None or identity is None:
            self._saving.release()
            return False
        try:
            self._saved = (time.monotonic(), facts.stamp)
            facts.save(self.snapshot, identity)
            return True
        except OSError as exc:
            logger.warning("could not write the dashboard's figures snapshot %s: %s", self.snapshot, exc)
            return False
        finally:
            self._saving.release()

    @staticmethod
    def _full_load(session: Session, stamp: Stamp) -> Facts:
        rows = session.execute(_row_select().execution_options(yield_per=5000)).all()
        domains = sorted({r[1] for r in rows})
        return Facts.from_rows(rows, domains, _load_sources(session), stamp)

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
                where, values = at[at >= 0], np.array(times, dtype=np.float64)[at >= 0]
                updated.rewritten("last_seen", where, values)
            updated.sources = _load_sources(session)
        return updated


def _restamped(facts: Facts, stamp: Stamp) -> Facts:
    return Facts(dict(facts._memory), facts.domains, facts.sources, stamp, like=facts)


__all__ = ["Facts", "FactStore", "Stamp", "read_stamp"]
