"""The dashboard's reads from the database, and the SQL definition of every figure it shows.

All of them start from `pages` and follow its denormalised `current_version_id` and
`current_prediction_id`, so listing and aggregating pages is one pass of primary-key joins, never
a "latest row per group" search. An article's date is its publication date, or the day it was
first seen when the page gives none.

The pages compute trends, domain tables, the queue and list order with `dashboard.analytics`
over in-memory facts (fast at 100,000 pages); the aggregate queries here define the same figures
in SQL, and the tests hold the two equal. Rows, article details, runs, sources and search (while
the full-text index is being built) are always read here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Date, Select, and_, case, exists, func, literal_column, or_, select
from sqlalchemy.orm import Session

from classifier.signals import COUNTER_SIGNALS, SIGNALS
from dashboard.sqlfuncs import day_of, least, week_start
from storage.models import CrawlRun, DocumentVersion, Label, Page, Prediction, Source

ARTICLE_DATE = func.coalesce(DocumentVersion.published, day_of(Page.first_seen), type_=Date)
HIGH_HYPE = 60.0
ROLLING_WEEKS = 4
SILENT_AFTER = dt.timedelta(days=14)
MAX_SEARCH_TERMS = 6
RELEVANCE_CHOICES = ("relevant", "irrelevant", "all")
LABELLED_CHOICES = ("any", "yes", "no")
SORTS = {
    "hype": Prediction.hype_score,
    "date": ARTICLE_DATE,
    "relevance": Prediction.relevance,
    "domain": Page.domain,
}


@dataclass(frozen=True)
class ArticleFilters:
    """What narrows an article list; the same fields drive the page, the API and the exports."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    domain: str | None = None
    source: str | None = None
    signal: str | None = None
    min_hype: float | None = None
    relevance: str = "relevant"
    labelled: str = "any"
    q: str | None = None
    sort: str = "hype"
    order: str = "desc"
    page: int = 1
    per_page: int = 50

    def as_params(self, **changes: Any) -> dict[str, str]:
        """The non-default fields as query parameters (for links that keep the filters)."""
        current = replace(self, **changes)
        default = ArticleFilters()
        params = {}
        for name in self.__dataclass_fields__:
            value = getattr(current, name)
            if value is not None and value != getattr(default, name) and value != "":
                params[name] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return params


# ---------------------------------------------------------------- building blocks
def _current(*columns) -> Select:
    """Pages joined to their current version and that version's newest prediction."""
    return (
        select(*columns)
        .select_from(Page)
        .join(DocumentVersion, DocumentVersion.id == Page.current_version_id)
        .join(Prediction, Prediction.id == Page.current_prediction_id)
    )


def _is_labelled():
    return exists(select(Label.id).where(Label.version_id == Page.current_version_id))


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_condition(q: str, dialect: str):
    """Every word must occur in the title, the text or the URL (case-insensitive)."""
    conditions = []
    for term in q.split()[:MAX_SEARCH_TERMS]:
        pattern = f"%{_escape_like(term)}%"
        if dialect == "sqlite":  # SQLite's LIKE already ignores ASCII case, and is faster than lower()
            match = [col.like(pattern, escape="\\") for col in (DocumentVersion.title, DocumentVersion.text, Page.url)]
        else:
            match = [col.ilike(pattern, escape="\\") for col in (DocumentVersion.title, DocumentVersion.text, Page.url)]
        conditions.append(or_(*match))
    return and_(*conditions)


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
        conditions.append(_is_labelled())
    elif filters.labelled == "no":
        conditions.append(~_is_labelled())
    if filters.q and filters.q.strip():
        conditions.append(_search_condition(filters.q, dialect))
    return stmt.where(*conditions) if conditions else stmt


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _flag_sums() -> list:
    return [func.sum(case((getattr(Prediction, f"flag_{name}").is_(True), 1), else_=0)).label(name) for name in SIGNALS]


def _rate(part: int | None, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


# ---------------------------------------------------------------- article lists
@dataclass(frozen=True)
class ArticleRow:
    id: int
    url: str
    domain: str
    title: str | None
    date: dt.date | None
    hype_score: float
    relevance: float
    relevant: bool
    flags: tuple[str, ...]
    labelled: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "url": self.url, "domain": self.domain, "title": self.title,
            "date": self.date.isoformat() if self.date else None, "hype_score": self.hype_score,
            "relevance": self.relevance, "relevant": self.relevant, "signals": list(self.flags),
            "labelled": self.labelled,
        }


