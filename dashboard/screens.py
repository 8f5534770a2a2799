"""What each screen shows, read once for the HTML page, the JSON API and the exports alike.

`Reader` is one request's view of the data: a database session, plus the dashboard's in-memory
facts (loaded only when a screen needs figures, so an article or the runs page never waits for
them). Each screen has one method here; the routes in `dashboard.pages`, `dashboard.api` and
`dashboard.exports` only render what it returns. Figures are counted over the facts
(`dashboard.analytics`); only the rows on screen are read from the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import cached_property
from typing import TypeVar

import numpy as np
from sqlalchemy.orm import Session

from dashboard import analytics, crawl_runs, reads
from dashboard.cache import AggregateCache
from dashboard.errors import NotFound
from dashboard.facts import Facts
from dashboard.figures import (
    AlertsView,
    ArticleDetail,
    ArticlePage,
    ArticleRow,
    DomainView,
    GroupStats,
    Overview,
    RunsPage,
    Summary,
    Trends,
    TrialRow,
)
from dashboard.filters import ArticleFilters
from dashboard.search import SearchIndex
from dashboard.trials import trial_rows, version_trials
from storage import alerts as alert_log
from storage.alert_rules import mask_channel
from storage.models import MAX_ROW_ID

T = TypeVar("T")
TOP_DOMAINS = 8
NEWEST_HIGH_HYPE = 6


class Reader:
    """One request's view: a session plus the dashboard's current facts, cache and search index."""

    def __init__(self, session: Session, *, load_facts: Callable[[], Facts], cache: AggregateCache,
                 search_index: SearchIndex, configured_sources: Sequence[tuple[str, str]] = ()):
        self.session = session
        self._load_facts = load_facts
        self.cache = cache
        self.search_index = search_index
        self.configured_sources = configured_sources

    @cached_property
    def facts(self) -> Facts:
        return self._load_facts()

    def figure(self, key: tuple, compute: Callable[[], T]) -> T:
        """A figure computed over the facts, kept in the cache until the data stamp moves (the
        same screen asked again between two crawls is not counted again)."""
        return self.cache.get(("figure", *key), self.facts.stamp, compute)

    def search_ids(self, filters: ArticleFilters) -> np.ndarray | None:
        """Pages whose current version matches the search words: from the full-text index once it
        has caught up with the database, else (while it is being built) from LIKE in the database."""
        q = filters.q
        if not q:
            return None
        index = self.search_index
        newest = self.facts.stamp.versions
        if index.caught_up(newest) or (index.indexed_to and index.try_sync(self.session, newest, max_batches=5)):
            versions = self.cache.get(("search", q), self.facts.stamp, lambda: index.version_ids(q))
            return self.facts.page_id[analytics.holds(self.facts.version_id, versions)]
        return self.cache.get(("search-like", q), self.facts.stamp,
                              lambda: np.array(reads.search_page_ids(self.session, q), dtype=np.int64))

    # ---------------------------------------------------------------- overview and trends
    def overview(self, filters: ArticleFilters) -> Overview:
        return Overview(
            summary=self.summary(filters),
            trends=self.trends(filters),
            top_domains=self.domains(filters, sort="mean_hype", limit=TOP_DOMAINS, min_relevant=2),
            newest_high_hype=self.rows(self.figure(("newest", filters), lambda: analytics.newest_high_hype_ids(
                self.facts, filters, self.search_ids(filters), NEWEST_HIGH_HYPE))),
            health=crawl_runs.crawl_health(self.session),
        )

    def trends(self, filters: ArticleFilters) -> Trends:
        return self.figure(("trends", filters), lambda: analytics.trends(self.facts, filters, self.search_ids(filters)))

    def summary(self, filters: ArticleFilters) -> Summary:
        return self.figure(("summary", filters),
                           lambda: analytics.summary(self.facts, filters, self.search_ids(filters)))

    # ---------------------------------------------------------------- articles
    def rows(self, ids: Sequence[int] | np.ndarray) -> list[ArticleRow]:
        return reads.rows_by_ids(self.session, list(ids))

    def articles(self, filters: ArticleFilters) -> ArticlePage:
        def listed() -> tuple[np.ndarray, int]:
            keep = analytics.mask(self.facts, filters, self.search_ids(filters))
            start = (filters.page - 1) * filters.per_page
            ids = analytics.ordered_ids(self.facts, keep, filters.sort, filters.order, stop=start + filters.per_page)
            return ids[start:], int(np.count_nonzero(keep))

        ids, total = self.figure(("articles", filters), listed)
        return ArticlePage(self.rows(ids), total, filters)

    def iter_articles(self, filters: ArticleFilters, batch: int = 500) -> Iterator[ArticleRow]:
        """Every matching article in list order (exports), read from the database a batch at a time."""
        ids = self._ordered(filters)
        for start in range(0, len(ids), batch):
            yield from self.rows(ids[start:start + batch])

    def _ordered(self, filters: ArticleFilters) -> np.ndarray:
        keep = analytics.mask(self.facts, filters, self.search_ids(filters))
        return analytics.ordered_ids(self.facts, keep, filters.sort, filters.order)

    def article(self, article_id: int, version_id: int | None = None) -> ArticleDetail:
        """One article (its current version, or the one asked for): a `NotFound` when there is none."""
        ids_exist = 1 <= article_id <= MAX_ROW_ID and (version_id is None or 1 <= version_id <= MAX_ROW_ID)
        detail = reads.article_detail(self.session, article_id, version_id) if ids_exist else None
        if detail is None:
            raise NotFound(f"There is no article {article_id}" + (f" with version {version_id}." if version_id else "."))
        cited, others = version_trials(self.session, detail.page, detail.version)
        return replace(detail, trials=cited, other_references=others)

    def queue(self, filters: ArticleFilters, limit: int = 50) -> list[tuple[ArticleRow, float]]:
        """Unlabelled articles where the model is least certain, with that uncertainty (1 = a coin toss)."""
        ids, uncertainty = self.figure(("queue", filters, limit), lambda: analytics.queue_ids(
            self.facts, filters, self.search_ids(filters), limit))
        by_id = {row.id: row for row in self.rows(ids)}
        return [(by_id[int(i)], float(u)) for i, u in zip(ids, uncertainty, strict=True) if int(i) in by_id]

    # ---------------------------------------------------------------- sources, domains, runs
    def sources(self) -> list[GroupStats]:
        by_name = self.figure(("sources",), lambda: analytics.source_group_stats(self.facts))
        return crawl_runs.source_stats(self.session, self.configured_sources, by_name)

    def source_options(self) -> list[str]:
        """Every source name a filter can choose: stored ones and configured ones."""
        return sorted(set(reads.source_names(self.session)) | {n for n, _ in self.configured_sources})

    def domains(self, filters: ArticleFilters, *, sort: str = "articles", limit: int | None = None,
                min_relevant: int = 0) -> list[GroupStats]:
        return self.figure(("domains", filters, sort, limit, min_relevant), lambda: analytics.domain_stats(
            self.facts, filters, crawl_runs.newest_seen(self.session), sort=sort, limit=limit,
            min_relevant=min_relevant, search_ids=self.search_ids(filters)))

    def domain(self, name: str, filters: ArticleFilters) -> DomainView:
        """One domain under the filters: a `NotFound` when no article of it is stored at all."""
        if name not in self.facts.domain_index:
            raise NotFound(f"No articles from {name} are stored.")
        narrowed = replace(filters, domain=name)
        stats = self.domains(replace(narrowed, relevance="all"))
        return DomainView(name, narrowed, stats[0] if stats else None)

    def trials(self) -> list[TrialRow]:
        """Every trial the current versions cite, with the pages citing it and their judgements."""
        return trial_rows(self.session)

    def runs(self, source: str | None = None, page: int = 1) -> RunsPage:
        rows, total = crawl_runs.list_runs(self.session, source=source, page=page)
        return RunsPage(rows, total, page, source, crawl_runs.crawl_health(self.session))

    def alerts(self, default_channels: Sequence[str], limit: int = 100) -> AlertsView:
        """The rules, the default channels (masked) and the newest `limit` events."""
        return AlertsView(alert_log.list_rules(self.session), [mask_channel(url) for url in default_channels],
                          alert_log.recent_events(self.session, limit), alert_log.delivery_counts(self.session))
