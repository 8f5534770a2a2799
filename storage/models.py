"""The database schema: typed SQLAlchemy 2.0 models.

Human labels (`Label`) and model output (`Prediction`) live in separate tables; every prediction
names the model version that made it. Raw HTML is kept gzip-compressed on each document version
so stored pages can be re-extracted and re-scored later.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

SIGNAL_NAMES = ("cure_claim", "clinic_promotion", "missing_trial_reference", "testimonial", "risk_minimisation")

# Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Integer primary keys are 32-bit on PostgreSQL: a larger number names no row, and asking for it
# would be an error there rather than "not found".
MAX_ROW_ID = 2**31 - 1


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Source(Base):
    """A configured crawl source (mirrors an entry of the sources file)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    pages: Mapped[list[Page]] = relationship(back_populates="source")


class Page(Base):
    """One canonical URL; its content over time is in `DocumentVersion`."""

    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    domain: Mapped[str] = mapped_column(String(255), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"), index=True)
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)  # index: "seen since" reads
    # The version the page shows now and that version's newest prediction: kept here so listing
    # and aggregating 100,000 pages never has to find "the latest row per group".
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_versions.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    current_prediction_id: Mapped[int | None] = mapped_column(
        ForeignKey("predictions.id", use_alter=True, ondelete="SET NULL"), index=True
    )

    source: Mapped[Source | None] = relationship(back_populates="pages")
    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="page",
        order_by="DocumentVersion.id",
        cascade="all, delete-orphan",
        foreign_keys="DocumentVersion.page_id",
    )
    current_version: Mapped[DocumentVersion | None] = relationship(foreign_keys=[current_version_id], post_update=True)
    current_prediction: Mapped[Prediction | None] = relationship(
        foreign_keys=[current_prediction_id], post_update=True
    )


