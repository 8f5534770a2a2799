"""Wiring the dashboard: its secret, its credentials, the sources it lists, and the server.

The dashboard package knows nothing of settings files or the crawler; this module hands it plain
values. Off loopback the dashboard is only started with credentials.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import threading
from pathlib import Path

import uvicorn

from dashboard.app import create_app
from dashboard.facts import snapshot_path
from dashboard.search import index_path
from dashboard.security import is_loopback_host
from dashboard.state import DashboardConfig
from hypewatch.alerting.delivery import send_test
from hypewatch.app import Hypewatch
from hypewatch.cli_crawl import stop_on_signals
from hypewatch.errors import ConfigError

logger = logging.getLogger(__name__)

SECRET_FILE = "dashboard-secret"


def dashboard_secret(home: Path) -> bytes:
    """The key that signs CSRF tokens: made on first use, kept private under HYPEWATCH_HOME."""
    path = home / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    except ValueError:
        raise ConfigError(f"{path} is not a hex-encoded key; delete it to have a new one made") from None
    home.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    partial = path.with_name(f".{SECRET_FILE}.{os.getpid()}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(key.hex())
    try:
        os.link(partial, path)  # fails if another process made the key first: use theirs
    except FileExistsError:
        pass
    finally:
        partial.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())


def check_exposure(host: str, app: Hypewatch) -> None:
    """Refuse a blank password anywhere, and serving beyond loopback without a password."""
    password = app.settings.dashboard_password
    if password is not None and not password.strip():
        raise ConfigError("HYPEWATCH_DASHBOARD_PASSWORD is blank (only white space): set a real password, "
                          "or unset it to serve on loopback without one")
    if not is_loopback_host(host) and not password:
        raise ConfigError(
            f"refusing to serve the dashboard on {host} without credentials: set HYPEWATCH_DASHBOARD_PASSWORD "
            "(and optionally HYPEWATCH_DASHBOARD_USER), or bind to 127.0.0.1"
        )


def configured_sources(app: Hypewatch) -> tuple[tuple[str, str], ...]:
    """(name, kind) of each source in the sources file, or none when there is no readable file."""
    path = app.settings.sources_file
    if not path.is_file():
        return ()
    try:
        from crawler.sources import load_sources

        return tuple((s.name, s.kind) for s in load_sources(path))
    except Exception as exc:  # the dashboard still works; the crawl commands report the file's problems
        logger.warning("sources file %s not listed on the dashboard: %s", path, exc)
        return ()


def build_dashboard(app: Hypewatch):
    settings = app.settings
    config = DashboardConfig(
        secret_key=dashboard_secret(settings.home),
        username=settings.dashboard_user,
        password=settings.dashboard_password,
        model_version=app.registry.current_version(),
        configured_sources=configured_sources(app),
        search_index_path=index_path(settings.home / "cache", settings.database_url),
        alert_channels=settings.alert_channels,
        send_alert_test=functools.partial(send_test, app),
        facts_snapshot_path=snapshot_path(settings.home / "cache", settings.database_url),
    )
    app.database.ensure_schema()
    return create_app(app.database, config)


class DashboardServer:
    """uvicorn in a background thread: `url` once started, `stop()` to end it (tests and the demo)."""

    def __init__(self, asgi_app, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        # The app's lifespan runs its background work (dashboard.abandoned_runs) while it serves.
        self.config = uvicorn.Config(asgi_app, host=host, port=port, log_level=log_level, access_log=False,
                                     lifespan="on")
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="dashboard", daemon=True)

    def start(self, timeout: float = 20.0) -> DashboardServer:
        self.thread.start()
        waited = 0.0
        while not self.server.started:
            if not self.thread.is_alive():
                raise ConfigError(f"the dashboard could not start on {self.config.host}:{self.config.port}")
            if waited > timeout:
                raise ConfigError("the dashboard did not start in time")
            threading.Event().wait(0.05)
            waited += 0.05
        return self

    @property
    def port(self) -> int:
        return self.server.servers[0].sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/"

    def request_stop(self) -> None:
        """Ask uvicorn to finish its requests and stop (safe from a signal handler)."""
        self.server.should_exit = True

    def stop(self) -> None:
        self.request_stop()
        self.thread.join(timeout=10)

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_dashboard(app: Hypewatch, host: str, port: int, *, announce=None) -> None:
    """Serve the dashboard in the foreground until SIGTERM or Ctrl-C, announcing its URL once it listens.

    Either signal stops it cleanly (exit status 0), as a service manager or `docker stop` expects.
    """
    check_exposure(host, app)
    server = DashboardServer(build_dashboard(app), host=host, port=port, log_level="warning")
    server.start()
    try:
        with stop_on_signals(server.request_stop):
            if announce:
                announce(f"dashboard running at {server.url} (Ctrl-C to stop)")
            server.thread.join()
    except KeyboardInterrupt:  # one that came before the handlers were in place
        pass
    finally:
        server.stop()
