"""The HTML pages. Each shows what its /api twin returns (both read `dashboard.screens.Reader`);
charts fetch their data from the API."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from classifier.signals import SIGNAL_INFO, SIGNALS
from classifier.trials import JUDGEMENTS
from dashboard.alert_forms import parse_rule_form
from dashboard.errors import BadRequest, Forbidden, NotFound
from dashboard.figures import ArticleDetail
from dashboard.filters import DOMAIN_SORTS, ArticleFilters
from dashboard.labelling import parse_label_form
from dashboard.params import article_filters, parse_choice, parse_int
from dashboard.security import CSRF_COOKIE, CSRF_FIELD, csrf_tokens_match
from dashboard.serialise import prediction_dict
from dashboard.state import BoardDep, ReaderDep
from dashboard.textview import Mark, diff_versions, evidence_marks, highlight
from storage.alert_rules import RULE_KINDS, AlertRuleError
from storage.alerts import add_rule, remove_rule
from storage.errors import NotFound as StorageNotFound
from storage.labels import add_label
from storage.models import Label

router = APIRouter(include_in_schema=False)
FiltersDep = Annotated[ArticleFilters, Depends(article_filters)]


def query_string(params: dict[str, str]) -> str:
    return ("?" + urlencode(params)) if params else ""


@router.get("/")
def overview(request: Request, board: BoardDep, view: ReaderDep, filters: FiltersDep) -> Response:
    data = view.overview(filters)
    trend_params = query_string(filters.as_params(page=1, sort="hype", order="desc"))
    return board.render(request, "overview.html", {
        "filters": filters, "trend_src": "/api/trends" + trend_params, "sources": view.source_options(),
        "rising": data.trends.rising(), "summary": data.summary, "trends": data.trends,
        "top_domains": data.top_domains, "newest_high_hype": data.newest_high_hype, "health": data.health,
    })


@router.get("/articles")
def articles(request: Request, board: BoardDep, view: ReaderDep, filters: FiltersDep) -> Response:
    page = view.articles(filters)
    return board.render(request, "articles.html", {
        "filters": filters, "result": page, "sources": view.source_options(),
        "export_query": query_string(filters.as_params(page=1)), "api_query": query_string(filters.as_params()),
    })


# ---------------------------------------------------------------- one article, and labelling it
@router.get("/articles/{article_id}")
def article(request: Request, board: BoardDep, view: ReaderDep, article_id: int, version: int | None = None,
            saved: int | None = None) -> Response:
    detail = view.article(article_id, version)
    prediction = prediction_dict(detail.prediction)
    text = detail.version.text
    marks: list[Mark] = []
    if prediction:
        flagged = {n: s["evidence"] for n, s in prediction["signals"].items() if s["flagged"]}
        present = {n: s["evidence"] for n, s in prediction["counter_signals"].items() if s["present"]}
        marks = evidence_marks(text, flagged) + evidence_marks(text, present, counter=True)
    evidence_counts: dict[str, int] = {}
    for mark in marks:
        evidence_counts[mark.name] = evidence_counts.get(mark.name, 0) + 1
    diff = diff_versions(detail.previous_version.text, text) if detail.previous_version else None
    latest_label = detail.labels[0] if detail.labels else None
    return board.render(request, "article.html", {
        "detail": detail, "prediction": prediction, "paragraphs": highlight(text, marks),
        "evidence_counts": evidence_counts, "diff": diff, "saved": bool(saved), "latest_label": latest_label,
        "evidence_choices": [{"name": m.name, "label": SIGNAL_INFO[m.name].label, "start": m.start, "end": m.end,
                              "text": text[m.start:m.end]} for m in marks if not m.counter],
        "form_defaults": _form_defaults(prediction, latest_label, detail.version.id),
        "label_rows": [("relevant", "Relevant")] + [(n, SIGNAL_INFO[n].label) for n in SIGNALS],
        "judgements": JUDGEMENTS,
    })


def _form_defaults(prediction: dict[str, Any] | None, label: Label | None, version_id: int) -> dict[str, str]:
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
async def submit_label(request: Request, board: BoardDep, article_id: int) -> Response:
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not csrf_tokens_match(board.config.secret_key, request.state.user, request.cookies.get(CSRF_COOKIE),
                             token if isinstance(token, str) else None):  # a file upload is no token
        raise Forbidden("The form's security token is missing or stale. Reload the page and submit again.")
    judgement, version_id, author = parse_label_form(form, request.state.user, board.config.username)

    def store() -> ArticleDetail:
        with board.session() as session:
            detail = board.reader(session).article(article_id, version_id)
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
def queue(request: Request, board: BoardDep, view: ReaderDep, filters: FiltersDep) -> Response:
    rows = view.queue(filters, limit=50)
    return board.render(request, "queue.html", {"rows": rows, "filters": filters, "sources": view.source_options()})


# ---------------------------------------------------------------- sources, domains, runs
@router.get("/sources")
def sources(request: Request, board: BoardDep, view: ReaderDep, filters: FiltersDep, domain_sort: str | None = None,
            limit: str | None = None) -> Response:
    sort = parse_choice("domain_sort", domain_sort, DOMAIN_SORTS, "articles")
    shown = parse_int("limit", limit, 100, 1, 100_000)
    domains = view.domains(filters, sort=sort, limit=shown + 1)
    return board.render(request, "sources.html", {
        "sources": view.sources(), "domains": domains[:shown], "more": len(domains) > shown, "limit": shown,
        "domain_sort": sort, "filters": filters,
    })


@router.get("/domains/{name}")
def domain_page(request: Request, board: BoardDep, view: ReaderDep, name: str, filters: FiltersDep) -> Response:
    domain = view.domain(name, filters)
    page = view.articles(replace(domain.filters, per_page=25))
    trend_params = query_string(domain.filters.as_params(page=1, sort="hype", order="desc"))
    return board.render(request, "domain.html", {
        "domain": domain.name, "stats": domain.stats, "result": page, "filters": domain.filters,
        "trend_src": f"/api/trends{trend_params}", "list_query": query_string(domain.filters.as_params(page=1)),
    })


@router.get("/runs")
def runs(request: Request, board: BoardDep, view: ReaderDep, source: str | None = None,
         page: str | None = None) -> Response:
    shown = view.runs(source or None, parse_int("page", page, 1, 1, 1_000_000))
    # The page cannot draw page 7 of 3; the API answers such a request with an empty list.
    if shown.page > shown.pages and shown.total:
        raise BadRequest(f"There are only {shown.pages} pages of runs.")
    return board.render(request, "runs.html", {
        "runs": shown.runs, "total": shown.total, "page": shown.page, "pages": shown.pages,
        "source": shown.source or "", "health": shown.health, "sources": view.source_options(),
    })


# ---------------------------------------------------------------- alerts
@router.get("/alerts")
def alerts(request: Request, board: BoardDep, view: ReaderDep, tested: str | None = None,
           added: str | None = None) -> Response:
    data = view.alerts(board.config.alert_channels)
    outcomes = [o for o in (tested or "").split(",") if o in ("sent", "failed")]
    return board.render(request, "alerts.html", {
        "view": data, "can_test": board.config.send_alert_test is not None, "tested": outcomes,
        "added": (added or "")[:200], "kinds": RULE_KINDS, "signals": [(n, SIGNAL_INFO[n].label) for n in SIGNALS],
        "sources": view.source_options(),
    })


async def _checked_form(request: Request, board: BoardDep):
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not csrf_tokens_match(board.config.secret_key, request.state.user, request.cookies.get(CSRF_COOKIE),
                             token if isinstance(token, str) else None):
        raise Forbidden("The form's security token is missing or stale. Reload the page and submit again.")
    return form


@router.post("/alerts/rules")
async def add_alert_rule(request: Request, board: BoardDep) -> Response:
    """A new rule, from the Alerts page's form or "alert me on this" on the article list."""
    draft = parse_rule_form(await _checked_form(request, board))

    def store() -> str:
        with board.session() as session:
            try:
                return add_rule(session, draft).name
            except AlertRuleError as exc:
                raise BadRequest(str(exc)) from None

    name = await run_in_threadpool(store)
    return RedirectResponse(f"/alerts{query_string({'added': name})}", status_code=303)


