"""The values the dashboard shows: article rows, trends, summaries, per-group figures, crawl health,
one article's detail with the trials it cites, and what each screen shows made of them (`Overview`,
`DomainView`, `RunsPage`, the cited trials' `TrialRow`s).

`dashboard.analytics` computes the figures from the in-memory facts, `dashboard.reads` and
`dashboard.crawl_runs` read rows from the database; both return these types, and
`dashboard.serialise` (or each type's `to_dict`) turns them into JSON.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from classifier.trials import JUDGEMENTS, MISUSE
from dashboard.filters import ArticleFilters
from storage.alerts import EventRecord, RuleRecord
from storage.models import DocumentVersion, Label, Page, Prediction

ROLLING_WEEKS = 4
RISING_WEEKS = 4
SILENT_AFTER = dt.timedelta(days=14)
RUNS_PER_PAGE = 50


def mean_hype(total: float | None, count: int | None) -> float | None:
    """The mean of `count` hype scores summing to `total`, to one place.

    Stored scores have one decimal, so their sum is a multiple of 0.1; it is rounded back to one
    before dividing, so that a mean on a half (63.75) rounds the same however the sum was added up
    (in NumPy or in the database)."""
    if not count or total is None:
        return None
    return round(round(float(total), 1) / count, 1)


def rate(part: int | float, whole: int | None) -> float | None:
    """part / whole to four places, or None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


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
                series.append(rate(sum(counts[lo:i + 1]), total))
            result[name] = series
        return result

    def rising(self, weeks: int = RISING_WEEKS) -> dict[str, float] | None:
        """Mean hype of the last `weeks` weeks with data against the `weeks` before them."""
        points = [(n, h) for n, h in zip(self.articles, self.mean_hype, strict=True) if n]
        if len(points) < 2 * weeks:
            return None

        def mean(chunk: list[tuple[int, float | None]]) -> float | None:
            total = sum(n for n, _ in chunk)
            # a week with articles always has a mean hype; `or 0.0` only satisfies the type
            return sum(n * (h or 0.0) for n, h in chunk) / total if total else None

        recent, before = mean(points[-weeks:]), mean(points[-2 * weeks:-weeks])
        if recent is None or before is None:
            return None
        return {"recent": round(recent, 1), "before": round(before, 1), "change": round(recent - before, 1)}

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
        return {n: rate(c, self.relevant) for n, c in self.signal_counts.items()}

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "signal_rates": self.signal_rates()}


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


# ---------------------------------------------------------------- crawl runs
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
    trials: list[CitedTrialView] = field(default_factory=list)  # the registry trials and named trials it cites
    other_references: list[CitedTrialView] = field(default_factory=list)  # DOIs and PMIDs (no judgement)


@dataclass(frozen=True)
class CitedTrialView:
    """A trial (or other reference) as a page cites it, judged against its cached registry record."""

    kind: str
    identifier: str
    url: str | None  # where to look it up
    spans: tuple[tuple[int, int], ...]  # where the page cites it
    status: str | None  # the registry's overall status (None: no record)
    title: str | None
    judgements: tuple[str, ...]  # `classifier.trials` names
    record: dict[str, Any] | None

    @property
    def misused(self) -> bool:
        return any(j in MISUSE for j in self.judgements)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "identifier": self.identifier, "url": self.url,
                "spans": [list(s) for s in self.spans], "status": self.status, "title": self.title,
                "judgements": [{"name": j, "label": JUDGEMENTS[j]} for j in self.judgements],
                "misused": self.misused, "record": self.record}


@dataclass(frozen=True)
class TrialCitation:
    """One page citing a trial, and how its use of that trial is judged."""

    page_id: int
    url: str
    domain: str
    title: str | None
    judgements: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"page_id": self.page_id, "url": self.url, "domain": self.domain, "title": self.title,
                "judgements": [{"name": j, "label": JUDGEMENTS[j]} for j in self.judgements]}


@dataclass(frozen=True)
class TrialRow:
    """A cited trial on the Trials screen: its record and every page whose current version cites it."""

    kind: str
    identifier: str
    url: str | None
    status: str | None
    title: str | None
    record: dict[str, Any] | None
    pages: list[TrialCitation]

    @property
    def misused_by(self) -> int:
        return sum(1 for p in self.pages if any(j in MISUSE for j in p.judgements))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "identifier": self.identifier, "url": self.url, "status": self.status,
                "title": self.title, "record": self.record, "misused_by": self.misused_by,
                "pages": [p.to_dict() for p in self.pages]}


# ---------------------------------------------------------------- screens made of the values above
@dataclass(frozen=True)
class Overview:
    summary: Summary
    trends: Trends
    top_domains: list[GroupStats]
    newest_high_hype: list[ArticleRow]
    health: CrawlHealth


@dataclass(frozen=True)
class DomainView:
    """One domain: the filters narrowed to it, and its figures under them (None when they leave none)."""

    name: str
    filters: ArticleFilters
    stats: GroupStats | None


@dataclass(frozen=True)
class RunsPage:
    runs: list[dict[str, Any]]
    total: int
    page: int
    source: str | None
    health: CrawlHealth

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / RUNS_PER_PAGE))


@dataclass(frozen=True)
class AlertsView:
    """The Alerts screen: the rules, the channels a rule without its own uses (masked), the recent
    events with their delivery status, and deliveries counted by status."""

    rules: list[RuleRecord]
    default_channels: list[str]
    events: list[EventRecord]
    deliveries: dict[str, int]