@dataclass(frozen=True)
class ArticlePage:
    rows: list[ArticleRow]
    total: int
    filters: ArticleFilters

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.filters.per_page))


def _article_columns():
    return [
        Page.id, Page.url, Page.domain, DocumentVersion.title, ARTICLE_DATE.label("date"), Prediction.hype_score,
        Prediction.relevance, Prediction.relevant, *[getattr(Prediction, f"flag_{n}") for n in SIGNALS],
        _is_labelled().label("labelled"),
    ]


def _article_row(row) -> ArticleRow:
    flags = tuple(name for name in SIGNALS if getattr(row, f"flag_{name}"))
    return ArticleRow(
        id=row.id, url=row.url, domain=row.domain, title=row.title, date=row.date,
        hype_score=round(row.hype_score, 1), relevance=round(row.relevance, 3), relevant=row.relevant,
        flags=flags, labelled=bool(row.labelled),
    )


def _ordered(stmt: Select, filters: ArticleFilters) -> Select:
    column = SORTS[filters.sort]
    direction = column.desc() if filters.order == "desc" else column.asc()
    tie = Page.id.desc() if filters.order == "desc" else Page.id.asc()
    return stmt.order_by(direction, tie)


def list_articles(session: Session, filters: ArticleFilters) -> ArticlePage:
    dialect = _dialect(session)
    total = session.scalar(_filtered(_current(func.count(Page.id)), filters, dialect)) or 0
    stmt = _ordered(_filtered(_current(*_article_columns()), filters, dialect), filters)
    stmt = stmt.limit(filters.per_page).offset((filters.page - 1) * filters.per_page)
    return ArticlePage([_article_row(r) for r in session.execute(stmt)], total, filters)


def rows_by_ids(session: Session, ids: Sequence[int]) -> list[ArticleRow]:
    """The list rows of these pages, in the order given."""
    found: dict[int, ArticleRow] = {}
    ids = [int(i) for i in ids]
    for start in range(0, len(ids), 900):
        stmt = _current(*_article_columns()).where(Page.id.in_(ids[start:start + 900]))
        found.update((row.id, _article_row(row)) for row in session.execute(stmt))
    return [found[i] for i in ids if i in found]


def search_page_ids(session: Session, q: str) -> list[int]:
    """Pages whose current version's title or text, or whose URL, contains every word of `q`."""
    stmt = _current(Page.id).where(_search_condition(q, _dialect(session)))
    return list(session.scalars(stmt))


def newest_high_hype(session: Session, filters: ArticleFilters, limit: int = 6) -> list[ArticleRow]:
    narrowed = replace(filters, relevance="relevant", min_hype=max(filters.min_hype or 0, HIGH_HYPE))
    stmt = _filtered(_current(*_article_columns()), narrowed, _dialect(session))
    stmt = stmt.order_by(ARTICLE_DATE.desc(), Page.id.desc()).limit(limit)
    return [_article_row(r) for r in session.execute(stmt)]


def review_queue(session: Session, filters: ArticleFilters, limit: int = 50) -> list[tuple[ArticleRow, float]]:
    """Unlabelled articles where the model is least certain, with that uncertainty (1 = a coin toss).

    Certainty is a probability's distance from 0.5: for relevance, and for relevant pages also for
    each signal. The page's least certain judgement ranks it, so one label there teaches the most.
    """
    margin_relevance = func.abs(Prediction.relevance - 0.5)
    margins = [func.abs(getattr(Prediction, f"p_{n}") - 0.5) for n in SIGNALS]
    margin = case((Prediction.relevant.is_(True), least(margin_relevance, *margins)), else_=margin_relevance)
    narrowed = replace(filters, labelled="no", relevance="all" if filters.relevance == "relevant" else filters.relevance)
    stmt = _filtered(_current(*_article_columns(), margin.label("margin")), narrowed, _dialect(session))
    stmt = stmt.order_by(margin.asc(), Page.id.desc()).limit(limit)
    return [(_article_row(r), round(1 - 2 * float(r.margin), 3)) for r in session.execute(stmt)]