@router.post("/alerts/rules/{rule_id}/test")
async def test_alert_rule(request: Request, board: BoardDep, rule_id: int) -> Response:
    """Send the rule's test message to its channels now."""
    await _checked_form(request, board)
    send = board.config.send_alert_test
    if send is None:
        raise BadRequest("This dashboard cannot send messages.")

    def run() -> list[str]:
        try:
            return ["sent" if outcome.ok else "failed" for outcome in send(str(rule_id))]
        except StorageNotFound as exc:
            raise NotFound(str(exc)) from None

    outcomes = await run_in_threadpool(run)
    if not outcomes:
        raise BadRequest("The rule has no channel, and no default channel is set (HYPEWATCH_ALERT_CHANNELS).")
    return RedirectResponse(f"/alerts{query_string({'tested': ','.join(outcomes)})}#rule-{rule_id}", status_code=303)


@router.post("/alerts/rules/{rule_id}/delete")
async def delete_alert_rule(request: Request, board: BoardDep, rule_id: int) -> Response:
    await _checked_form(request, board)

    def remove() -> None:
        with board.session() as session:
            try:
                remove_rule(session, rule_id)
            except StorageNotFound as exc:
                raise NotFound(str(exc)) from None

    await run_in_threadpool(remove)
    return RedirectResponse("/alerts", status_code=303)
@router.get("/trials")
def trials(request: Request, board: BoardDep, view: ReaderDep) -> Response:
    return board.render(request, "trials.html", {"trials": view.trials(), "judgements": JUDGEMENTS})


@router.get("/docs")
def docs(request: Request, board: BoardDep) -> Response:
    return board.render(request, "docs.html", {})