class DocumentVersion(Base):
    """The extracted content of a page at one time; a new row only when the text changed."""

    __tablename__ = "document_versions"
    __table_args__ = (
        UniqueConstraint("page_id", "fingerprint"),
        # Covering index for reading every page's date in bulk (the dashboard): on SQLite the
        # columns after `text` sit in its overflow pages, which this lets a scan skip.
        Index("ix_document_versions_id_published", "id", "published"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(String(1000))
    author: Mapped[str | None] = mapped_column(String(500))
    published: Mapped[dt.date | None] = mapped_column(Date, index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    site_name: Mapped[str | None] = mapped_column(String(500))
    fetched_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    raw_html_gz: Mapped[bytes | None] = mapped_column(LargeBinary)

    page: Mapped[Page] = relationship(back_populates="versions", foreign_keys=[page_id])
    predictions: Mapped[list[Prediction]] = relationship(back_populates="version", cascade="all, delete-orphan")
    labels: Mapped[list[Label]] = relationship(back_populates="version", cascade="all, delete-orphan")


class ModelVersion(Base):
    """A trained model in the registry; predictions point to it."""

    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    file_sha256: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    training_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    documents: Mapped[int] = mapped_column(Integer, default=0)


class Prediction(Base):
    """One model version's scores for one document version.

    Per-signal probabilities and flags are columns (not only JSON) so the dashboard can aggregate
    them in SQL; the evidence sentences are JSON.
    """

    __tablename__ = "predictions"
    __table_args__ = (
        UniqueConstraint("version_id", "model_version"),
        # Covering index of the scores the dashboard aggregates, so reading them for every page
        # never touches the wide `details` rows.
        Index("ix_predictions_scores", "id", "relevant", "hype_score", "relevance",
              *(f"flag_{name}" for name in SIGNAL_NAMES), *(f"p_{name}" for name in SIGNAL_NAMES)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id", ondelete="CASCADE"), index=True)
    model_version: Mapped[str] = mapped_column(ForeignKey("model_versions.version"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    relevance: Mapped[float] = mapped_column(Float)
    relevant: Mapped[bool] = mapped_column(Boolean, index=True)
    hype_score: Mapped[float] = mapped_column(Float, index=True)
    p_cure_claim: Mapped[float] = mapped_column(Float, default=0.0)
    p_clinic_promotion: Mapped[float] = mapped_column(Float, default=0.0)
    p_missing_trial_reference: Mapped[float] = mapped_column(Float, default=0.0)
    p_testimonial: Mapped[float] = mapped_column(Float, default=0.0)
    p_risk_minimisation: Mapped[float] = mapped_column(Float, default=0.0)
    flag_cure_claim: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_clinic_promotion: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_missing_trial_reference: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_testimonial: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_risk_minimisation: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"signals": {name: {probability, flagged, evidence}}, "counter_signals": {name: {present, evidence}}}
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    version: Mapped[DocumentVersion] = relationship(back_populates="predictions", foreign_keys=[version_id])


class Label(Base):
    """An analyst's judgement of one document version; never overwritten by the model."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    relevant: Mapped[bool | None] = mapped_column(Boolean)
    cure_claim: Mapped[bool | None] = mapped_column(Boolean)
    clinic_promotion: Mapped[bool | None] = mapped_column(Boolean)
    missing_trial_reference: Mapped[bool | None] = mapped_column(Boolean)
    testimonial: Mapped[bool | None] = mapped_column(Boolean)
    risk_minimisation: Mapped[bool | None] = mapped_column(Boolean)
    hype: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    # The sentences the analyst marked as showing each signal: signal -> [[start, end], ...] offsets
    # into the version's text. They teach the sentence models (None: none marked).
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    version: Mapped[DocumentVersion] = relationship(back_populates="labels")


class CrawlRun(Base):
    """One crawl of one source: when, how it ended, and what it found.

    While it runs, its owner (the process that opened it and records how it ends) refreshes
    `heartbeat_at`; a `running` run whose owner is gone is ended by whoever comes next (`storage.runs`).
    """

    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_source_started", "source_name", "started_at"),
                      Index("ix_crawl_runs_status", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    source_name: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | ok | failed | timeout | cancelled
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    pages_new: Mapped[int] = mapped_column(Integer, default=0)
    pages_changed: Mapped[int] = mapped_column(Integer, default=0)
    pages_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    # Stored although the relevance gate said off-topic, because they name MS and a cell treatment.
    pages_kept: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    dropped: Mapped[dict[str, Any]] = mapped_column(default=dict)  # reason -> count
    errors: Mapped[dict[str, Any]] = mapped_column(default=dict)  # kind -> count
    silent: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str | None] = mapped_column(Text)
    owner_host: Mapped[str | None] = mapped_column(String(255))  # None: opened before owners were recorded
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SchedulerLock(Base):
    """Who runs the scheduler: one row per lock name, kept fresh by the holder's heartbeat.

    A second scheduler finds a fresh row and refuses to start; a row whose heartbeat is older
    than the lock's time-to-live belongs to a scheduler that died, and may be taken over.
    """

    __tablename__ = "scheduler_lock"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SchedulerJob(Base):
    """APScheduler 3's job store table (`SQLAlchemyJobStore`), declared here so migrations own it.

    The layout is APScheduler's own and only APScheduler writes it; `schedule --list` reads next run times.
    """

    __tablename__ = "apscheduler_jobs"

    id: Mapped[str] = mapped_column(String(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)


class AlertRule(Base):
    """What an analyst wants to be told about (`storage.alerts` defines the kinds and their parameters).

    `last_version_id` and `last_run_id` are how far the rule has been evaluated: a new rule starts at
    the newest stored version and run, so it fires on what happens from then on, never on history.
    """

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # new_page | changed_page | crawl_health | trend
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channels: Mapped[list[Any]] = mapped_column(default=list)  # Apprise URLs; empty: HYPEWATCH_ALERT_CHANNELS
    digest: Mapped[str] = mapped_column(String(10), default="burst")  # burst | daily
    max_per_hour: Mapped[int] = mapped_column(Integer, default=4)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_version_id: Mapped[int] = mapped_column(Integer, default=0)
    last_run_id: Mapped[int] = mapped_column(Integer, default=0)


class AlertEvent(Base):
    """One thing a rule fired on, recorded once: the same `event_key` is never stored twice."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_rule_created", "rule_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(String(1000))  # what fired, in one line
    page_id: Mapped[int | None] = mapped_column(Integer)
    version_id: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # `storage.alerts.EventDetails` as JSON
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AlertDelivery(Base):
    """One event to one channel: pending -> sending (claimed) -> sent, or back to pending with a
    later `next_attempt_at`, or failed after the last attempt.

    The channel is named by a key (a hash of its URL), never by the URL, so the log holds no secret.
    Events sent together share a `message_key`; a claim records its process, so a claim left by a
    process that died is sent again under the same key.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "channel_key"),
                      Index("ix_alert_deliveries_status_due", "status", "next_attempt_at"),
                      Index("ix_alert_deliveries_rule_sent", "rule_id", "sent_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    channel_key: Mapped[str] = mapped_column(String(64))
    channel_shown: Mapped[str] = mapped_column(String(500))  # the URL with its secrets masked
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    message_key: Mapped[str | None] = mapped_column(String(64), index=True)
    claimed_host: Mapped[str | None] = mapped_column(String(255))
    claimed_pid: Mapped[int | None] = mapped_column(Integer)
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
class TrialRecord(Base):
    """A trial registry's record, cached: the essentials the judgements read.

    One row per registry identifier (`kind` is the reference kind, "nct" for ClinicalTrials.gov).
    `found` is False when the registry answered that it has no such trial; a row is refreshed once
    it is older than HYPEWATCH_REGISTRY_MAX_AGE. Dates are the registry's own, ISO and perhaps only
    year-month ("2019-06").
    """

    __tablename__ = "trial_records"
    __table_args__ = (UniqueConstraint("kind", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    identifier: Mapped[str] = mapped_column(String(64))
    found: Mapped[bool] = mapped_column(Boolean)
    title: Mapped[str | None] = mapped_column(String(1000))
    conditions: Mapped[list[Any]] = mapped_column(default=list)
    interventions: Mapped[list[Any]] = mapped_column(default=list)
    phase: Mapped[str | None] = mapped_column(String(100))
    overall_status: Mapped[str | None] = mapped_column(String(50))
    start_date: Mapped[str | None] = mapped_column(String(10))
    completion_date: Mapped[str | None] = mapped_column(String(10))
    enrollment: Mapped[int | None] = mapped_column(Integer)
    sponsor: Mapped[str | None] = mapped_column(String(500))
    sponsor_class: Mapped[str | None] = mapped_column(String(50))
    results_posted: Mapped[bool] = mapped_column(Boolean, default=False)
    last_update: Mapped[str | None] = mapped_column(String(10))
    fetched_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class CitedReference(Base):
    """A reference one document version cites (`classifier.references`): where, and to what."""

    __tablename__ = "cited_references"
    __table_args__ = (UniqueConstraint("version_id", "start_offset"),
                      Index("ix_cited_references_kind_identifier", "kind", "identifier"))

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    identifier: Mapped[str] = mapped_column(String(300))
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)