# ---------------------------------------------------------------- trends
@dataclass(frozen=True)
class Trends:
    weeks: list[dt.date]
    articles: list[int]
    mean_hype: list[float | None]
    signal_share: dict[str, list[float | None]]
    high_hype: list[int]
    signal_counts: dict[str, list[int]] = field(default_factory=dict)

    def rolling_share(self, weeks: int = ROLLING_WEEKS) -> dict[str, list[float | None]]:
        """Share flagged over the trailing `weeks` weeks: weekly shares of a handful of articles jump
        between 0 and 100%, the trailing share shows the direction."""
        result = {}
        for name, counts in self.signal_counts.items():
            series = []
            for i in range(len(self.weeks)):
                lo = max(0, i - weeks + 1)
                total = sum(self.articles[lo:i + 1])
                series.append(_rate(sum(counts[lo:i + 1]), total))
            result[name] = series
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "weeks": [w.isoformat() for w in self.weeks],
            "articles": self.articles,
            "mean_hype": self.mean_hype,
            "high_hype": self.high_hype,
            "signal_share": self.signal_share,
            "signal_counts": self.signal_counts,
            "rolling_weeks": ROLLING_WEEKS,
            "signal_share_rolling": self.rolling_share(),
        }


def weekly_trends(session: Session, filters: ArticleFilters) -> Trends:
    """Per ISO week: relevant articles, their mean hype score and the share flagged per signal."""
    week = week_start(ARTICLE_DATE).label("week")
    stmt = _current(
        week, func.count(Page.id).label("articles"), func.avg(Prediction.hype_score).label("mean_hype"),
        func.sum(case((Prediction.hype_score >= HIGH_HYPE, 1), else_=0)).label("high"), *_flag_sums(),
    )
    stmt = _filtered(stmt, replace(filters, relevance="relevant"), _dialect(session)).group_by(week).order_by(week)
    rows = {_as_date(r.week): r for r in session.execute(stmt) if r.week is not None}
    weeks = _continuous_weeks(sorted(rows), filters)
    empty = None
    series = [rows.get(w, empty) for w in weeks]
    return Trends(
        weeks=weeks,
        articles=[r.articles if r else 0 for r in series],
        mean_hype=[_round(r.mean_hype) if r else None for r in series],
        signal_share={n: [_rate(getattr(r, n), r.articles) if r else None for r in series] for n in SIGNALS},
        high_hype=[int(r.high or 0) if r else 0 for r in series],
        signal_counts={n: [int(getattr(r, n) or 0) if r else 0 for r in series] for n in SIGNALS},
    )


def _as_date(value) -> dt.date:
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


@dataclass(frozen=True)
class Summary:
    articles: int
    relevant: int
    mean_hype: float | None
    high_hype: int
    labelled: int
    domains: int
    signal_counts: dict[str, int] = field(default_factory=dict)

    def signal_rates(self) -> dict[str, float | None]:
        return {n: _rate(c, self.relevant) for n, c in self.signal_counts.items()}

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "signal_rates": self.signal_rates()}


def summary(session: Session, filters: ArticleFilters) -> Summary:
    everything = replace(filters, relevance="all")
    stmt = _current(
        func.count(Page.id),
        func.sum(case((Prediction.relevant.is_(True), 1), else_=0)),
        func.avg(case((Prediction.relevant.is_(True), Prediction.hype_score))),
        func.sum(case((and_(Prediction.relevant.is_(True), Prediction.hype_score >= HIGH_HYPE), 1), else_=0)),
        func.count(func.distinct(Page.domain)),
        *_flag_sums(),
    )
    total, relevant, mean_hype, high, domains, *flags = session.execute(
        _filtered(stmt, everything, _dialect(session))).one()
    labelled = session.scalar(_filtered(_current(func.count(Page.id)), replace(everything, labelled="yes"),
                                        _dialect(session)))
    return Summary(total or 0, int(relevant or 0), _round(mean_hype), int(high or 0), labelled or 0, domains or 0,
                   {n: int(c or 0) for n, c in zip(SIGNALS, flags, strict=True)})


# ---------------------------------------------------------------- domains and sources
@dataclass(frozen=True)
class GroupStats:
    name: str
    articles: int
    relevant: int
    mean_hype: float | None
    signal_rates: dict[str, float | None]
    last_seen: dt.datetime | None
    silent: bool = False
    kind: str | None = None
    last_run: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "articles": self.articles, "relevant": self.relevant,
            "mean_hype": self.mean_hype, "signal_rates": self.signal_rates,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None, "silent": self.silent,
            "last_run": self.last_run,
        }


