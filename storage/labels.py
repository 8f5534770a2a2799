"""Analysts' labels: adding and importing them, reading them back for training; and the version
queries `hypewatch rescore` needs.

`analyst_labels` merges every label of a document version into one judgement: for each field
the newest non-empty value wins (an analyst may label only some signals, and a later label
corrects an earlier one). Fields nobody filled stay `None`, meaning unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import SIGNAL_NAMES, DocumentVersion, Label, Page, Prediction, utcnow

JUDGEMENT_FIELDS = ("relevant", *SIGNAL_NAMES, "hype")


def add_label(session: Session, version_id: int, author: str, **judgement: Any) -> Label:
    """Add one analyst's judgement of a document version (any of JUDGEMENT_FIELDS, a note, evidence)."""
    allowed = {"relevant", "hype", "note", "evidence", *SIGNAL_NAMES}
    unknown = set(judgement) - allowed
    if unknown:
        raise ValueError(f"unknown label fields: {sorted(unknown)}")
    label = Label(version_id=version_id, author=author, created_at=utcnow(), **judgement)
    session.add(label)
    session.flush()
    return label


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
    # signal -> (start, end) spans of the version's text the analysts marked as its evidence
    evidence: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)


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
            "page_id": page_id, "text": text, "language": language, "authors": [], "notes": [], "evidence": {},
            **{name: None for name in JUDGEMENT_FIELDS},
        })
        for name, spans in _valid_evidence(label.evidence, len(text)).items():
            entry["evidence"][name] = spans  # the newest marking of a signal wins
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
            evidence=entry["evidence"],
        )
        for version_id, entry in merged.items()
    ]


def _valid_evidence(raw, text_length: int) -> dict[str, tuple[tuple[int, int], ...]]:
    """The well-formed spans of a stored `Label.evidence` (anything in the database is untrusted)."""
    if not isinstance(raw, dict):
        return {}
    out = {}
    for name, spans in raw.items():
        if name not in SIGNAL_NAMES or not isinstance(spans, list):
            continue
        good = tuple((int(s[0]), int(s[1])) for s in spans
                     if isinstance(s, list | tuple) and len(s) == 2 and all(isinstance(v, int) for v in s)
                     and 0 <= s[0] < s[1] <= text_length)
        if good:
            out[name] = good
    return out


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


@dataclass(frozen=True)
class LabelTask:
    """One document version to label elsewhere: its text, and what the model said of it."""

    version_id: int
    url: str
    title: str | None
    text: str
    model_version: str | None
    predicted_relevant: bool | None
    predicted_signals: tuple[str, ...]
    hype_score: float | None


def iter_label_tasks(session: Session, *, labelled_only: bool = False, batch_size: int = 500):
    """The current version of every stored page (or only the labelled ones) with its newest prediction."""
    stmt = (
        select(Page.url, DocumentVersion, Prediction)
        .join(DocumentVersion, DocumentVersion.id == Page.current_version_id)
        .outerjoin(Prediction, Prediction.id == Page.current_prediction_id)
        .order_by(DocumentVersion.id)
        .execution_options(yield_per=batch_size)
    )
    if labelled_only:
        stmt = stmt.where(DocumentVersion.id.in_(select(Label.version_id)))
    for url, version, prediction in session.execute(stmt):
        yield LabelTask(
            version_id=version.id, url=url, title=version.title, text=version.text,
            model_version=prediction.model_version if prediction else None,
            predicted_relevant=prediction.relevant if prediction else None,
            predicted_signals=tuple(n for n in SIGNAL_NAMES if prediction and getattr(prediction, f"flag_{n}")),
            hype_score=prediction.hype_score if prediction else None,
        )


def version_text_lengths(session: Session, version_ids: list[int]) -> dict[int, int]:
    """id -> length of the text, for the given versions that exist."""
    rows = session.execute(select(DocumentVersion.id, func.length(DocumentVersion.text))
                           .where(DocumentVersion.id.in_(version_ids)))
    return {version_id: int(length) for version_id, length in rows}


def import_labels(session: Session, judgements: list[tuple[int, dict]], author: str) -> int:
    """Add each (version id, label fields) as a label by `author`, unless `author` already gave that
    version exactly this label (so importing a file twice stores it once). Returns how many were added."""
    existing = {(label.version_id, _label_key(label.__dict__)) for label in session.scalars(
        select(Label).where(Label.author == author, Label.version_id.in_([v for v, _ in judgements])))}
    added = 0
    for version_id, fields in judgements:
        key = (version_id, _label_key(fields))
        if key in existing:
            continue
        add_label(session, version_id, author, **fields)
        existing.add(key)
        added += 1
    return added


def _label_key(fields: dict) -> str:
    import json

    return json.dumps({name: fields.get(name) for name in (*JUDGEMENT_FIELDS, "note", "evidence")}, sort_keys=True)
