"""Cited references and the registry records cached for them.

A document version's citations are written with it (`storage.writes`); the registry records are
written by whoever asks the registry (`hypewatch.trials`) as `TrialEssentials`, and read back as
the same. Reads for the screens: the citations of one version (`version_citations`) and every
trial the current versions cite with the pages citing it (`cited_trials`). Reads for grounding
predictions in the registry: the current versions whose cited trials have a record to judge them
by (`versions_to_ground`), and those versions' pages (`version_pages`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import CitedReference, DocumentVersion, Page, TrialRecord, utcnow
from storage.upsert import insert_ignoring_conflicts


@dataclass(frozen=True)
class TrialEssentials:
    """A registry's record of one trial, as cached (`found` False: the registry has no such trial)."""

    kind: str
    identifier: str
    found: bool
    title: str | None = None
    conditions: tuple[str, ...] = ()
    interventions: tuple[str, ...] = ()
    phase: str | None = None
    overall_status: str | None = None
    start_date: str | None = None
    completion_date: str | None = None
    enrollment: int | None = None
    sponsor: str | None = None
    sponsor_class: str | None = None
    results_posted: bool = False
    last_update: str | None = None
    fetched_at: dt.datetime = field(default_factory=utcnow)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["conditions"], out["interventions"] = list(self.conditions), list(self.interventions)
        out["fetched_at"] = self.fetched_at.isoformat()
        return out


@dataclass(frozen=True)
class StoredCitation:
    """A citation of one stored version, with the cached record when it is a registry's."""

    kind: str
    identifier: str
    start: int
    end: int
    record: TrialEssentials | None


@dataclass(frozen=True)
class CitingPage:
    """A page whose current version cites a trial."""

    page_id: int
    url: str
    domain: str
    title: str | None
    site_name: str | None
    text: str


@dataclass(frozen=True)
class CitedTrial:
    """A trial cited by one or more current versions, with its cached record (None: never fetched)."""

    kind: str
    identifier: str
    record: TrialEssentials | None
    pages: tuple[CitingPage, ...]


_ESSENTIAL_COLUMNS = [f.name for f in fields(TrialEssentials)]


def save_trials(session: Session, records: Iterable[TrialEssentials]) -> None:
    """Store or replace the cached records (two writers saving the same record at once both succeed)."""
    for record in records:
        values = {name: getattr(record, name) for name in _ESSENTIAL_COLUMNS}
        values["conditions"], values["interventions"] = list(record.conditions), list(record.interventions)
        values["title"] = record.title[:1000] if record.title else record.title
        values["sponsor"] = record.sponsor[:500] if record.sponsor else record.sponsor
        insert_ignoring_conflicts(session, TrialRecord, [values], ["kind", "identifier"])
        session.execute(update(TrialRecord).where(TrialRecord.kind == record.kind,
                                                  TrialRecord.identifier == record.identifier).values(**values))


def trial_records(session: Session, kind: str, identifiers: Iterable[str]) -> dict[str, TrialEssentials]:
    """The cached records of these identifiers, by identifier (those never fetched are absent)."""
    wanted = sorted(set(identifiers))
    if not wanted:
        return {}
    rows = session.scalars(select(TrialRecord).where(TrialRecord.kind == kind, TrialRecord.identifier.in_(wanted)))
    return {row.identifier: _essentials(row) for row in rows}


def identifiers_to_fetch(session: Session, kind: str, *, older_than: dt.datetime | None = None) -> list[str]:
    """The identifiers of this kind that any stored version cites and that have no cached record,
    or (with `older_than`) whose record was fetched before then."""
    cited = select(CitedReference.identifier).where(CitedReference.kind == kind).distinct()
    fresh = select(TrialRecord.identifier).where(TrialRecord.kind == kind)
    if older_than is not None:
        fresh = fresh.where(TrialRecord.fetched_at >= older_than)
    return sorted(session.scalars(cited.where(CitedReference.identifier.not_in(fresh))))