def _group_columns(key):
    return [
        key.label("name"),
        func.count(Page.id).label("articles"),
        func.sum(case((Prediction.relevant.is_(True), 1), else_=0)).label("relevant"),
        func.avg(case((Prediction.relevant.is_(True), Prediction.hype_score))).label("mean_hype"),
        func.max(Page.last_seen).label("last_seen"),
        *_flag_sums(),
    ]


def _group_stats(row, **extra) -> GroupStats:
    last_seen = row.last_seen
    if isinstance(last_seen, str):  # aggregates lose the column type on SQLite
        last_seen = dt.datetime.fromisoformat(last_seen)
    if last_seen is not None:
        last_seen = last_seen.replace(tzinfo=last_seen.tzinfo or dt.UTC, microsecond=0)
    relevant = int(row.relevant or 0)
    return GroupStats(
        name=row.name, articles=row.articles, relevant=relevant, mean_hype=_round(row.mean_hype),
        signal_rates={n: _rate(getattr(row, n) or 0, relevant) for n in SIGNALS}, last_seen=last_seen, **extra,
    )


DOMAIN_SORTS = ("articles", "mean_hype", "relevant", "name", "last_seen")


def domain_stats(session: Session, filters: ArticleFilters, *, sort: str = "articles", limit: int | None = None,
                 min_relevant: int = 0) -> list[GroupStats]:
    """Per domain: articles, relevant articles, mean hype and signal rates (of relevant ones)."""
    stmt = _filtered(_current(*_group_columns(Page.domain)), replace(filters, relevance="all"), _dialect(session))
    stmt = stmt.group_by(Page.domain)
    if min_relevant:
        stmt = stmt.having(func.sum(case((Prediction.relevant.is_(True), 1), else_=0)) >= min_relevant)
    order = Page.domain.asc() if sort == "name" else select_desc(sort)
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


def select_desc(label: str):
    """Descending by an output column (an aggregate's label); rows without a value last."""
    return literal_column(label).desc().nulls_last()


def newest_seen(session: Session) -> dt.datetime | None:
    """When the newest crawl last saw any page (the reference for calling a domain silent)."""
    value = session.scalar(select(func.max(CrawlRun.finished_at)))
    if value is None:
        value = session.scalar(select(Page.last_seen).order_by(Page.id.desc()).limit(1))
    return value


def source_stats(session: Session, configured: Sequence[tuple[str, str]] = (),
                 by_name: dict[str, GroupStats] | None = None) -> list[GroupStats]:
    """Per configured source: its pages' figures (`by_name`, else counted here) and its latest crawl run."""
    if by_name is None:
        stmt = (
            _current(*_group_columns(Source.name))
            .join(Source, Source.id == Page.source_id)
            .group_by(Source.name)
        )
        by_name = {row.name: _group_stats(row) for row in session.execute(stmt)}
    known = {s.name: s.kind for s in session.scalars(select(Source))}
    for name, kind in configured:
        known.setdefault(name, kind)
    runs = latest_runs(session)
    for name in runs:
        known.setdefault(name, None)
    result = []
    for name in sorted(known):
        item = by_name.get(name) or GroupStats(name, 0, 0, None, {n: None for n in SIGNALS}, None, kind=known[name])
        run = runs.get(name)
        result.append(replace(item, kind=item.kind or known[name], last_run=run,
                              silent=bool(run and (run["silent"] or run["status"] in ("failed", "timeout")))))
    return result


def latest_runs(session: Session) -> dict[str, dict[str, Any]]:
    newest = select(func.max(CrawlRun.id)).group_by(CrawlRun.source_name)
    runs = session.scalars(select(CrawlRun).where(CrawlRun.id.in_(newest)))
    return {run.source_name: run_dict(run) for run in runs}


# ---------------------------------------------------------------- crawl runs
def run_dict(run: CrawlRun) -> dict[str, Any]:
    duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    return {
        "id": run.id, "source": run.source_name, "status": run.status,
        "started_at": run.started_at.isoformat(), "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_seconds": round(duration, 1) if duration is not None else None,
        "pages_fetched": run.pages_fetched, "pages_new": run.pages_new, "pages_changed": run.pages_changed,
        "pages_unchanged": run.pages_unchanged, "pages_kept": run.pages_kept,
        "dropped": run.dropped or {}, "errors": run.errors or {},
        "error_count": sum(int(v) for v in (run.errors or {}).values() if isinstance(v, int | float)),
        "silent": run.silent, "message": run.message,
    }


