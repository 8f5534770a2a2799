"""Batch stores of crawled documents and their predictions, and the lookup by content."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import SIGNAL_NAMES, DocumentVersion, Page, Prediction, utcnow
from storage.repository import ExtractedDocument, StoreResult, compress_html, content_fingerprint


# ---------------------------------------------------------------------------- documents
@dataclass(frozen=True)
class PendingDocument:
    document: ExtractedDocument
    score: Mapping[str, Any] | None  # a DocumentScore.to_dict(), stored as this model's prediction
    raw_html_gz: bytes | None = None  # the raw HTML already compressed (else document.raw_html is)


def store_batch(session: Session, batch: Sequence[PendingDocument], *, source_id: int | None) -> list[StoreResult]:
    """Store several documents and their predictions, with a handful of statements per batch.

    The same rules as `repository.store_document` and `store_prediction`, which store one at a
    time: a page per URL, a new version only when the text's fingerprint differs from the
    current version's (going back to an earlier text makes that version current again), at
    most one prediction per version and model; inserts that can race with another crawl use
    ON CONFLICT. URLs must be distinct within a batch. Rows are written in URL order, so workers
    storing overlapping batches at once lock them in the same order and never deadlock.
    """
    if not batch:
        return []
    urls = [p.document.url for p in batch]
    if len(set(urls)) != len(urls):
        raise ValueError("a batch must not hold the same URL twice")
    results = _store_sorted(session, sorted(batch, key=lambda p: p.document.url), source_id)
    return [results[url] for url in urls]


def _store_sorted(session: Session, batch: list[PendingDocument], source_id: int | None) -> dict[str, StoreResult]:
    urls = [p.document.url for p in batch]
    now = utcnow()
    seen = {p.document.url: p.document.fetched_at or now for p in batch}
    fingerprints = {p.document.url: content_fingerprint(p.document.text) for p in batch}
    _insert_ignoring_conflicts(session, Page, [
        {"url": p.document.url, "domain": p.document.domain, "source_id": source_id,
         "first_seen": seen[p.document.url], "last_seen": seen[p.document.url]} for p in batch
    ], ["url"])
    pages = {row.url: row for row in session.execute(
        select(Page.id, Page.url, Page.source_id, Page.current_version_id, DocumentVersion.fingerprint)
        .outerjoin(DocumentVersion, DocumentVersion.id == Page.current_version_id)
        .where(Page.url.in_(urls))
    )}
    statuses: dict[str, str] = {}
    for url in urls:
        page = pages[url]
        if page.current_version_id is None:
            statuses[url] = "new"
        else:
            statuses[url] = "unchanged" if page.fingerprint == fingerprints[url] else "changed"
    _insert_ignoring_conflicts(session, DocumentVersion, [
        _version_row(p, pages[p.document.url].id, fingerprints[p.document.url], seen[p.document.url])
        for p in batch if statuses[p.document.url] != "unchanged"
    ], ["page_id", "fingerprint"])
    page_ids = [pages[url].id for url in urls]
    version_ids = {
        (row.page_id, row.fingerprint): row.id for row in session.execute(
            select(DocumentVersion.id, DocumentVersion.page_id, DocumentVersion.fingerprint)
            .where(DocumentVersion.page_id.in_(page_ids), DocumentVersion.fingerprint.in_(set(fingerprints.values())))
        )
    }
    version_of = {url: version_ids[(pages[url].id, fingerprints[url])] for url in urls}
    _insert_ignoring_conflicts(session, Prediction, [
        prediction_row(version_of[p.document.url], p.score) for p in batch if p.score is not None
    ], ["version_id", "model_version"])
    newest_prediction = dict(session.execute(
        select(Prediction.version_id, func.max(Prediction.id))
        .where(Prediction.version_id.in_(list(version_of.values()))).group_by(Prediction.version_id)
    ).all())
    session.execute(update(Page), [
        {"id": pages[url].id, "last_seen": seen[url], "current_version_id": version_of[url],
         "current_prediction_id": newest_prediction.get(version_of[url]),
         "source_id": pages[url].source_id if pages[url].source_id is not None else source_id}
        for url in urls
    ])
    return {url: StoreResult(pages[url].id, version_of[url], statuses[url]) for url in urls}


def _version_row(pending: PendingDocument, page_id: int, fingerprint: str, fetched_at: dt.datetime) -> dict:
    doc = pending.document
    return {
        "page_id": page_id, "fingerprint": fingerprint, "text": doc.text, "title": _clip(doc.title, 1000),
        "author": _clip(doc.author, 500), "published": doc.published, "language": doc.language,
        "site_name": _clip(doc.site_name, 500), "fetched_at": fetched_at,
        "raw_html_gz": pending.raw_html_gz if pending.raw_html_gz is not None else compress_html(doc.raw_html),
    }


def prediction_row(version_id: int, score: Mapping[str, Any]) -> dict:
    """A `predictions` row for a classifier result (as `repository.store_prediction` writes it)."""
    row: dict[str, Any] = {
        "version_id": version_id, "model_version": score["model_version"], "created_at": utcnow(),
        "relevance": float(score["relevance"]), "relevant": bool(score["relevant"]),
        "hype_score": float(score["hype_score"]),
        "details": {"signals": score["signals"], "counter_signals": score["counter_signals"]},
    }
    for name in SIGNAL_NAMES:
        row[f"p_{name}"] = float(score["signals"][name]["probability"])
        row[f"flag_{name}"] = bool(score["signals"][name]["flagged"])
    return row


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else value


def _insert_ignoring_conflicts(session: Session, model, rows: list[dict], conflict_columns: list[str]) -> None:
    """One INSERT ... ON CONFLICT DO NOTHING for many rows (PostgreSQL and SQLite)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(model).on_conflict_do_nothing(index_elements=conflict_columns), rows)


def url_with_content(session: Session, fingerprint: str, *, other_than: str) -> str | None:
    """A stored page, other than `other_than`, whose current text has this fingerprint."""
    return session.scalar(
        select(Page.url)
        .join(DocumentVersion, DocumentVersion.id == Page.current_version_id)
        .where(DocumentVersion.fingerprint == fingerprint, Page.url != other_than)
        .limit(1)
    )
