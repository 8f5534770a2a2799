"""Reading and writing hypewatch's records.

Writes are idempotent: storing the same page with the same text twice adds nothing, and storing a
prediction a model version already made for a document version returns the existing one. On
PostgreSQL and SQLite the inserts that can race between crawler workers use ON CONFLICT.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import (
    SIGNAL_NAMES,
    DocumentVersion,
    ModelVersion,
    Page,
    Prediction,
    Source,
    utcnow,
)

_WHITESPACE = re.compile(r"\s+")


def content_fingerprint(text: str) -> str:
    """A hash of the text that ignores case and whitespace, so cosmetic reflows are not changes."""
    normalised = _WHITESPACE.sub(" ", text).strip().casefold()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def compress_html(html: str | bytes | None) -> bytes | None:
    if html is None:
        return None
    raw = html.encode("utf-8") if isinstance(html, str) else html
    return gzip.compress(raw, compresslevel=6)


def decompress_html(blob: bytes | None) -> str | None:
    return None if blob is None else gzip.decompress(blob).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ExtractedDocument:
    """What storage needs of an extracted page."""

    url: str
    domain: str
    text: str
    title: str | None = None
    author: str | None = None
    published: dt.date | None = None
    language: str | None = None
    site_name: str | None = None
    raw_html: str | bytes | None = None
    fetched_at: dt.datetime | None = None


StoreStatus = Literal["new", "changed", "unchanged"]


@dataclass(frozen=True)
class StoreResult:
    page_id: int
    version_id: int
    status: StoreStatus


def _insert_ignoring_conflict(session: Session, model, values: Mapping[str, Any], conflict_columns: list[str]) -> None:
    """INSERT … ON CONFLICT DO NOTHING on the dialects that have it."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        stmt = postgresql.insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict_columns)
    elif name == "sqlite":
        stmt = sqlite.insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict_columns)
    else:  # pragma: no cover - other backends fall back to check-then-insert
        exists = select(model).filter_by(**{c: values[c] for c in conflict_columns})
        if session.scalars(exists).first() is not None:
            return
        stmt = model.__table__.insert().values(**values)
    session.execute(stmt)


def upsert_source(session: Session, name: str, kind: str, config: Mapping[str, Any] | None = None) -> Source:
    _insert_ignoring_conflict(
        session, Source, {"name": name, "kind": kind, "config": dict(config or {}), "created_at": utcnow()}, ["name"]
    )
    source = session.scalars(select(Source).where(Source.name == name)).one()
    source.kind = kind
    source.config = dict(config or {})
    return source


def store_document(session: Session, doc: ExtractedDocument, *, source_id: int | None = None) -> StoreResult:
    """Store a page and, when its text is new for that page, a new version of it."""
    now = doc.fetched_at or utcnow()
    _insert_ignoring_conflict(
        session,
        Page,
        {"url": doc.url, "domain": doc.domain, "source_id": source_id, "first_seen": now, "last_seen": now},
        ["url"],
    )
    page = session.scalars(select(Page).where(Page.url == doc.url)).one()
    page.last_seen = now
    if source_id is not None and page.source_id is None:
        page.source_id = source_id

    fingerprint = content_fingerprint(doc.text)
    current = session.get(DocumentVersion, page.current_version_id) if page.current_version_id else None
    if current is not None and current.fingerprint == fingerprint:
        return StoreResult(page.id, current.id, "unchanged")

    status: StoreStatus = "new" if current is None else "changed"
    _insert_ignoring_conflict(
        session,
        DocumentVersion,
        {
            "page_id": page.id,
            "fingerprint": fingerprint,
            "text": doc.text,
            "title": _clip(doc.title, 1000),
            "author": _clip(doc.author, 500),
            "published": doc.published,
            "language": doc.language,
            "site_name": _clip(doc.site_name, 500),
            "fetched_at": now,
            "raw_html_gz": compress_html(doc.raw_html),
        },
        ["page_id", "fingerprint"],
    )
    version = session.scalars(
        select(DocumentVersion).where(DocumentVersion.page_id == page.id, DocumentVersion.fingerprint == fingerprint)
    ).one()
    page.current_version_id = version.id
    page.current_prediction_id = _newest_prediction_id(session, version.id)
    session.flush()
    return StoreResult(page.id, version.id, status)


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else value


