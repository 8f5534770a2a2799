"""The dashboard application: FastAPI, Jinja2 pages, a JSON API, the exports and the assets they need.

`create_app(database, config)` builds it: it makes the `dashboard.state.Dashboard` the routes
share and mounts the routers (`pages`, `api`, `exports`); while it runs (its lifespan), crawl runs
whose process is gone are marked failed in the background (`dashboard.abandoned_runs`). Security (credentials, content policy,
CSRF) is applied here for every route, and every error, from any route, is rendered here: as
JSON under /api and /export, as an HTML page elsewhere.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from dashboard import api, exports, pages
from dashboard.abandoned_runs import AbandonedRunSweeper
from dashboard.errors import DashboardError
from dashboard.security import (
    CSRF_COOKIE,
    SECURITY_HEADERS,
    basic_auth_user,
    csrf_token_is_valid,
    is_cross_origin_write,
    new_csrf_token,
)
from dashboard.state import Dashboard, DashboardConfig, board_of
from dashboard.throttle import SignInThrottle
from storage.db import Database

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
OPEN_PATHS = ("/healthz",)


def create_app(database: Database, config: DashboardConfig, *, warm_up: bool = True) -> FastAPI:
    board = Dashboard(database, config)
    sweeper = AbandonedRunSweeper(board.end_abandoned_runs, config.abandoned_runs_every)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweeper.start()
        try:
            yield
        finally:
            sweeper.stop()

    app = FastAPI(
        title="hypewatch dashboard API",
        version="1",
        description="Trends, sources, crawl runs and scored articles about stem-cell therapy for MS. "
                    "Every page of the dashboard reads from these endpoints.",
        docs_url=None,  # served by our own page: the stock one loads scripts from a CDN and inline
        redoc_url=None,
        lifespan=lifespan,
    )
    # The Swagger UI that ships in a Python package (4.x) reads OpenAPI 3.0; the schema uses
    # nothing 3.1 adds beyond nullable parameters, which it shows as strings.
    app.openapi_version = "3.0.3"
    app.state.dashboard = board
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    _install_security(app, config)
    _install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api.router)
    app.include_router(exports.router)
    app.include_router(pages.router)
    if warm_up:
        threading.Thread(target=board.warm_up, name="dashboard-warm-up", daemon=True).start()
    return app


# ---------------------------------------------------------------- security
def _install_security(app: FastAPI, config: DashboardConfig) -> None:
    throttle = SignInThrottle()

    @app.middleware("http")
    async def secure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.user = None
        if config.requires_login and request.url.path not in OPEN_PATHS:
            client = request.client.host if request.client else "unknown"
            header = request.headers.get("authorization")
            refusal = throttle.refusal(client) if header else None
            if refusal is not None:
                return _with_headers(Response(refusal.message, status_code=429, media_type="text/plain",
                                              headers={"Retry-After": str(refusal.retry_after)}))
            user = basic_auth_user(header, config.username, config.password or "")
            if user is None:
                if header:
                    throttle.failed(client)
                return _with_headers(Response(
                    "Sign in with the dashboard's user name and password.", status_code=401,
                    headers={"WWW-Authenticate": 'Basic realm="hypewatch", charset="UTF-8"'}, media_type="text/plain",
                ))
            throttle.succeeded(client)
            request.state.user = user
        if is_cross_origin_write(request.method, request.headers.get("sec-fetch-site")):
            return _with_headers(render_error(request, 403, "Forbidden",
                                              "A form sent from another site (or another port of this host) is refused."))
        token = request.cookies.get(CSRF_COOKIE)
        user = request.state.user
        fresh = None if csrf_token_is_valid(config.secret_key, user, token) else new_csrf_token(config.secret_key, user)
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
    return board_of(request).render(request, "error.html", {"status": status, "title": title, "message": message},
                                    status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DashboardError)
    async def dashboard_error(request: Request, exc: DashboardError) -> Response:
        return render_error(request, exc.status_code, exc.title, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return render_error(request, 400, "Bad request", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed"}
        return render_error(request, exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("dashboard error on %s", request.url.path)
        return render_error(request, 500, "Something went wrong",
                            "The dashboard hit an unexpected error; the details are in its log.")