def list_runs(session: Session, *, source: str | None = None, page: int = 1, per_page: int = 50) -> tuple[list[dict], int]:
    stmt = select(CrawlRun)
    count = select(func.count(CrawlRun.id))
    if source:
        stmt, count = stmt.where(CrawlRun.source_name == source), count.where(CrawlRun.source_name == source)
    stmt = stmt.order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(per_page).offset((page - 1) * per_page)
    return [run_dict(r) for r in session.scalars(stmt)], session.scalar(count) or 0


@dataclass(frozen=True)
class CrawlHealth:
    sources: int
    ok: int
    failing: list[str]
    silent: list[str]
    running: int
    last_finished: str | None
    runs_last_week: int

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def crawl_health(session: Session) -> CrawlHealth:
    runs = latest_runs(session)
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


# ---------------------------------------------------------------- one article
@dataclass
class ArticleDetail:
    page: Page
    version: DocumentVersion
    prediction: Prediction | None
    versions: list[dict[str, Any]]
    labels: list[Label]
    source_name: str | None
    is_current: bool
    previous_version: DocumentVersion | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def article_detail(session: Session, page_id: int, version_id: int | None = None) -> ArticleDetail | None:
    page = session.get(Page, page_id)
    if page is None or page.current_version_id is None:
        return None
    chosen = version_id or page.current_version_id
    version = session.get(DocumentVersion, chosen)
    if version is None or version.page_id != page.id:
        return None
    prediction = session.scalars(
        select(Prediction).where(Prediction.version_id == version.id).order_by(Prediction.id.desc()).limit(1)
    ).first()
    rows = session.execute(
        select(DocumentVersion.id, DocumentVersion.fetched_at, DocumentVersion.title, func.length(DocumentVersion.text))
        .where(DocumentVersion.page_id == page.id).order_by(DocumentVersion.id)
    ).all()
    hype_by_version = dict(session.execute(
        select(Prediction.version_id, Prediction.hype_score)
        .where(Prediction.version_id.in_([r[0] for r in rows])).order_by(Prediction.id)
    ).all())
    versions = [
        {"id": vid, "fetched_at": fetched.isoformat(), "title": title, "chars": chars,
         "hype_score": _round(hype_by_version.get(vid)), "current": vid == page.current_version_id}
        for vid, fetched, title, chars in rows
    ]
    earlier = [r[0] for r in rows if r[0] < version.id]
    previous = session.get(DocumentVersion, earlier[-1]) if earlier else None
    labels = list(session.scalars(
        select(Label).join(DocumentVersion, DocumentVersion.id == Label.version_id)
        .where(DocumentVersion.page_id == page.id).order_by(Label.created_at.desc(), Label.id.desc())
    ))
    source_name = session.scalar(select(Source.name).where(Source.id == page.source_id)) if page.source_id else None
    return ArticleDetail(page, version, prediction, versions, labels, source_name,
                         version.id == page.current_version_id, previous)


def label_dict(label: Label) -> dict[str, Any]:
    return {
        "id": label.id, "version_id": label.version_id, "author": label.author,
        "created_at": label.created_at.isoformat(), "relevant": label.relevant,
        "signals": {n: getattr(label, n) for n in SIGNALS}, "hype": label.hype, "note": label.note,
    }


def prediction_dict(prediction: Prediction | None) -> dict[str, Any] | None:
    if prediction is None:
        return None
    details = prediction.details or {}
    signals = details.get("signals", {})
    counters = details.get("counter_signals", {})
    return {
        "id": prediction.id, "model_version": prediction.model_version,
        "created_at": prediction.created_at.isoformat(), "relevance": prediction.relevance,
        "relevant": prediction.relevant, "hype_score": prediction.hype_score,
        "signals": {
            n: {"probability": getattr(prediction, f"p_{n}"), "flagged": getattr(prediction, f"flag_{n}"),
                "evidence": signals.get(n, {}).get("evidence", [])}
            for n in SIGNALS
        },
        "counter_signals": {
            n: {"present": bool(counters.get(n, {}).get("present")), "evidence": counters.get(n, {}).get("evidence", [])}
            for n in COUNTER_SIGNALS
        },
    }


def domain_exists(session: Session, domain: str) -> bool:
    return session.scalar(select(Page.id).where(Page.domain == domain).limit(1)) is not None


def source_names(session: Session) -> list[str]:
    return list(session.scalars(select(Source.name).order_by(Source.name)))

