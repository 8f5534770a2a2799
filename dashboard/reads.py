"""Rows the dashboard reads from the database: article list rows by id, search by LIKE, one
article with its versions and labels, and the names of stored sources.

Every read starts from `pages` and follows its denormalised `current_version_id` and
`current_prediction_id`, so reading pages is one pass of primary-key joins, never a "latest row
per group" search. An article's date is its publication date, or the day it was first seen when
the page gives none. The figures (counts, trends, rankings) are not read here: `dashboard.analytics`
computes them over the in-memory facts, and only the rows on screen come from these reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Date, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from classifier.signals import SIGNALS
from dashboard.figures import ArticleDetail, ArticleRow
from dashboard.sqlfuncs import day_of
from storage.models import DocumentVersion, Label, Page, Prediction, Source

ARTICLE_DATE = func.coalesce(DocumentVersion.published, day_of(Page.first_seen), type_=Date)
MAX_SEARCH_TERMS = 6
IDS_PER_QUERY = 900  # below every backend's bound-parameter limit


# ---------------------------------------------------------------- building blocks
def current(*columns: Any) -> Select:
    """Pages joined to their current version and that version's newest prediction."""
    return (
        select(*columns)
        .select_from(Page)
        .join(DocumentVersion, DocumentVersion.id == Page.current_version_id)
        .join(Prediction, Prediction.id == Page.current_prediction_id)
    )


def is_labelled() -> ColumnElement[bool]:
    return exists(select(Label.id).where(Label.version_id == Page.current_version_id))


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(q: str, dialect: str) -> ColumnElement[bool]:
    """Every word must occur in the title, the text or the URL (case-insensitive)."""
    conditions = []
    columns = (DocumentVersion.title, DocumentVersion.text, Page.url)
    for term in q.split()[:MAX_SEARCH_TERMS]:
        pattern = f"%{_escape_like(term)}%"
        if dialect == "sqlite":  # SQLite's LIKE already ignores ASCII case, and is faster than lower()
            match = [col.like(pattern, escape="\\") for col in columns]
        else:
            match = [col.ilike(pattern, escape="\\") for col in columns]
        conditions.append(or_(*match))
    return and_(*conditions)


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def article_columns() -> list[Any]:
    return [
        Page.id, Page.url, Page.domain, DocumentVersion.title, ARTICLE_DATE.label("date"), Prediction.hype_score,
        Prediction.relevance, Prediction.relevant, *[getattr(Prediction, f"flag_{n}") for n in SIGNALS],
        is_labelled().label("labelled"),
    ]


def article_row(row: Any) -> ArticleRow:
    flags = tuple(name for name in SIGNALS if getattr(row, f"flag_{name}"))
    return ArticleRow(
        id=row.id, url=row.url, domain=row.domain, title=row.title, date=row.date,
        hype_score=round(row.hype_score, 1), relevance=round(row.relevance, 3), relevant=row.relevant,
        flags=flags, labelled=bool(row.labelled),
    )


# ---------------------------------------------------------------- article rows
def rows_by_ids(session: Session, ids: Sequence[int]) -> list[ArticleRow]:
    """The list rows of these pages, in the order given."""
    found: dict[int, ArticleRow] = {}
    wanted = [int(i) for i in ids]
    for start in range(0, len(wanted), IDS_PER_QUERY):
        stmt = current(*article_columns()).where(Page.id.in_(wanted[start:start + IDS_PER_QUERY]))
        found.update((row.id, article_row(row)) for row in session.execute(stmt))
    return [found[i] for i in wanted if i in found]


def search_page_ids(session: Session, q: str) -> list[int]:
    """Pages whose current version's title or text, or whose URL, contains every word of `q`."""
    stmt = current(Page.id).where(search_condition(q, dialect_of(session)))
    return list(session.scalars(stmt))


# ---------------------------------------------------------------- one article
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


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


# ---------------------------------------------------------------- sources
def source_names(session: Session) -> list[str]:
    return list(session.scalars(select(Source.name).order_by(Source.name)))
