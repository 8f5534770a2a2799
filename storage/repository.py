"""The registries (sources, model versions) and the export of every stored page.

Registering is idempotent: a source is upserted by name, and a model version registered twice
keeps its first record. Documents, versions and predictions are written by `storage.writes`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import SIGNAL_NAMES, DocumentVersion, ModelVersion, Page, Prediction, Source, utcnow
from storage.upsert import insert_ignoring_conflicts


def upsert_source(session: Session, name: str, kind: str, config: Mapping[str, Any] | None = None) -> Source:
    insert_ignoring_conflicts(
        session, Source, [{"name": name, "kind": kind, "config": dict(config or {}), "created_at": utcnow()}], ["name"]
    )
    source = session.scalars(select(Source).where(Source.name == name)).one()
    source.kind = kind
    source.config = dict(config or {})
    return source


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
    insert_ignoring_conflicts(
        session,
        ModelVersion,
        [{
            "version": version,
            "created_at": utcnow(),
            "file_sha256": file_sha256,
            "params": dict(params or {}),
            "metrics": dict(metrics or {}),
            "training_seconds": training_seconds,
            "documents": documents,
        }],
        ["version"],
    )
    return session.scalars(select(ModelVersion).where(ModelVersion.version == version)).one()


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