def versions_to_ground(session: Session, kind: str, *, identifiers: Iterable[str] = (),
                       newer_than: int | None = None) -> list[int]:
    """The current versions that cite one of `identifiers` (of this kind), and, with `newer_than`,
    those stored after that version id that cite a trial of this kind with a cached record:
    whose predictions the registry's judgements may move."""
    wanted = sorted(set(identifiers))
    conditions: list[ColumnElement[bool]] = [CitedReference.identifier.in_(wanted)] if wanted else []
    if newer_than is not None:
        recorded = select(TrialRecord.identifier).where(TrialRecord.kind == kind)
        conditions.append(and_(CitedReference.version_id > newer_than, CitedReference.identifier.in_(recorded)))
    if not conditions:
        return []
    return sorted(session.scalars(
        select(CitedReference.version_id).distinct()
        .join(Page, Page.current_version_id == CitedReference.version_id)
        .where(CitedReference.kind == kind, or_(*conditions))))


def newest_version_id(session: Session) -> int:
    """The id of the newest stored document version (0: none yet)."""
    return session.scalar(select(func.max(DocumentVersion.id))) or 0


def version_pages(session: Session, version_ids: Iterable[int]) -> dict[int, CitingPage]:
    """Each stored version's page and text, by version id (versions that do not exist are absent)."""
    wanted = sorted(set(version_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(DocumentVersion.id.label("version_id"), Page.id, Page.url, Page.domain, DocumentVersion.title,
               DocumentVersion.site_name, DocumentVersion.text)
        .join(Page, Page.id == DocumentVersion.page_id).where(DocumentVersion.id.in_(wanted)))
    return {r.version_id: CitingPage(r.id, r.url, r.domain, r.title, r.site_name, r.text) for r in rows}


def version_citations(session: Session, version_id: int, record_kinds: Sequence[str]) -> list[StoredCitation]:
    """The citations of one version in text order, each with its cached record when its kind is
    one of `record_kinds` and a record is cached."""
    rows = session.execute(
        select(CitedReference.kind, CitedReference.identifier, CitedReference.start_offset, CitedReference.end_offset)
        .where(CitedReference.version_id == version_id).order_by(CitedReference.start_offset)).all()
    records: dict[tuple[str, str], TrialEssentials] = {}
    for kind in set(record_kinds):
        records.update({(kind, ident): rec for ident, rec in
                        trial_records(session, kind, [r.identifier for r in rows if r.kind == kind]).items()})
    return [StoredCitation(r.kind, r.identifier, r.start_offset, r.end_offset, records.get((r.kind, r.identifier)))
            for r in rows]


def cited_trials(session: Session, kinds: Sequence[str], *, limit: int = 500) -> list[CitedTrial]:
    """Every identifier of these kinds that a page's current version cites, most cited first, with
    its cached record and the citing pages (their current text, for judging each citation)."""
    rows = session.execute(
        select(CitedReference.kind, CitedReference.identifier, Page.id, Page.url, Page.domain,
               DocumentVersion.title, DocumentVersion.site_name, DocumentVersion.text)
        .join(DocumentVersion, DocumentVersion.id == CitedReference.version_id)
        .join(Page, Page.current_version_id == DocumentVersion.id)
        .where(CitedReference.kind.in_(list(kinds)))
        .distinct().order_by(CitedReference.kind, CitedReference.identifier, Page.id)).all()
    pages: dict[tuple[str, str], list[CitingPage]] = {}
    for r in rows:
        pages.setdefault((r.kind, r.identifier), []).append(
            CitingPage(r.id, r.url, r.domain, r.title, r.site_name, r.text))
    chosen = sorted(pages, key=lambda key: (-len(pages[key]), key))[:limit]
    records: dict[tuple[str, str], TrialEssentials] = {}
    for kind in kinds:
        records.update({(kind, ident): rec for ident, rec in
                        trial_records(session, kind, [i for k, i in chosen if k == kind]).items()})
    return [CitedTrial(kind, ident, records.get((kind, ident)), tuple(pages[(kind, ident)])) for kind, ident in chosen]


def _essentials(row: TrialRecord) -> TrialEssentials:
    values = {name: getattr(row, name) for name in _ESSENTIAL_COLUMNS}
    values["conditions"], values["interventions"] = tuple(row.conditions or ()), tuple(row.interventions or ())
    return TrialEssentials(**values)
