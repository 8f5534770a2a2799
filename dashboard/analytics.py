"""Counting, filtering and ranking over the in-memory `Facts`: the figures every page shows.

Each function returns a `dashboard.figures` type; the tests hold every one to its definition in
SQL (tests/sql_twins.py). Only the rows on screen are then read from the database.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np

from classifier.signals import HIGH_HYPE, SIGNALS
from dashboard.facts import CODES, HIGH_HYPE_BIT, RELEVANT_BIT, Facts, flag_bit
from dashboard.figures import SILENT_AFTER, GroupStats, Summary, Trends, mean_hype
from dashboard.filters import ArticleFilters

SIGNAL_COLUMN = {name: j for j, name in enumerate(SIGNALS)}


def _code_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each possible `Facts.code`: [relevant, high hype among relevant], the flags, and the
    flags among relevant rows (as 0/1 matrices a table of code counts is multiplied by)."""
    codes = np.arange(CODES)
    relevant = (codes & RELEVANT_BIT) > 0
    flags = np.stack([(codes & flag_bit(j)) > 0 for j in range(len(SIGNALS))], axis=1)
    head = np.stack([relevant, relevant & ((codes & HIGH_HYPE_BIT) > 0)], axis=1)
    return head.astype(np.float64), flags.astype(np.float64), (flags & relevant[:, None]).astype(np.float64)


CODE_HEAD, CODE_FLAGS, CODE_RELEVANT_FLAGS = _code_table()


def _kept(keep: np.ndarray) -> np.ndarray | None:
    """The kept rows' positions, or None when every row is kept (then columns are used whole)."""
    return None if keep.all() else np.flatnonzero(keep)


