"""The dashboard's figures defined in SQL: the oracles `dashboard.analytics` is held to.

The dashboard counts trends, summaries, domain tables, the list order and the review queue over
in-memory arrays (`dashboard.analytics`); these queries compute the same figures straight from
the database, and tests/test_dashboard_analytics.py holds the two equal, filter by filter. Only
the tests use them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Select, and_, case, func, literal_column, select
from sqlalchemy.orm import Session

from classifier.signals import HIGH_HYPE, SIGNALS
from dashboard.crawl_runs import newest_seen
from dashboard.figures import SILENT_AFTER, ArticlePage, ArticleRow, GroupStats, Summary, Trends, mean_hype, rate
from dashboard.filters import ArticleFilters
from dashboard.reads import (
    ARTICLE_DATE,
    article_columns,
    article_row,
    current,
    dialect_of,
    is_labelled,
    search_condition,
)
from dashboard.sqlfuncs import least, week_start
from storage.models import Page, Prediction, Source

SORTS = {
    "hype": Prediction.hype_score,
    "date": ARTICLE_DATE,
    "relevance": Prediction.relevance,
    "domain": Page.domain,
}


# ---------------------------------------------------------------- building blocks
def _filtered(stmt: Select, filters: ArticleFilters, dialect: str) -> Select:
    conditions = []
    if filters.date_from:
        conditions.append(ARTICLE_DATE >= filters.date_from)
    if filters.date_to:
        conditions.append(ARTICLE_DATE <= filters.date_to)
    if filters.domain:
        conditions.append(Page.domain == filters.domain)
    if filters.source:
        conditions.append(Page.source_id == select(Source.id).where(Source.name == filters.source).scalar_subquery())
    if filters.signal:
        conditions.append(getattr(Prediction, f"flag_{filters.signal}").is_(True))
    if filters.min_hype is not None:
        conditions.append(Prediction.hype_score >= filters.min_hype)
    if filters.relevance == "relevant":
        conditions.append(Prediction.relevant.is_(True))
    elif filters.relevance == "irrelevant":
        conditions.append(Prediction.relevant.is_(False))
    if filters.labelled == "yes":
        conditions.append(is_labelled())
    elif filters.labelled == "no":
        conditions.append(~is_labelled())
    if filters.q and filters.q.strip():
        conditions.append(search_condition(filters.q, dialect))
    return stmt.where(*conditions) if conditions else stmt


def _flag_sums() -> list[Any]:
    return [func.sum(case((getattr(Prediction, f"flag_{name}").is_(True), 1), else_=0)).label(name) for name in SIGNALS]


# ---------------------------------------------------------------- article lists
def _ordered(stmt: Select, filters: ArticleFilters) -> Select:
    column = SORTS[filters.sort]
    direction = column.desc() if filters.order == "desc" else column.asc()
    tie = Page.id.desc() if filters.order == "desc" else Page.id.asc()
    return stmt.order_by(direction, tie)


def list_articles(session: Session, filters: ArticleFilters) -> ArticlePage:
    dialect = dialect_of(session)
    total = session.scalar(_filtered(current(func.count(Page.id)), filters, dialect)) or 0
    stmt = _ordered(_filtered(current(*article_columns()), filters, dialect), filters)
    stmt = stmt.limit(filters.per_page).offset((filters.page - 1) * filters.per_page)
    return ArticlePage([article_row(r) for r in session.execute(stmt)], total, filters)


def review_queue(session: Session, filters: ArticleFilters, limit: int = 50) -> list[tuple[ArticleRow, float]]:
    """Unlabelled articles where the model is least certain, with that uncertainty (1 = a coin toss).

    Certainty is a probability's distance from 0.5: for relevance, and for relevant pages also for
    each signal. The page's least certain judgement ranks it, so one label there teaches the most.
    """
    margin_relevance = func.abs(Prediction.relevance - 0.5)
    margins = [func.abs(getattr(Prediction, f"p_{n}") - 0.5) for n in SIGNALS]
    margin = case((Prediction.relevant.is_(True), least(margin_relevance, *margins)), else_=margin_relevance)
    narrowed = replace(filters, labelled="no", relevance="all" if filters.relevance == "relevant" else filters.relevance)
    stmt = _filtered(current(*article_columns(), margin.label("margin")), narrowed, dialect_of(session))
    stmt = stmt.order_by(margin.asc(), Page.id.desc()).limit(limit)
    return [(article_row(r), round(1 - 2 * float(r.margin), 3)) for r in session.execute(stmt)]


# ---------------------------------------------------------------- trends
def weekly_trends(session: Session, filters: ArticleFilters) -> Trends:
    """Per ISO week: relevant articles, their mean hype score and the share flagged per signal."""
    week = week_start(ARTICLE_DATE).label("week")
    stmt = current(
        week, func.count(Page.id).label("articles"), func.sum(Prediction.hype_score).label("hype_sum"),
        func.sum(case((Prediction.hype_score >= HIGH_HYPE, 1), else_=0)).label("high"), *_flag_sums(),
    )
    stmt = _filtered(stmt, replace(filters, relevance="relevant"), dialect_of(session)).group_by(week).order_by(week)
    rows = {_as_date(r.week): r for r in session.execute(stmt) if r.week is not None}
    weeks = _continuous_weeks(sorted(rows), filters)
    series = [rows.get(w) for w in weeks]
    return Trends(
        weeks=weeks,
        articles=[r.articles if r else 0 for r in series],
        mean_hype=[mean_hype(r.hype_sum, r.articles) if r else None for r in series],
        signal_share={n: [rate(getattr(r, n), r.articles) if r else None for r in series] for n in SIGNALS},
        high_hype=[int(r.high or 0) if r else 0 for r in series],
        signal_counts={n: [int(getattr(r, n) or 0) if r else 0 for r in series] for n in SIGNALS},
    )


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _continuous_weeks(found: Sequence[dt.date], filters: ArticleFilters) -> list[dt.date]:
    """Every week from the first to the last (so gaps show as gaps), within the date filter."""
    if not found:
        return []
    first, last = found[0], found[-1]
    if filters.date_from:
        first = max(first, filters.date_from - dt.timedelta(days=filters.date_from.weekday()))
    weeks, week = [], first
    while week <= last:
        weeks.append(week)
        week += dt.timedelta(days=7)
    return weeks


def summary(session: Session, filters: ArticleFilters) -> Summary:
    everything = replace(filters, relevance="all")
    stmt = current(
        func.count(Page.id),
        func.sum(case((Prediction.relevant.is_(True), 1), else_=0)),
        func.sum(case((Prediction.relevant.is_(True), Prediction.hype_score))),
        func.sum(case((and_(Prediction.relevant.is_(True), Prediction.hype_score >= HIGH_HYPE), 1), else_=0)),
        func.count(func.distinct(Page.domain)),
        *_flag_sums(),
    )
    total, relevant, hype_sum, high, domains, *flags = session.execute(
        _filtered(stmt, everything, dialect_of(session))).one()
    labelled = session.scalar(_filtered(current(func.count(Page.id)), replace(everything, labelled="yes"),
                                        dialect_of(session)))
    n_relevant = int(relevant or 0)
    return Summary(total or 0, n_relevant, mean_hype(hype_sum, n_relevant), int(high or 0), labelled or 0, domains or 0,
                   {n: int(c or 0) for n, c in zip(SIGNALS, flags, strict=True)})


# ---------------------------------------------------------------- domains
def _group_columns(key: Any) -> list[Any]:
    return [
        key.label("name"),
        func.count(Page.id).label("articles"),
        func.sum(case((Prediction.relevant.is_(True), 1), else_=0)).label("relevant"),
        func.avg(case((Prediction.relevant.is_(True), Prediction.hype_score))).label("mean_hype"),  # for sorting
        func.sum(case((Prediction.relevant.is_(True), Prediction.hype_score))).label("hype_sum"),
        func.max(Page.last_seen).label("last_seen"),
        *_flag_sums(),
    ]


def _group_stats(row: Any) -> GroupStats:
    last_seen = row.last_seen
    if isinstance(last_seen, str):  # aggregates lose the column type on SQLite
        last_seen = dt.datetime.fromisoformat(last_seen)
    if last_seen is not None:
        last_seen = last_seen.replace(tzinfo=last_seen.tzinfo or dt.UTC, microsecond=0)
    relevant = int(row.relevant or 0)
    return GroupStats(
        name=row.name, articles=row.articles, relevant=relevant, mean_hype=mean_hype(row.hype_sum, relevant),
        signal_rates={n: rate(getattr(row, n) or 0, relevant) for n in SIGNALS}, last_seen=last_seen,
    )


def _select_desc(label: str) -> Any:
    """Descending by an output column (an aggregate's label); rows without a value last."""
    return literal_column(label).desc().nulls_last()


def domain_stats(session: Session, filters: ArticleFilters, *, sort: str = "articles", limit: int | None = None,
                 min_relevant: int = 0) -> list[GroupStats]:
    """Per domain: articles, relevant articles, mean hype and signal rates (of relevant ones)."""
    stmt = _filtered(current(*_group_columns(Page.domain)), replace(filters, relevance="all"), dialect_of(session))
    stmt = stmt.group_by(Page.domain)
    if min_relevant:
        stmt = stmt.having(func.sum(case((Prediction.relevant.is_(True), 1), else_=0)) >= min_relevant)
    order = Page.domain.asc() if sort == "name" else _select_desc(sort)
    stmt = stmt.order_by(order, Page.domain)
    if limit:
        stmt = stmt.limit(limit)
    newest = newest_seen(session)
    stats = []
    for row in session.execute(stmt):
        item = _group_stats(row)
        silent = bool(newest and item.last_seen and newest - item.last_seen > SILENT_AFTER)
        stats.append(replace(item, silent=silent))
    return stats