def _newest_prediction_id(session: Session, version_id: int) -> int | None:
    return session.scalar(select(func.max(Prediction.id)).where(Prediction.version_id == version_id))


def register_model_version(
    session: Session,
    version: str,
    *,
    file_sha256: str,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    training_seconds: float = 0.0,
    documents: int = 0,
) -> ModelVersion:
    _insert_ignoring_conflict(
        session,
        ModelVersion,
        {
            "version": version,
            "created_at": utcnow(),
            "file_sha256": file_sha256,
            "params": dict(params or {}),
            "metrics": dict(metrics or {}),
            "training_seconds": training_seconds,
            "documents": documents,
        },
        ["version"],
    )
    return session.get(ModelVersion, version)


def store_prediction(session: Session, version_id: int, score: Mapping[str, Any]) -> Prediction:
    """Store a classifier result (the dict of `DocumentScore.to_dict()`) for a document version.

    The model version must be registered first. A second call for the same pair returns the
    stored prediction unchanged.
    """
    values: dict[str, Any] = {
        "version_id": version_id,
        "model_version": score["model_version"],
        "created_at": utcnow(),
        "relevance": float(score["relevance"]),
        "relevant": bool(score["relevant"]),
        "hype_score": float(score["hype_score"]),
        "details": {"signals": score["signals"], "counter_signals": score["counter_signals"]},
    }
    for name in SIGNAL_NAMES:
        values[f"p_{name}"] = float(score["signals"][name]["probability"])
        values[f"flag_{name}"] = bool(score["signals"][name]["flagged"])
    _insert_ignoring_conflict(session, Prediction, values, ["version_id", "model_version"])
    prediction = session.scalars(
        select(Prediction).where(
            Prediction.version_id == version_id, Prediction.model_version == score["model_version"]
        )
    ).one()
    version = session.get(DocumentVersion, version_id)
    page = session.get(Page, version.page_id)
    if page.current_version_id == version_id:
        page.current_prediction_id = _newest_prediction_id(session, version_id)
    session.flush()
    return prediction


@dataclass(frozen=True)
class ExportRow:
    url: str
    title: str | None
    domain: str
    published: dt.date | None
    versions: int
    hype_score: float | None
    relevance: float | None
    relevant: bool | None
    model_version: str | None
    signals: dict[str, float | None]

    def as_flat_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "url": self.url,
            "title": self.title,
            "domain": self.domain,
            "published": self.published.isoformat() if self.published else None,
            "versions": self.versions,
            "hype_score": self.hype_score,
            "relevance": self.relevance,
            "relevant": self.relevant,
            "model_version": self.model_version,
        }
        row.update(self.signals)
        return row


def iter_export_rows(session: Session, batch_size: int = 1000) -> Iterator[ExportRow]:
    """Every stored page with its current version's metadata and newest prediction, by URL."""
    version_counts = (
        select(DocumentVersion.page_id, func.count(DocumentVersion.id).label("n"))
        .group_by(DocumentVersion.page_id)
        .subquery()
    )
    stmt = (
        select(Page, DocumentVersion, Prediction, version_counts.c.n)
        .join(DocumentVersion, DocumentVersion.id == Page.current_version_id)
        .outerjoin(Prediction, Prediction.id == Page.current_prediction_id)
        .join(version_counts, version_counts.c.page_id == Page.id)
        .order_by(Page.url)
        .execution_options(yield_per=batch_size)
    )
    for page, version, prediction, n_versions in session.execute(stmt):
        yield ExportRow(
            url=page.url,
            title=version.title,
            domain=page.domain,
            published=version.published,
            versions=n_versions,
            hype_score=prediction.hype_score if prediction else None,
            relevance=prediction.relevance if prediction else None,
            relevant=prediction.relevant if prediction else None,
            model_version=prediction.model_version if prediction else None,
            signals={name: (getattr(prediction, f"p_{name}") if prediction else None) for name in SIGNAL_NAMES},
        )
