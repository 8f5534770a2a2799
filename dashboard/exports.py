"""The exports: every article matching the filters, as CSV or JSON, streamed.

Both read `dashboard.screens.Reader.iter_articles` (the article list's order and filters) and
write each article as the same flat record (`export_row`). Streaming outlives the request's
session, so each export opens its own.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from classifier.signals import SIGNALS, hype_band
from dashboard.figures import ArticleRow
from dashboard.filters import ArticleFilters
from dashboard.params import article_filters
from dashboard.spreadsheet import safe_row
from dashboard.state import BoardDep, Dashboard

router = APIRouter()
FiltersDep = Annotated[ArticleFilters, Depends(article_filters)]
EXPORT_FIELDS = ["id", "url", "domain", "title", "date", "hype_score", "hype_band", "relevance", "relevant", "labelled",
                 *[f"flag_{n}" for n in SIGNALS]]
Rows = Iterator[dict[str, Any]]


def export_row(row: ArticleRow) -> dict[str, Any]:
    """An article as one flat record: a true/false column per signal instead of a list."""
    flat = row.to_dict()
    flags = set(flat.pop("signals"))
    flat["hype_band"] = hype_band(flat["hype_score"])
    flat.update({f"flag_{n}": n in flags for n in SIGNALS})
    return flat


def _streamed(board: Dashboard, filters: ArticleFilters, render: Callable[[Rows], Iterable[str]]) -> Iterator[str]:
    with board.session() as session:
        yield from render(export_row(row) for row in board.reader(session).iter_articles(filters))


@router.get("/export/articles.csv", tags=["exports"], summary="Every article matching the filters, as CSV")
def export_csv(board: BoardDep, filters: FiltersDep) -> StreamingResponse:
    def render(rows: Rows) -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow(safe_row(row))
            if i % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(_streamed(board, filters, render), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="hypewatch-articles.csv"'})


@router.get("/export/articles.json", tags=["exports"], summary="Every article matching the filters, as JSON")
def export_json(board: BoardDep, filters: FiltersDep) -> StreamingResponse:
    def render(rows: Rows) -> Iterator[str]:
        yield '{"filters": ' + json.dumps(filters.as_params(page=1)) + ', "articles": ['
        for i, row in enumerate(rows):
            yield ("," if i else "") + "\n" + json.dumps(row, ensure_ascii=False)
        yield "\n]}\n"

    return StreamingResponse(_streamed(board, filters, render), media_type="application/json",
                             headers={"Content-Disposition": 'attachment; filename="hypewatch-articles.json"'})
