"""The dashboard's state and its dependencies, handed to every route.

`create_app` makes one `Dashboard` and keeps it at `app.state.dashboard` (as Datasette passes its
instance into its views): the configuration, the database and its sessions, the in-memory facts,
the search index, the cache, and the templates. Routes reach it through the FastAPI dependencies
defined here (`BoardDep`, `SessionDep`, `ReaderDep`), never through the app factory, so the
route modules import this module and nothing imports them but `dashboard.app`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from dashboard.abandoned_runs import SWEEP_SECONDS
from dashboard.cache import AggregateCache
from dashboard.facts import Facts, FactStore, read_stamp
from dashboard.rendering import template_environment
from dashboard.screens import Reader
from dashboard.search import SearchIndex
from dashboard.security import CSRF_FIELD
from storage.alerts import SendOutcome
from storage.db import Database
from storage.runs import abandon_stale_runs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DashboardConfig:
    """What the dashboard is handed by the wiring (`hypewatch.serving`)."""

    secret_key: bytes
    username: str = "analyst"
    password: str | None = None
    model_version: str | None = None
    configured_sources: tuple[tuple[str, str], ...] = ()
    search_index_path: Path | None = None  # None: the search index lives in memory
    facts_snapshot_path: Path | None = None  # None: the figures are read in full at every start
    abandoned_runs_every: float = SWEEP_SECONDS  # how often runs whose process is gone are marked failed
    # Alerts: the channels a rule without its own goes to (shown masked), and how to send a rule's
    # test message (the wiring hands it in: sending is not the dashboard's; None: no test button).
    alert_channels: tuple[str, ...] = field(default=(), repr=False)
    send_alert_test: Callable[[str], Sequence[SendOutcome]] | None = None

    @property
    def requires_login(self) -> bool:
        return bool(self.password)


class Dashboard:
    """The state every route shares: the database, the configuration, the facts, a small cache,
    the search index and the templates."""

    def __init__(self, database: Database, config: DashboardConfig):
        self.database = database
        self.config = config
        self.cache = AggregateCache()
        self.fact_store = FactStore(config.facts_snapshot_path)
        self.search_index = SearchIndex(config.search_index_path)
        self.templates = Jinja2Templates(env=template_environment())

    def session(self) -> AbstractContextManager[Session]:
        return self.database.session()

    def facts(self, session: Session) -> Facts:
        """The facts as of the database's current stamp (read at most every few seconds)."""
        stamp = self.cache.stamp(lambda: read_stamp(session))
        return self.fact_store.current(session, stamp)

    def reader(self, session: Session) -> Reader:
        """What the screens read, through this session."""
        return Reader(session, load_facts=lambda: self.facts(session), cache=self.cache,
                      search_index=self.search_index, configured_sources=self.config.configured_sources)

    def changed(self) -> None:
        """Something was written: look at the database again on the next request."""
        self.cache.invalidate()

    def end_abandoned_runs(self) -> int:
        """Mark the crawl runs whose process is gone as failed (`dashboard.abandoned_runs`): the
        dashboard's only write outside a POST."""
        with self.session() as session:
            ended = abandon_stale_runs(session)
        if ended:
            self.changed()
        return ended

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

    # ---------------------------------------------------------------- rendering
    def page_context(self, request: Request) -> dict[str, Any]:
        """What every page's template is given besides its own data."""
        return {
            "csrf_token": getattr(request.state, "csrf_token", ""),
            "csrf_field": CSRF_FIELD,
            "user": getattr(request.state, "user", None),
            "requires_login": self.config.requires_login,
            "model_version": self.config.model_version,
            "path": request.url.path,
        }

    def render(self, request: Request, template: str, context: Mapping[str, Any], *, status_code: int = 200) -> Response:
        return self.templates.TemplateResponse(request, template, {**self.page_context(request), **context},
                                               status_code=status_code)


# ---------------------------------------------------------------- FastAPI dependencies
def board_of(request: Request) -> Dashboard:
    return request.app.state.dashboard


def iter_session(request: Request) -> Iterator[Session]:
    """A read session per request (sync: FastAPI opens it in a worker thread)."""
    with board_of(request).session() as session:
        yield session


# The two below do no I/O: `async` keeps FastAPI from handing each to a worker thread.
async def _board(request: Request) -> Dashboard:
    return board_of(request)


async def _reader(request: Request, session: Annotated[Session, Depends(iter_session)]) -> Reader:
    return board_of(request).reader(session)


BoardDep = Annotated[Dashboard, Depends(_board)]
SessionDep = Annotated[Session, Depends(iter_session)]
ReaderDep = Annotated[Reader, Depends(_reader)]
