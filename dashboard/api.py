"""The JSON API behind every page, and the assets served from installed packages.

Every screen of the dashboard has an endpoint here returning the same data as its page (both
read it from `dashboard.screens.Reader`); the charts' script reads them. OpenAPI: /openapi.json,
browsable at /docs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import text

from dashboard import presentation, serialise
from dashboard.errors import NotFound
from dashboard.filters import DOMAIN_SORTS, ArticleFilters
from dashboard.params import article_filters, parse_choice, parse_int
from dashboard.state import BoardDep, ReaderDep, SessionDep
from dashboard.vendor import vendor_file

router = APIRouter()
FiltersDep = Annotated[ArticleFilters, Depends(article_filters)]


# ---------------------------------------------------------------- health
@router.get("/healthz", tags=["health"], summary="Liveness and database check (no credentials needed)")
def healthz(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


# ---------------------------------------------------------------- overview and trends
@router.get("/api/overview", tags=["overview"], summary="Everything the overview page shows")
def api_overview(view: ReaderDep, filters: FiltersDep) -> dict[str, Any]:
    return serialise.overview_json(view.overview(filters))


@router.get("/api/trends", tags=["overview"], summary="Weekly series: relevant articles, mean hype, share per signal")
def api_trends(view: ReaderDep, filters: FiltersDep) -> dict[str, Any]:
    return serialise.trends_json(view.trends(filters))


# ---------------------------------------------------------------- articles
@router.get("/api/articles", tags=["articles"], summary="A filtered, sorted page of articles")
def api_articles(view: ReaderDep, filters: FiltersDep) -> dict[str, Any]:
    return serialise.article_page_json(view.articles(filters))


@router.get("/api/articles/{article_id}", tags=["articles"],
            summary="One article: text, prediction with evidence offsets, versions and labels")
def api_article(view: ReaderDep, article_id: int,
                version: Annotated[int | None, Query(description="A version id (default: the current one).")] = None
                ) -> dict[str, Any]:
    return serialise.article_json(view.article(article_id, version))


@router.get("/api/queue", tags=["labelling"], summary="Unlabelled articles where the model is least certain")
def api_queue(view: ReaderDep, filters: FiltersDep,
              limit: Annotated[str | None, Query(description="How many (1-200, default 50).")] = None) -> dict[str, Any]:
    return serialise.queue_json(view.queue(filters, parse_int("limit", limit, 50, 1, 200)))


# ---------------------------------------------------------------- sources, domains, runs
@router.get("/api/sources", tags=["sources"], summary="Per configured source: articles, hype, signal rates, last run")
def api_sources(view: ReaderDep) -> dict[str, Any]:
    return {"sources": [s.to_dict() for s in view.sources()]}


@router.get("/api/domains", tags=["sources"], summary="Per domain: articles, mean hype, signal rates, silent flag")
def api_domains(view: ReaderDep, filters: FiltersDep,
                domain_sort: Annotated[str | None, Query(description="articles (default), mean_hype, relevant, "
                                                                      "name or last_seen.")] = None,
                limit: Annotated[str | None, Query(description="At most this many (default 200).")] = None
                ) -> dict[str, Any]:
    sort = parse_choice("domain_sort", domain_sort, DOMAIN_SORTS, "articles")
    rows = view.domains(filters, sort=sort, limit=parse_int("limit", limit, 200, 1, 100_000))
    return {"domains": [d.to_dict() for d in rows]}


@router.get("/api/domains/{name}", tags=["sources"], summary="One domain's figures and weekly trend")
def api_domain(view: ReaderDep, name: str, filters: FiltersDep) -> dict[str, Any]:
    domain = view.domain(name, filters)
    if domain.stats is None:  # the payload is the domain's figures: none under these filters is a 404 here
        raise NotFound(f"no articles from {name}")
    return {"domain": domain.stats.to_dict(), "trends": serialise.trends_json(view.trends(domain.filters))}


@router.get("/api/runs", tags=["crawls"], summary="Crawl runs, newest first, with their stats and errors")
def api_runs(view: ReaderDep,
             source: Annotated[str | None, Query(description="Only this source's runs.")] = None,
             page: Annotated[str | None, Query(description="Page number, from 1.")] = None) -> dict[str, Any]:
    return serialise.runs_json(view.runs(source or None, parse_int("page", page, 1, 1, 1_000_000)))


@router.get("/api/alerts", tags=["alerts"],
            summary="Alert rules (channels masked), default channels, recent events with their delivery status")
def api_alerts(board: BoardDep, view: ReaderDep,
               limit: Annotated[str | None, Query(description="Recent events shown (1-1000).")] = None
               ) -> dict[str, Any]:
    return serialise.alerts_json(view.alerts(board.config.alert_channels, parse_int("limit", limit, 100, 1, 1000)))
@router.get("/api/trials", tags=["trials"],
            summary="Every cited trial: its registry record, and each citing page with its judgements")
def api_trials(view: ReaderDep) -> dict[str, Any]:
    return {"trials": [row.to_dict() for row in view.trials()]}


@router.get("/api/meta", tags=["overview"], summary="Signal names, labels, descriptions and colours")
def api_meta(board: BoardDep) -> JSONResponse:
    return JSONResponse({
        "signals": presentation.signal_meta(), "counter_signals": presentation.counter_meta(),
        "model_version": board.config.model_version,
    })


# ---------------------------------------------------------------- third-party assets, served by the app
@router.get("/vendor/{name:path}", include_in_schema=False)
def vendor(name: str) -> FileResponse:
    path = vendor_file(name)
    if path is None:
        raise NotFound(f"no asset {name}")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})