def _take(column: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return column if rows is None else column.take(rows)


def _counted(table: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Per row of a (groups, CODES) table of counts: the counts `matrix` picks (exact: counts stay below 2**53)."""
    return np.rint(table @ matrix).astype(np.int64)


def _code_counts(keys: np.ndarray, size: int = 1) -> np.ndarray:
    """Rows per (group, code), from keys group * CODES + code: a (size, CODES) table."""
    return np.bincount(keys, minlength=size * CODES).reshape(size, CODES).astype(np.float64)


def mask(facts: Facts, filters: ArticleFilters, search_ids: np.ndarray | None = None) -> np.ndarray:
    """Which rows pass the filters (the search words are matched in the database: `search_ids`)."""
    keep = np.ones(len(facts), dtype=bool)
    if filters.date_from:
        keep &= facts.day >= filters.date_from.toordinal()
    if filters.date_to:
        keep &= facts.day <= filters.date_to.toordinal()
    if filters.domain:
        keep &= facts.domain == facts.domain_index.get(filters.domain, -2)
    if filters.source:
        keep &= facts.source == facts.sources.get(filters.source, -2)
    if filters.signal:
        keep &= facts.flags[:, SIGNAL_COLUMN[filters.signal]]
    if filters.min_hype is not None:
        keep &= facts.hype >= filters.min_hype
    if filters.relevance == "relevant":
        keep &= facts.relevant
    elif filters.relevance == "irrelevant":
        keep &= ~facts.relevant
    if filters.labelled == "yes":
        keep &= facts.labelled
    elif filters.labelled == "no":
        keep &= ~facts.labelled
    if search_ids is not None:
        keep &= holds(facts.page_id, search_ids)
    return keep


def holds(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """`np.isin` by a lookup table over the ids' range (linear, where sorting a million ids is not)."""
    if not len(wanted) or not len(values):
        return np.zeros(len(values), dtype=bool)
    return np.isin(values, wanted, kind="table")


# ---------------------------------------------------------------- ordering
def _sort_key(facts: Facts, sort: str) -> np.ndarray:
    if sort == "domain":  # by name: the rank of each row's domain in alphabetical order
        return facts.domain_rank[facts.domain]
    keys: dict[str, np.ndarray] = {"hype": facts.hype, "date": facts.day, "relevance": facts.relevance}
    return keys[sort]


def _first_rows(rows: np.ndarray, key: np.ndarray, tie: np.ndarray, stop: int | None, descending: bool) -> np.ndarray:
    """`rows` ordered by (key, tie), ascending or descending; only the first `stop` of them.

    Only the rows that can be among the first `stop` are sorted: those whose key reaches the
    stop-th key (found by partitioning, in linear time), ties included."""
    values = key[rows]
    if stop is not None and stop < len(rows):
        if stop <= 0:
            return rows[:0]
        if descending:
            bound = np.partition(values, len(values) - stop)[len(values) - stop]
            near = values >= bound
        else:
            bound = np.partition(values, stop - 1)[stop - 1]
            near = values <= bound
        rows, values = rows[near], values[near]
    order = np.lexsort((tie[rows], values))
    if descending:
        order = order[::-1]
    return rows[order[:stop]]


def ordered_ids(facts: Facts, keep: np.ndarray, sort: str, order: str, stop: int | None = None) -> np.ndarray:
    """Page ids of the kept rows in list order (ties by page id, in the same direction); with
    `stop`, only the first `stop` of them."""
    rows = _first_rows(np.flatnonzero(keep), _sort_key(facts, sort), facts.page_id, stop, order == "desc")
    return facts.page_id[rows]


def newest_high_hype_ids(facts: Facts, filters: ArticleFilters, search_ids=None, limit: int = 6) -> np.ndarray:
    narrowed = replace(filters, relevance="relevant", min_hype=max(filters.min_hype or 0, HIGH_HYPE))
    return ordered_ids(facts, mask(facts, narrowed, search_ids), "date", "desc", stop=limit)


def queue_ids(facts: Facts, filters: ArticleFilters, search_ids=None, limit: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Unlabelled rows where the model is least certain: (page ids, uncertainty from 0 to 1)."""
    narrowed = replace(filters, labelled="no", relevance="all" if filters.relevance == "relevant" else filters.relevance)
    rows = np.flatnonzero(mask(facts, narrowed, search_ids))
    ranked = _first_rows(rows, facts.margin, -facts.page_id, limit, descending=False)
    return facts.page_id[ranked], np.round(1 - 2 * facts.margin[ranked], 3)


# ---------------------------------------------------------------- aggregates
def trends(facts: Facts, filters: ArticleFilters, search_ids=None) -> Trends:
    rows = _kept(mask(facts, replace(filters, relevance="relevant"), search_ids))
    keys = _take(facts.week_code, rows)  # week * CODES + code
    if not len(keys):
        return Trends([], [], [], {n: [] for n in SIGNALS}, [], {n: [] for n in SIGNALS})
    first = int(keys.min()) // CODES
    if filters.date_from:  # the week the range starts in, even when its first days have no article
        first = max(first, (filters.date_from.toordinal() - 1) // 7)
    keys = keys - first * CODES
    kept = keys >= 0
    if not kept.all():
        rows = np.flatnonzero(kept) if rows is None else rows[kept]
        keys = keys[kept]
    weeks = int(keys.max()) // CODES + 1 if len(keys) else 0
    table = _code_counts(keys, weeks)
    counts = np.rint(table.sum(axis=1)).astype(np.int64)
    high = _counted(table, CODE_HEAD)[:, 1]
    flag_counts = _counted(table, CODE_FLAGS)
    hype_sum = np.bincount(_take(facts.week, rows) - first, weights=_take(facts.hype, rows), minlength=weeks)
    return Trends(
        weeks=[dt.date.fromordinal(7 * (first + i) + 1) for i in range(weeks)],
        articles=counts.tolist(),
        mean_hype=[mean_hype(s, int(c)) for s, c in zip(hype_sum, counts, strict=True)],
        signal_share={n: [round(float(f / c), 4) if c else None for f, c in zip(flag_counts[:, j], counts, strict=True)]
                      for j, n in enumerate(SIGNALS)},
        high_hype=high.tolist(),
        signal_counts={n: flag_counts[:, j].tolist() for j, n in enumerate(SIGNALS)},
    )


def summary(facts: Facts, filters: ArticleFilters, search_ids=None) -> Summary:
    keep = mask(facts, replace(filters, relevance="all"), search_ids)
    rows = _kept(keep)
    table = _code_counts(_take(facts.code_key, rows))
    n_relevant, high = _counted(table, CODE_HEAD)[0].tolist()
    flags = _counted(table, CODE_RELEVANT_FLAGS)[0].tolist()
    return Summary(
        articles=int(np.count_nonzero(keep)),
        relevant=n_relevant,
        mean_hype=mean_hype(_take(facts.hype_relevant, rows).sum(), n_relevant),
        high_hype=high,
        # labelled among the rows the other filters keep (whatever the labelled filter says)
        labelled=int(np.count_nonzero(mask(facts, replace(filters, relevance="all", labelled="yes"), search_ids))),
        domains=int(np.count_nonzero(np.bincount(_take(facts.domain, rows), minlength=len(facts.domains)))),
        signal_counts={n: int(flags[j]) for j, n in enumerate(SIGNALS)},
    )


def _grouped(facts: Facts, group: np.ndarray, keys: np.ndarray, size: int, keep: np.ndarray):
    """Per group: articles, relevant, hype sum over relevant, flag sums, newest last_seen (`keys`:
    each row's group * CODES + code)."""
    rows = _kept(keep)
    g = _take(group, rows)
    table = _code_counts(_take(keys, rows), size)
    articles = np.rint(table.sum(axis=1)).astype(np.int64)
    n_relevant = _counted(table, CODE_HEAD)[:, 0]
    flag_sums = _counted(table, CODE_FLAGS)
    hype_sum = np.bincount(g, weights=_take(facts.hype_relevant, rows), minlength=size)
    flags = {n: flag_sums[:, j] for j, n in enumerate(SIGNALS)}
    last_seen = np.full(size, -np.inf)
    np.maximum.at(last_seen, g, _take(facts.last_seen, rows))
    return articles, n_relevant, hype_sum, flags, last_seen


def _stats(name: str, i: int, grouped, **extra) -> GroupStats:
    articles, n_relevant, hype_sum, flags, last_seen = grouped
    relevant = int(n_relevant[i])
    return GroupStats(
        name=name, articles=int(articles[i]), relevant=relevant,
        mean_hype=mean_hype(hype_sum[i], relevant),
        signal_rates={n: round(float(flags[n][i] / relevant), 4) if relevant else None for n in SIGNALS},
        # whole seconds: SQLite's julianday, which the facts are read with, keeps about a millisecond
        last_seen=dt.datetime.fromtimestamp(math.floor(last_seen[i] + 0.001), dt.UTC) if np.isfinite(last_seen[i]) else None,
        **extra,
    )


def domain_stats(facts: Facts, filters: ArticleFilters, newest: dt.datetime | None, *, sort: str = "articles",
                 limit: int | None = None, min_relevant: int = 0, search_ids=None) -> list[GroupStats]:
    keep = mask(facts, replace(filters, relevance="all"), search_ids)
    size = len(facts.domains)
    grouped = _grouped(facts, facts.domain, facts.domain_key, size, keep)
    articles, n_relevant, hype_sum, _, last_seen = grouped
    present = np.flatnonzero((articles > 0) & (n_relevant >= min_relevant))
    mean = np.where(n_relevant > 0, hype_sum / np.maximum(n_relevant, 1), -1.0)
    names = facts.domain_rank
    keys = {"articles": -articles, "relevant": -n_relevant, "mean_hype": -mean, "last_seen": -last_seen,
            "name": np.zeros(size)}[sort]
    chosen = present[np.lexsort((names[present], keys[present]))]
    if limit:
        chosen = chosen[:limit]
    result = []
    for i in chosen:
        item = _stats(facts.domains[i], int(i), grouped)
        silent = bool(newest and item.last_seen and newest - item.last_seen > SILENT_AFTER)
        result.append(replace(item, silent=silent))
    return result


def source_group_stats(facts: Facts) -> dict[str, GroupStats]:
    """Per source name (of sources that have pages): the same figures as per domain."""
    by_id = {sid: name for name, sid in facts.sources.items()}
    if not by_id:
        return {}
    size = max(by_id) + 1
    has_source = facts.source >= 0
    grouped = _grouped(facts, facts.source_group, facts.source_key, size, has_source)
    return {name: _stats(name, sid, grouped) for sid, name in by_id.items() if grouped[0][sid] > 0}
