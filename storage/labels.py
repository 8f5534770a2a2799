"""Analysts' labels read back for training, and the version queries `hypewatch rescore` needs.

`analyst_labels` merges every label of a document version into one judgement: for each field
the newest non-empty value wins (an analyst may label only some signals, and a later label
corrects an earlier one). Fields nobody filled stay `None`, meaning unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import SIGNAL_NAMES, DocumentVersion, Label, Page, Prediction

JUDGEMENT_FIELDS = ("relevant", *SIGNAL_NAMES, "hype")


@dataclass(frozen=True)
class AnalystLabel:
    version_id: int
    page_id: int
    text: str
    language: str | None
    relevant: bool | None
    signals: dict[str, bool | None]
    hype: int | None
    authors: tuple[str, ...]
    notes: tuple[str, ...]


def analyst_labels(session: Session) -> list[AnalystLabel]:
    """One merged judgement per labelled document version, ordered by version id."""
    stmt = (
        select(Label, DocumentVersion.page_id, DocumentVersion.text, DocumentVersion.language)
        .join(DocumentVersion, DocumentVersion.id == Label.version_id)
        .order_by(Label.version_id, Label.created_at, Label.id)
    )
    merged: dict[int, dict] = {}
    for label, page_id, text, language in session.execute(stmt):
        entry = merged.setdefault(label.version_id, {
            "page_id": page_id, "text": text, "language": language, "authors": [], "notes": [],
            **{name: None for name in JUDGEMENT_FIELDS},
        })
        for name in JUDGEMENT_FIELDS:
            value = getattr(label, name)
            if value is not None:
                entry[name] = value
        if label.author not in entry["authors"]:
            entry["authors"].append(label.author)
        if label.note:
            entry["notes"].append(label.note)
    return [
        AnalystLabel(
            version_id=version_id,
            page_id=entry["page_id"],
            text=entry["text"],
            language=entry["language"],
            relevant=entry["relevant"],
            signals={name: entry[name] for name in SIGNAL_NAMES},
            hype=entry["hype"],
            authors=tuple(entry["authors"]),
            notes=tuple(entry["notes"]),
        )
        for version_id, entry in merged.items()
    ]


def version_ids_without_prediction(session: Session, model_version: str, *, current_only: bool = False) -> list[int]:
    """Ids of stored document versions that `model_version` has not scored yet."""
    scored = select(Prediction.version_id).where(Prediction.model_version == model_version)
    stmt = select(DocumentVersion.id).where(DocumentVersion.id.not_in(scored))
    if current_only:
        stmt = stmt.join(Page, Page.current_version_id == DocumentVersion.id)
    return list(session.scalars(stmt.order_by(DocumentVersion.id)))


def version_texts(session: Session, version_ids: list[int]) -> list[tuple[int, str]]:
    """(id, text) of the given document versions, in id order."""
    stmt = select(DocumentVersion.id, DocumentVersion.text).where(DocumentVersion.id.in_(version_ids))
    return [(row[0], row[1]) for row in session.execute(stmt.order_by(DocumentVersion.id))]
