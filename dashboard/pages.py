"""The HTML pages. Each reads what its /api twin returns; charts fetch their data from the API."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from classifier.signals import SIGNAL_INFO, SIGNALS
from dashboard import queries
from dashboard.api import dashboard_of, reader
from dashboard.app import base_context, iter_session
from dashboard.errors import BadRequest, Forbidden, NotFound
from dashboard.labelling import parse_label_form
from dashboard.params import article_filters, parse_choice, parse_int
from dashboard.queries import ArticleFilters
from dashboard.security import CSRF_COOKIE, CSRF_FIELD, csrf_tokens_match
from dashboard.textview import diff_versions, evidence_marks, highlight
from storage.labels import add_label

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(iter_session)]
FiltersDep = Annotated[ArticleFilters, Depends(article_filters)]


def render(request: Request, template: str, **context: Any) -> Response:
    return request.app.state.templates.TemplateResponse(request, template, {**base_context(request), **context})


def query_string(params: dict[str, str]) -> str:
    return ("?" + urlencode(params)) if params else ""


def _source_options(request: Request, session: Session) -> list[str]:
    names = set(queries.source_names(session)) | {n for n, _ in dashboard_of(request).config.configured_sources}
    return sorted(names)


@router.get("/")
def overview(request: Request, session: SessionDep, filters: FiltersDep) -> Response:
    data = reader(request, session).overview(filters)
    trend_params = query_string(filters.as_params(page=1, sort="hype", order="desc"))
    return render(request, "overview.html", filters=filters, trend_src="/api/trends" + trend_params,
                  sources=_source_options(request, session), rising=_rising(data["trends"]), **data)


def _rising(trends: queries.Trends, weeks: int = 4) -> dict[str, Any] | None:
    """Mean hype of the last `weeks` weeks with data against the `weeks` before them."""
    points = [(n, h) for n, h in zip(trends.articles, trends.mean_hype, strict=True) if n]
    if len(points) < 2 * weeks:
        return None

    def mean(chunk):
        total = sum(n for n, _ in chunk)
        return sum(n * h for n, h in chunk) / total if total else None

    recent, before = mean(points[-weeks:]), mean(points[-2 * weeks:-weeks])
    if recent is None or before is None:
        return None
    return {"recent": round(recent, 1), "before": round(before, 1), "change": round(recent - before, 1)}


@router.get("/articles")
def articles(request: Request, session: SessionDep, filters: FiltersDep) -> Response:
    page = reader(request, session).articles(filters)
    return render(request, "articles.html", filters=filters, result=page, sources=_source_options(request, session),
                  export_query=query_string(filters.as_params(page=1)),
                  api_query=query_string(filters.as_params()))


@router.get("/articles/{article_id}")
def article(request: Request, session: SessionDep, article_id: int, version: int | None = None,
            saved: int | None = None) -> Response:
    detail = queries.article_detail(session, article_id, version)
    if detail is None:
        raise NotFound(f"There is no article {article_id}" + (f" with version {version}." if version else "."))
    prediction = queries.prediction_dict(detail.prediction)
    text = detail.version.text
    marks = []
    if prediction:
        flagged = {n: s["evidence"] for n, s in prediction["signals"].items() if s["flagged"]}
        present = {n: s["evidence"] for n, s in prediction["counter_signals"].items() if s["present"]}
        marks = evidence_marks(text, flagged) + evidence_marks(text, present, counter=True)
    evidence_counts = {}
    for mark in marks:
        evidence_counts[mark.name] = evidence_counts.get(mark.name, 0) + 1
    diff = diff_versions(detail.previous_version.text, text) if detail.previous_version else None
    latest_label = detail.labels[0] if detail.labels else None
    return render(
        request, "article.html", detail=detail, prediction=prediction, paragraphs=highlight(text, marks),
        evidence_counts=evidence_counts, diff=diff, saved=bool(saved), latest_label=latest_label,
        evidence_choices=[{"name": m.name, "label": SIGNAL_INFO[m.name].label, "start": m.start, "end": m.end,
                           "text": text[m.start:m.end]} for m in marks if not m.counter],
        form_defaults=_form_defaults(prediction, latest_label, detail.version.id),
        label_rows=[("relevant", "Relevant")] + [(n, SIGNAL_INFO[n].label) for n in SIGNALS],
    )


def _form_defaults(prediction: dict | None, label, version_id: int) -> dict[str, str]:
    """Pre-select the analyst's last judgement of this version, else the model's, so confirming is one click."""
    defaults: dict[str, str] = {}
    own = label if label is not None and label.version_id == version_id else None
    for name in ("relevant", *SIGNALS):
        value = getattr(own, name) if own is not None else None
        if value is None and prediction:
            value = prediction["relevant"] if name == "relevant" else prediction["signals"][name]["flagged"]
        defaults[name] = "" if value is None else ("yes" if value else "no")
    defaults["hype"] = "" if own is None or own.hype is None else str(own.hype)
    return defaults


@router.post("/articles/{article_id}/labels")
async def submit_label(request: Request, article_id: int) -> Response:
    form = await request.form()
    board = dashboard_of(request)
    if not csrf_tokens_match(board.config.secret_key, request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)):
        raise Forbidden("The form's security token is missing or stale. Reload the page and submit again.")
    judgement, version_id, author = parse_label_form(form, request.state.user, board.config.username)

    def store() -> queries.ArticleDetail:
        with board.session() as session:
            detail = queries.article_detail(session, article_id, version_id)
            if detail is None:
                raise NotFound(f"There is no article {article_id} with version {version_id}.")
            spans = [span for spans in (judgement["evidence"] or {}).values() for span in spans]
            if any(end > len(detail.version.text) for _, end in spans):
                raise BadRequest("An evidence mark lies outside this version's text.")
            add_label(session, version_id, author, **judgement)
            return detail

    detail = await run_in_threadpool(store)
    board.changed()
    params = {"saved": "1"} | ({} if detail.is_current else {"version": str(version_id)})
    return RedirectResponse(f"/articles/{article_id}{query_string(params)}#labels", status_code=303)


@router.get("/queue")
def queue(request: Request, session: SessionDep, filters: FiltersDep) -> Response:
    rows = reader(request, session).queue(filters, limit=50)
    return render(request, "queue.html", rows=rows, filters=filters, sources=_source_options(request, session))


@router.get("/sources")
def sources(request: Request, session: SessionDep, filters: FiltersDep, domain_sort: str | None = None,
            limit: str | None = None) -> Response:
    sort = parse_choice("domain_sort", domain_sort, queries.DOMAIN_SORTS, "articles")
    shown = parse_int("limit", limit, 100, 1, 100_000)
    view = reader(request, session)
    domains = view.domains(filters, sort=sort, limit=shown + 1)
    return render(request, "sources.html", sources=view.sources(), domains=domains[:shown],
                  more=len(domains) > shown, limit=shown, domain_sort=sort, filters=filters)


@router.get("/domains/{name}")
def domain_page(request: Request, session: SessionDep, name: str, filters: FiltersDep) -> Response:
    domain = name
    narrowed = replace(filters, domain=domain)
    view = reader(request, session)
    if not view.domain_exists(domain):
        raise NotFound(f"No articles from {domain} are stored.")
    stats = view.domains(replace(narrowed, relevance="all"))
    page = view.articles(replace(narrowed, per_page=25))
    trend_params = query_string(narrowed.as_params(page=1, sort="hype", order="desc"))
    return render(request, "domain.html", domain=domain, stats=stats[0] if stats else None, result=page,
                  filters=narrowed, trend_src=f"/api/trends{trend_params}",
                  list_query=query_string(narrowed.as_params(page=1)))


@router.get("/runs")
def runs(request: Request, session: SessionDep, source: str | None = None, page: str | None = None) -> Response:
    number = parse_int("page", page, 1, 1, 1_000_000)
    rows, total = queries.list_runs(session, source=source or None, page=number)
    health = queries.crawl_health(session)
    pages = max(1, -(-total // 50))
    if number > pages and total:
        raise BadRequest(f"There are only {pages} pages of runs.")
    return render(request, "runs.html", runs=rows, total=total, page=number, pages=pages, source=source or "",
                  health=health, sources=_source_options(request, session))


@router.get("/docs")
def docs(request: Request) -> Response:
    return render(request, "docs.html")
