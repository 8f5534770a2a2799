"""The one write path for documents, their versions and their predictions.

The crawler stores pages in batches (`store_batch`); `store_document` is a batch of one, and
`store_prediction` adds a prediction to a version already stored. The rules, kept here once:

- a page per URL; a new version only when the text's fingerprint differs from the current
  version's (going back to an earlier text makes that version current again);
- at most one prediction per version and model version (a second one is not stored); the same
  model knowing more of a version (the registry's judgements of the trials it cites) replaces its
  prediction with a new row (`replace_prediction`), so readers that follow new ids see the change;
- a page's current prediction is the newest prediction of its current version;
- a version's citations (`cited_references`) are stored once each, by their offset.

Writes are idempotent, and the inserts that can race with another crawl skip conflicting rows
(`storage.upsert`), so storing the same page twice, even at once, stores it once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.documents import (
    ExtractedDocument,
    PredictionScores,
    StoreResult,
    StoreStatus,
    compress_html,
    content_fingerprint,
)
from storage.models import SIGNAL_NAMES, CitedReference, DocumentVersion, Page, Prediction, utcnow
from storage.upsert import insert_ignoring_conflicts


@dataclass(frozen=True)
class PendingDocument:
    """A document waiting to be stored, with the prediction to store for it."""

    document: ExtractedDocument
    scores: PredictionScores | None  # stored as this model version's prediction of the document's version
    raw_html_gz: bytes | None = None  # the raw HTML already compressed (else document.raw_html is)


def store_document(session: Session, doc: ExtractedDocument, *, source_id: int | None = None) -> StoreResult:
    """Store a page and, when its text is new for that page, a new version of it."""
    return store_batch(session, [PendingDocument(doc, None)], source_id=source_id)[0]


def store_batch(session: Session, batch: Sequence[PendingDocument], *, source_id: int | None) -> list[StoreResult]:
    """Store several documents and their predictions, with a handful of statements per batch.

    URLs must be distinct within a batch. Rows are written in URL order, so crawls storing
    overlapping batches at once lock them in the same order and never deadlock.
    """
    if not batch:
        return []
    urls = [p.document.url for p in batch]
    if len(set(urls)) != len(urls):
        raise ValueError("a batch must not hold the same URL twice")
    results = _store_sorted(session, sorted(batch, key=lambda p: p.document.url), source_id)
    return [results[url] for url in urls]


def store_prediction(session: Session, version_id: int, scores: PredictionScores) -> Prediction:
    """Store a classifier result for a stored document version.

    The model version must be registered first. A second call for the same pair returns the
    stored prediction unchanged.
    """
    return _insert_prediction(session, version_id, _prediction_row(version_id, scores))


def _insert_prediction(session: Session, version_id: int, row: dict[str, Any]) -> Prediction:
    insert_ignoring_conflicts(session, Prediction, [row], ["version_id", "model_version"])
    page_id = session.scalar(select(DocumentVersion.page_id).where(DocumentVersion.id == version_id))
    newest = _newest_predictions(session, [version_id]).get(version_id)
    session.execute(update(Page).where(Page.id == page_id, Page.current_version_id == version_id)
                    .values(current_prediction_id=newest))
    return session.scalars(
        select(Prediction).where(Prediction.version_id == version_id, Prediction.model_version == row["model_version"])
    ).one()


def replace_prediction(session: Session, version_id: int, scores: PredictionScores) -> bool:
    """Replace the prediction this model version made of a stored version with `scores`: the same
    model, knowing more (`hypewatch` grounds a prediction in the trial registry once the records of
    the trials the version cites are known). The replacement is a new row with a new id (the pair
    stays unique), so the dashboard's facts, which follow new prediction ids, see it; the page's
    current prediction moves to it. Returns whether anything changed: False when the version has
    no prediction of this model version (nothing is added) or when the scores are the same.
    """
    stored = session.scalars(select(Prediction).where(Prediction.version_id == version_id,
                                                      Prediction.model_version == scores.model_version)).one_or_none()
    if stored is None:
        return False
    row = _prediction_row(version_id, scores)
    if all(getattr(stored, name) == row[name] for name in row if name not in ("created_at", "version_id")):
        return False
    session.execute(delete(Prediction).where(Prediction.id == stored.id))
    session.expunge(stored)
    if session.get_bind().dialect.name == "sqlite":
        # SQLite numbers a new row one past the largest id left, so a replaced newest row would get
        # its own id back and the change go unseen; PostgreSQL's sequence never gives an id twice.
        # (Writers to one SQLite database take turns, so nobody takes this id meanwhile.)
        row["id"] = max(stored.id, session.scalar(select(func.max(Prediction.id))) or 0) + 1
    _insert_prediction(session, version_id, row)
    return True


def _store_sorted(session: Session, batch: list[PendingDocument], source_id: int | None) -> dict[str, StoreResult]:
    urls = [p.document.url for p in batch]
    now = utcnow()
    seen = {p.document.url: p.document.fetched_at or now for p in batch}
    fingerprints = {p.document.url: content_fingerprint(p.document.text) for p in batch}
    insert_ignoring_conflicts(session, Page, [
        {"url": p.document.url, "domain": p.document.domain, "source_id": source_id,
         "first_seen": seen[p.document.url], "last_seen": seen[p.document.url]} for p in batch
    ], ["url"])
    pages = {row.url: row for row in session.execute(
        select(Page.id, Page.url, Page.source_id, Page.current_version_id, DocumentVersion.fingerprint)
        .outerjoin(DocumentVersion, DocumentVersion.id == Page.current_version_id)
        .where(Page.url.in_(urls))
    )}
    statuses: dict[str, StoreStatus] = {}
    for url in urls:
        page = pages[url]
        if page.current_version_id is None:
            statuses[url] = "new"
        else:
            statuses[url] = "unchanged" if page.fingerprint == fingerprints[url] else "changed"
    insert_ignoring_conflicts(session, DocumentVersion, [
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
    insert_ignoring_conflicts(session, Prediction, [
        _prediction_row(version_of[p.document.url], p.scores) for p in batch if p.scores is not None
    ], ["version_id", "model_version"])
    # A version's citations are written whenever it is stored, so a version stored before they were
    # recorded gets them on its next crawl.
    insert_ignoring_conflicts(session, CitedReference, [
        {"version_id": version_of[p.document.url], "kind": c.kind, "identifier": c.identifier[:300],
         "start_offset": c.start, "end_offset": c.end}
        for p in batch for c in p.document.citations
    ], ["version_id", "start_offset"])
    newest_prediction = _newest_predictions(session, version_of.values())
    session.execute(update(Page), [
        {"id": pages[url].id, "last_seen": seen[url], "current_version_id": version_of[url],
         "current_prediction_id": newest_prediction.get(version_of[url]),
         "source_id": pages[url].source_id if pages[url].source_id is not None else source_id}
        for url in urls
    ])
    return {url: StoreResult(pages[url].id, version_of[url], statuses[url]) for url in urls}


def _newest_predictions(session: Session, version_ids: Iterable[int]) -> dict[int, int]:
    """version id -> id of its newest prediction, for the given versions that have one."""
    rows = session.execute(
        select(Prediction.version_id, func.max(Prediction.id))
        .where(Prediction.version_id.in_(list(version_ids))).group_by(Prediction.version_id)
    )
    return {version_id: prediction_id for version_id, prediction_id in rows}


def _version_row(pending: PendingDocument, page_id: int, fingerprint: str, fetched_at: dt.datetime) -> dict[str, Any]:
    doc = pending.document
    return {
        "page_id": page_id, "fingerprint": fingerprint, "text": doc.text, "title": _clip(doc.title, 1000),
        "author": _clip(doc.author, 500), "published": doc.published, "language": doc.language,
        "site_name": _clip(doc.site_name, 500), "fetched_at": fetched_at,
        "raw_html_gz": pending.raw_html_gz if pending.raw_html_gz is not None else compress_html(doc.raw_html),
    }


def _prediction_row(version_id: int, scores: PredictionScores) -> dict[str, Any]:
    row: dict[str, Any] = {
        "version_id": version_id, "model_version": scores.model_version, "created_at": utcnow(),
        "relevance": scores.relevance, "relevant": scores.relevant, "hype_score": scores.hype_score,
        "details": dict(scores.details),
    }
    for name in SIGNAL_NAMES:
        row[f"p_{name}"] = scores.probabilities[name]
        row[f"flag_{name}"] = scores.flagged[name]
    return row


def _clip(value: str | None, limit: int) -> str | None:
    # The columns are bounded (String(n)); a longer title or author is cut rather than refused.
    return value[:limit] if value else value
