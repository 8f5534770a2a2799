"""What each page and API call reads: figures from the in-memory `Facts`, rows from the database.

Filtering, counting and ranking run over the arrays; only the rows shown are read from the
database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from dashboard import analytics, crawl_runs, reads
from dashboard.figures import ArticlePage, ArticleRow, GroupStats, Summary, Trends
from dashboard.filters import ArticleFilters


class Reader:
    """One request's view: a session plus the dashboard's current facts."""

    def __init__(self, board, session: Session):
        self.board = board
        self.session = session
        self.facts = board.facts(session)

    def search_ids(self, filters: ArticleFilters) -> np.ndarray | None:
        """Pages whose current version matches the search words: from the full-text index once it
        has caught up with the database, else (while it is being built) from LIKE in the database."""
        if not filters.q:
            return None
        index = self.board.search_index
        newest = self.facts.stamp.versions
        if index.caught_up(newest) or (index.indexed_to and index.try_sync(self.session, newest, max_batches=5)):
            versions = self.board.cache.get(("search", filters.q), self.facts.stamp, lambda: index.version_ids(filters.q))
            return self.facts.page_id[np.isin(self.facts.version_id, versions)]
        return self.board.cache.get(("search-like", filters.q), self.facts.stamp,
                                    lambda: np.array(reads.search_page_ids(self.session, filters.q), dtype=np.int64))

    # ---------------------------------------------------------------- aggregates
    def trends(self, filters: ArticleFilters) -> Trends:
        return analytics.trends(self.facts, filters, self.search_ids(filters))

    def summary(self, filters: ArticleFilters) -> Summary:
        return analytics.summary(self.facts, filters, self.search_ids(filters))

    def domains(self, filters: ArticleFilters, *, sort: str = "articles", limit: int | None = None,
                min_relevant: int = 0) -> list[GroupStats]:
        return analytics.domain_stats(self.facts, filters, crawl_runs.newest_seen(self.session), sort=sort, limit=limit,
                                      min_relevant=min_relevant, search_ids=self.search_ids(filters))

    def sources(self) -> list[GroupStats]:
        return crawl_runs.source_stats(self.session, self.board.config.configured_sources,
                                    analytics.source_group_stats(self.facts))

    def overview(self, filters: ArticleFilters) -> dict[str, Any]:
        return {
            "summary": self.summary(filters),
            "trends": self.trends(filters),
            "top_domains": self.domains(filters, sort="mean_hype", limit=8, min_relevant=2),
            "newest_high_hype": self.rows(analytics.newest_high_hype_ids(self.facts, filters, self.search_ids(filters))),
            "health": crawl_runs.crawl_health(self.session),
        }

    # ---------------------------------------------------------------- rows
    def rows(self, ids) -> list[ArticleRow]:
        return reads.rows_by_ids(self.session, list(ids))

    def articles(self, filters: ArticleFilters) -> ArticlePage:
        ids = self._ordered(filters)
        start = (filters.page - 1) * filters.per_page
        return ArticlePage(self.rows(ids[start:start + filters.per_page]), int(len(ids)), filters)

    def _ordered(self, filters: ArticleFilters) -> np.ndarray:
        keep = analytics.mask(self.facts, filters, self.search_ids(filters))
        return analytics.ordered_ids(self.facts, keep, filters.sort, filters.order)

    def iter_articles(self, filters: ArticleFilters, batch: int = 500) -> Iterator[ArticleRow]:
        """Every matching article in list order (exports), read from the database a batch at a time."""
        ids = self._ordered(filters)
        for start in range(0, len(ids), batch):
            yield from self.rows(ids[start:start + batch])

    def queue(self, filters: ArticleFilters, limit: int = 50) -> list[tuple[ArticleRow, float]]:
        ids, uncertainty = analytics.queue_ids(self.facts, filters, self.search_ids(filters), limit)
        by_id = {row.id: row for row in self.rows(ids)}
        return [(by_id[int(i)], float(u)) for i, u in zip(ids, uncertainty, strict=True) if int(i) in by_id]

    def domain_exists(self, domain: str) -> bool:
        return domain in self.facts.domain_index
