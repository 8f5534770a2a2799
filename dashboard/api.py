"""The JSON API behind every page, the exports, and the assets served from installed packages.

Every page of the dashboard has an endpoint here returning the same data; the charts' script
reads them. OpenAPI: /openapi.json, browsable at /docs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from sqlalchemy import text
from sqlalchemy.orm import Session

from classifier.signals import SIGNALS
from dashboard import crawl_runs, figures, presentation, reads, serialise
from dashboard.app import Dashboard, iter_session
from dashboard.errors import NotFound
from dashboard.filters import DOMAIN_SORTS, ArticleFilters
from dashboard.params import article_filters, parse_choice, parse_int
from dashboard.vendor import vendor_file

router = APIRouter()
SessionDep = Annotated[Session, Depends(iter_session)]
FiltersDep = Annotated[ArticleFilters, Depends(article_filters)]


def dashboard_of(request: Request) -> Dashboard:
    return request.app.state.dashboard


def reader(request: Request, session: Session):
    return dashboard_of(request).reader(session)


def article_page_json(page: figures.ArticlePage) -> dict[str, Any]:
    return {
        "total": page.total, "page": page.filters.page, "per_page": page.filters.per_page, "pages": page.pages,
        "filters": page.filters.as_params(), "articles": [r.to_dict() for r in page.rows],
    }


def trends_json(trends: figures.Trends) -> dict[str, Any]:
    return {**trends.to_dict(), "signals": presentation.signal_meta(), "high_hype_threshold": figures.HIGH_HYPE}


# ---------------------------------------------------------------- health
@router.get("/healthz", tags=["health"], summary="Liveness and database check (no credentials needed)")
def healthz(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


# ---------------------------------------------------------------- overview and trends
@router.get("/api/overview", tags=["overview"], summary="Everything the overview page shows")
def api_overview(request: Request, session: SessionDep, filters: FiltersDep) -> dict[str, Any]:
    data = reader(request, session).overview(filters)
    return {
        "summary": data["summary"].to_dict(),
        "trends": trends_json(data["trends"]),
        "top_domains": [d.to_dict() for d in data["top_domains"]],
        "newest_high_hype": [a.to_dict() for a in data["newest_high_hype"]],
        "crawl_health": data["health"].to_dict(),
    }


@router.get("/api/trends", tags=["overview"], summary="Weekly series: relevant articles, mean hype, share per signal")
def api_trends(request: Request, session: SessionDep, filters: FiltersDep) -> dict[str, Any]:
    return trends_json(reader(request, session).trends(filters))


# ---------------------------------------------------------------- articles
@router.get("/api/articles", tags=["articles"], summary="A filtered, sorted page of articles")
def api_articles(request: Request, session: SessionDep, filters: FiltersDep) -> dict[str, Any]:
    return article_page_json(reader(request, session).articles(filters))


@router.get("/api/articles/{article_id}", tags=["articles"],
            summary="One article: text, prediction with evidence offsets, versions and labels")
def api_article(session: SessionDep, article_id: int,
                version: Annotated[int | None, Query(description="A version id (default: the current one).")] = None
                ) -> dict[str, Any]:
    detail = reads.article_detail(session, article_id, version)
    if detail is None:
        raise NotFound(f"no article {article_id}" + (f" with version {version}" if version else ""))
    return {
        "id": detail.page.id, "url": detail.page.url, "domain": detail.page.domain, "source": detail.source_name,
        "first_seen": detail.page.first_seen.isoformat(), "last_seen": detail.page.last_seen.isoformat(),
        "version": {
            "id": detail.version.id, "current": detail.is_current, "title": detail.version.title,
            "author": detail.version.author, "published": detail.version.published.isoformat() if detail.version.published else None,
            "language": detail.version.language, "site_name": detail.version.site_name,
            "fetched_at": detail.version.fetched_at.isoformat(), "text": detail.version.text,
        },
        "prediction": serialise.prediction_dict(detail.prediction),
        "versions": detail.versions,
        "labels": [serialise.label_dict(label) for label in detail.labels],
    }


@router.get("/api/queue", tags=["labelling"], summary="Unlabelled articles where the model is least certain")
def api_queue(request: Request, session: SessionDep, filters: FiltersDep,
              limit: Annotated[str | None, Query(description="How many (1-200, default 50).")] = None) -> dict[str, Any]:
    rows = reader(request, session).queue(filters, parse_int("limit", limit, 50, 1, 200))
    return {"articles": [{**row.to_dict(), "uncertainty": u} for row, u in rows]}


# ---------------------------------------------------------------- sources, domains, runs
@router.get("/api/sources", tags=["sources"], summary="Per configured source: articles, hype, signal rates, last run")
def api_sources(request: Request, session: SessionDep) -> dict[str, Any]:
    return {"sources": [s.to_dict() for s in reader(request, session).sources()]}


@router.get("/api/domains", tags=["sources"], summary="Per domain: articles, mean hype, signal rates, silent flag")
def api_domains(request: Request, session: SessionDep, filters: FiltersDep,
                domain_sort: Annotated[str | None, Query(description="articles (default), mean_hype, relevant, "
                                                                      "name or last_seen.")] = None,
                limit: Annotated[str | None, Query(description="At most this many (default 200).")] = None
                ) -> dict[str, Any]:
    sort = parse_choice("domain_sort", domain_sort, DOMAIN_SORTS, "articles")
    rows = reader(request, session).domains(filters, sort=sort, limit=parse_int("limit", limit, 200, 1, 100_000))
    return {"domains": [d.to_dict() for d in rows]}


@router.get("/api/domains/{name}", tags=["sources"], summary="One domain's figures and weekly trend")
def api_domain(request: Request, session: SessionDep, name: str, filters: FiltersDep) -> dict[str, Any]:
    domain = name
    filters = replace(filters, domain=domain)
    view = reader(request, session)
    stats = view.domains(replace(filters, relevance="all"))
    if not stats:
        raise NotFound(f"no articles from {domain}")
    return {"domain": stats[0].to_dict(), "trends": trends_json(view.trends(filters))}


@router.get("/api/runs", tags=["crawls"], summary="Crawl runs, newest first, with their stats and errors")
def api_runs(session: SessionDep,
             source: Annotated[str | None, Query(description="Only this source's runs.")] = None,
             page: Annotated[str | None, Query(description="Page number, from 1.")] = None) -> dict[str, Any]:
    number = parse_int("page", page, 1, 1, 1_000_000)
    runs, total = crawl_runs.list_runs(session, source=source or None, page=number)
    return {"total": total, "page": number, "runs": runs, "health": crawl_runs.crawl_health(session).to_dict()}


# ---------------------------------------------------------------- exports
EXPORT_FIELDS = ["id", "url", "domain", "title", "date", "hype_score", "relevance", "relevant", "labelled",
                 *[f"flag_{n}" for n in SIGNALS]]


def _export_rows(view, filters: ArticleFilters) -> Iterator[dict[str, Any]]:
    for row in view.iter_articles(filters):
        flat = row.to_dict()
        flags = set(flat.pop("signals"))
        flat.update({f"flag_{n}": n in flags for n in SIGNALS})
        yield flat


def _streamed(request: Request, filters: ArticleFilters, render) -> Iterator[str]:
    board = dashboard_of(request)
    with board.session() as session:
        yield from render(_export_rows(board.reader(session), filters))


@router.get("/export/articles.csv", tags=["exports"], summary="Every article matching the filters, as CSV")
def export_csv(request: Request, filters: FiltersDep) -> StreamingResponse:
    def render(rows):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow({k: _csv_cell(v) for k, v in row.items()})
            if i % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(_streamed(request, filters, render), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="hypewatch-articles.csv"'})


def _csv_cell(value: Any) -> Any:
    """Spreadsheets run cells that start with = + - @ as formulas; crawled titles must not."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/export/articles.json", tags=["exports"], summary="Every article matching the filters, as JSON")
def export_json(request: Request, filters: FiltersDep) -> StreamingResponse:
    def render(rows):
        yield '{"filters": ' + json.dumps(filters.as_params(page=1)) + ', "articles": ['
        for i, row in enumerate(rows):
            yield ("," if i else "") + "\n" + json.dumps(row, ensure_ascii=False)
        yield "\n]}\n"

    return StreamingResponse(_streamed(request, filters, render), media_type="application/json",
                             headers={"Content-Disposition": 'attachment; filename="hypewatch-articles.json"'})


# ---------------------------------------------------------------- third-party assets, served by the app
@router.get("/vendor/{name:path}", include_in_schema=False)
def vendor(name: str) -> FileResponse:
    path: Path | None = vendor_file(name)
    if path is None:
        raise NotFound(f"no asset {name}")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/api/meta", tags=["overview"], summary="Signal names, labels, descriptions and colours")
def api_meta(request: Request) -> JSONResponse:
    return JSONResponse({
        "signals": presentation.signal_meta(), "counter_signals": presentation.counter_meta(),
        "model_version": dashboard_of(request).config.model_version,
    })
