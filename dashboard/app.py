"""The dashboard application: FastAPI, Jinja2 pages, a JSON API and the assets they need.

`create_app(database, config)` builds it. Security (credentials, content policy, CSRF) is applied
here for every route, and every error, from any route, is rendered here: as JSON under /api and
/export, as an HTML page elsewhere.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from dashboard import presentation
from dashboard.cache import AggregateCache
from dashboard.errors import DashboardError
from dashboard.facts import Facts, FactStore, read_stamp
from dashboard.search import SearchIndex
from dashboard.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SECURITY_HEADERS,
    basic_auth_user,
    csrf_token_is_signed,
    new_csrf_token,
    safe_link,
)
from dashboard.service import Reader
from storage.db import Database

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
OPEN_PATHS = ("/healthz",)


@dataclass(frozen=True)
class DashboardConfig:
    """What the dashboard is handed by the wiring (`hypewatch.serving`)."""

    secret_key: bytes
    username: str = "analyst"
    password: str | None = None
    model_version: str | None = None
    configured_sources: tuple[tuple[str, str], ...] = ()
    search_index_path: Path | None = None  # None: the search index lives in memory

    @property
    def requires_login(self) -> bool:
        return bool(self.password)


class Dashboard:
    """The state every route shares: the database, the configuration, the facts and a small cache."""

    def __init__(self, database: Database, config: DashboardConfig):
        self.database = database
        self.config = config
        self.cache = AggregateCache()
        self.fact_store = FactStore()
        self.search_index = SearchIndex(config.search_index_path)

    def session(self):
        return self.database.session()

    def facts(self, session: Session) -> Facts:
        """The facts as of the database's current stamp (read at most every few seconds)."""
        stamp = self.cache.stamp(lambda: read_stamp(session))
        return self.fact_store.current(session, stamp)

    def reader(self, session: Session) -> Reader:
        return Reader(self, session)

    def changed(self) -> None:
        """Something was written: look at the database again on the next request."""
        self.cache.invalidate()

    def warm_up(self) -> None:
        """Load the facts now (in a background thread at start), so the first analyst does not wait."""
        try:
            with self.session() as session:
                facts = self.facts(session)
            # The search index is filled a batch per transaction, so requests are never held up.
            while True:
                with self.session() as session:
                    if self.search_index.sync(session, facts.stamp.versions, max_batches=1):
                        break
        except Exception:  # the first request will load them, and report any error properly
            logger.exception("could not load the dashboard's figures or search index in advance")


def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=True,  # every value is escaped unless a template says otherwise (none does)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_link"] = safe_link
    env.filters["percent"] = presentation.percent
    env.filters["hype_band"] = presentation.hype_band
    env.filters["date"] = _format_date
    env.filters["datetime"] = _format_datetime
    env.filters["thousands"] = lambda n: "–" if n is None else f"{n:,}"
    env.globals["SIGNALS"] = presentation.signal_meta()
    env.globals["COUNTERS"] = presentation.counter_meta()
    env.globals["SIGNAL_LABEL"] = {s["name"]: s["label"] for s in env.globals["SIGNALS"] + env.globals["COUNTERS"]}
    env.filters["signal_labels"] = lambda names: ", ".join(env.globals["SIGNAL_LABEL"].get(n, n) for n in names)
    return env


def _format_date(value) -> str:
    if not value:
        return "–"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    return value.strftime("%d %b %Y")


def _format_datetime(value) -> str:
    if not value:
        return "–"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(dt.UTC).strftime("%d %b %Y %H:%M UTC")


def create_app(database: Database, config: DashboardConfig, *, warm_up: bool = True) -> FastAPI:
    app = FastAPI(
        title="hypewatch dashboard API",
        version="1",
        description="Trends, sources, crawl runs and scored articles about stem-cell therapy for MS. "
                    "Every page of the dashboard reads from these endpoints.",
        docs_url=None,  # served by our own page: the stock one loads scripts from a CDN and inline
        redoc_url=None,
    )
    # The Swagger UI that ships in a Python package (4.x) reads OpenAPI 3.0; the schema uses
    # nothing 3.1 adds beyond nullable parameters, which it shows as strings.
    app.openapi_version = "3.0.3"
    app.state.dashboard = Dashboard(database, config)
    app.state.templates = Jinja2Templates(env=template_environment())
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    _install_security(app, config)
    _install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")

    from dashboard import api, pages

    app.include_router(api.router)
    app.include_router(pages.router)
    if warm_up:
        threading.Thread(target=app.state.dashboard.warm_up, name="dashboard-warm-up", daemon=True).start()
    return app


# ---------------------------------------------------------------- security
def _install_security(app: FastAPI, config: DashboardConfig) -> None:
    @app.middleware("http")
    async def secure(request: Request, call_next):
        request.state.user = None
        if config.requires_login and request.url.path not in OPEN_PATHS:
            user = basic_auth_user(request.headers.get("authorization"), config.username, config.password or "")
            if user is None:
                return _with_headers(Response(
                    "Sign in with the dashboard's user name and password.", status_code=401,
                    headers={"WWW-Authenticate": 'Basic realm="hypewatch", charset="UTF-8"'}, media_type="text/plain",
                ))
            request.state.user = user
        token = request.cookies.get(CSRF_COOKIE)
        fresh = None if csrf_token_is_signed(config.secret_key, token) else new_csrf_token(config.secret_key)
        request.state.csrf_token = fresh or token
        response = await call_next(request)
        if fresh:
            response.set_cookie(CSRF_COOKIE, fresh, httponly=True, samesite="strict", path="/",
                                secure=request.url.scheme == "https")
        return _with_headers(response)


def _with_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if "cache-control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- errors, rendered here only
def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/export/")) or path in ("/healthz", "/openapi.json")


def render_error(request: Request, status: int, title: str, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": title, "detail": message}, status_code=status)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "title": title, "message": message, **base_context(request)},
        status_code=status,
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DashboardError)
    async def dashboard_error(request: Request, exc: DashboardError):
        return render_error(request, exc.status_code, exc.title, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return render_error(request, 400, "Bad request", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        titles = {404: "Not found", 405: "Method not allowed"}
        return render_error(request, exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        logger.exception("dashboard error on %s", request.url.path)
        return render_error(request, 500, "Something went wrong",
                            "The dashboard hit an unexpected error; the details are in its log.")


def base_context(request: Request) -> dict[str, Any]:
    dashboard: Dashboard = request.app.state.dashboard
    return {
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "csrf_field": CSRF_FIELD,
        "user": getattr(request.state, "user", None),
        "requires_login": dashboard.config.requires_login,
        "model_version": dashboard.config.model_version,
        "path": request.url.path,
    }


def iter_session(request: Request) -> Iterator[Session]:
    """A read session per request (FastAPI dependency)."""
    with request.app.state.dashboard.session() as session:
        yield session
