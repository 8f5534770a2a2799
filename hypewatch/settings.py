"""hypewatch's configuration: one typed object, built lazily from the environment.

Components never read the environment themselves; they are handed a `Settings` (or the plain
values they need from it). Every variable is documented in the README's Configuration section.

Four things run in parallel, and each has its own name everywhere (settings, CLI flags, README):
- a *worker* is a `hypewatch worker` daemon, one per crawling machine (`hypewatch.worker`);
- a *crawl process* is one `python -m crawler.runner`: one per local crawl run, or one per worker
  taking part in a shared run (HYPEWATCH_CRAWL_HEARTBEAT);
- *extraction processes* extract and score pages for one crawl process
  (HYPEWATCH_EXTRACTION_PROCESSES);
- *parallel crawls* are the scheduled crawls running at once (`hypewatch schedule --parallel`).
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from hypewatch.errors import ConfigError

logger = logging.getLogger(__name__)

# Variables renamed when "worker" came to mean only `hypewatch worker`: the old names still work.
RENAMED = {"HYPEWATCH_CRAWL_HEARTBEAT": "HYPEWATCH_CRAWL_HEARTBEAT",
           "HYPEWATCH_EXTRACTION_PROCESSES": "HYPEWATCH_CRAWL_WORKERS"}

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REDIS_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
PARALLEL_CRAWLS = 2  # scheduled crawls running at once, by default (each with its own extraction processes)
DEFAULT_USER_AGENT = "hypewatch/0.1 (+https://github.com/hypewatch/hypewatch; health-misinformation monitor)"
DEFAULT_REGISTRY_URL = "https://clinicaltrials.gov"
DEFAULT_ISRCTN_URL = "https://www.isrctn.com"
REGISTRY_OFF = "off"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    seeds_dir: Path
    sources_file: Path
    redis_url: str | None = None  # set: crawls go through the shared Redis frontier (hypewatch worker)
    redis_prefix: str = "hypewatch"  # of every Redis key, so several deployments can share one server
    crawl_heartbeat: float = 30.0  # a crawl process of a shared run silent this long is lost; its requests are queued again
    dashboard_password: str | None = None
    dashboard_user: str = "analyst"
    user_agent: str = DEFAULT_USER_AGENT
    fetch_timeout: float = 20.0
    max_download_bytes: int = 10 * 1024 * 1024
    crawl_timeout: float = 3600.0
    extraction_processes: int = 0  # processes extracting and scoring pages for a crawl process; 0: one per CPU
    misfire_grace_time: float = 3600.0  # a scheduled crawl missed by less than this still runs (once)
    # Apprise URLs alerts go to when a rule names none (they may hold secrets: never shown)
    alert_channels: tuple[str, ...] = field(default=(), repr=False)
    dashboard_url: str = "http://127.0.0.1:8000"  # where alert messages link an article's dashboard page
    alert_attempts: int = 5  # a message that failed this many times is recorded failed
    alert_retry_seconds: float = 60.0  # wait before the first retry; doubled at each one after
    alert_daily_hour: int = 8  # the hour (UTC) daily digests go out
    registry_url: str | None = DEFAULT_REGISTRY_URL  # ClinicalTrials.gov API v2's base; None: never asked
    isrctn_url: str | None = DEFAULT_ISRCTN_URL  # the ISRCTN registry's query API base; None: never asked
    registry_rate: str = "20/minute"  # requests to each registry at most (a `limits` rate)
    registry_max_age: float = 7.0  # days before a cached registry record is fetched again
    registry_refresh: str | None = "30 3 * * *"  # cron (UTC) of the scheduler's registry refresh; None: off

    @property
    def model_dir(self) -> Path:
        return self.home / "models"

    @property
    def real_dir(self) -> Path:
        """The real-page development set (`classifier.realset`)."""
        return self.seeds_dir / "real"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_overrides(self, **changes) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        environ = _with_renamed(environ)
        home = Path(environ.get("HYPEWATCH_HOME") or platformdirs.user_data_dir("hypewatch")).expanduser()
        seeds = Path(environ.get("HYPEWATCH_SEEDS") or PROJECT_ROOT / "seeds").expanduser()
        return cls(
            home=home,
            database_url=environ.get("HYPEWATCH_DATABASE_URL") or f"sqlite:///{home / 'hypewatch.db'}",
            seeds_dir=seeds,
            sources_file=Path(environ.get("HYPEWATCH_SOURCES") or seeds / "sources.toml").expanduser(),
            redis_url=environ.get("HYPEWATCH_REDIS_URL") or None,
            redis_prefix=_redis_prefix(environ),
            crawl_heartbeat=_number(environ, "HYPEWATCH_CRAWL_HEARTBEAT", 30.0),
            dashboard_password=environ.get("HYPEWATCH_DASHBOARD_PASSWORD") or None,
            dashboard_user=environ.get("HYPEWATCH_DASHBOARD_USER") or "analyst",
            user_agent=environ.get("HYPEWATCH_USER_AGENT") or DEFAULT_USER_AGENT,
            fetch_timeout=_number(environ, "HYPEWATCH_FETCH_TIMEOUT", 20.0),
            max_download_bytes=int(_number(environ, "HYPEWATCH_MAX_DOWNLOAD_BYTES", 10 * 1024 * 1024)),
            crawl_timeout=_number(environ, "HYPEWATCH_CRAWL_TIMEOUT", 3600.0),
            extraction_processes=int(_number(environ, "HYPEWATCH_EXTRACTION_PROCESSES", 0, allow_zero=True)),
            misfire_grace_time=_number(environ, "HYPEWATCH_MISFIRE_GRACE_TIME", 3600.0),
            alert_channels=tuple((environ.get("HYPEWATCH_ALERT_CHANNELS") or "").split()),
            dashboard_url=(environ.get("HYPEWATCH_DASHBOARD_URL") or "http://127.0.0.1:8000").rstrip("/"),
            alert_attempts=int(_number(environ, "HYPEWATCH_ALERT_ATTEMPTS", 5)),
            alert_retry_seconds=_number(environ, "HYPEWATCH_ALERT_RETRY_SECONDS", 60.0),
            alert_daily_hour=int(_number(environ, "HYPEWATCH_ALERT_DAILY_HOUR", 8, allow_zero=True)) % 24,
            registry_url=_registry_url(environ),
            isrctn_url=_registry_url(environ, "HYPEWATCH_ISRCTN_URL", DEFAULT_ISRCTN_URL),
            registry_rate=_rate(environ, "HYPEWATCH_REGISTRY_RATE", "20/minute"),
            registry_max_age=_number(environ, "HYPEWATCH_REGISTRY_MAX_AGE", 7.0),
            registry_refresh=_cron(environ, "HYPEWATCH_REGISTRY_REFRESH", "30 3 * * *"),
        )


def _with_renamed(environ: Mapping[str, str]) -> Mapping[str, str]:
    """`environ` with each renamed variable read from its old name when only that one is set."""
    found = {new: environ[old] for new, old in RENAMED.items() if old in environ and new not in environ}
    for new in found:
        logger.warning("%s is now called %s; please rename it", RENAMED[new], new)
    return {**environ, **found} if found else environ


def _redis_prefix(environ: Mapping[str, str]) -> str:
    prefix = environ.get("HYPEWATCH_REDIS_PREFIX") or "hypewatch"
    if not REDIS_PREFIX.fullmatch(prefix):
        raise ConfigError(f"HYPEWATCH_REDIS_PREFIX must be letters, digits, '_', '-', '.' or ':', got {prefix!r}")
    return prefix


def _registry_url(environ: Mapping[str, str], name: str = "HYPEWATCH_REGISTRY_URL",
                  default: str = DEFAULT_REGISTRY_URL) -> str | None:
    raw = (environ.get(name) or default).strip()
    if raw.lower() == REGISTRY_OFF:
        return None
    if not re.fullmatch(r"https?://[^\s/?#]+(?:/[^\s?#]*)?", raw):
        raise ConfigError(f"{name} must be an http(s) base URL or {REGISTRY_OFF!r}, got {raw!r}")
    return raw.rstrip("/")


def _cron(environ: Mapping[str, str], name: str, default: str) -> str | None:
    """A crontab expression (UTC; five fields, or six with seconds first), or None for `off`."""
    raw = " ".join((environ.get(name) or default).split())
    if raw.lower() == REGISTRY_OFF:
        return None
    # The fields' values are checked when the scheduler builds the trigger (APScheduler is not
    # imported here: every command reads the settings).
    if len(raw.split()) not in (5, 6):
        raise ConfigError(f"{name} must be a crontab expression (5 fields) or {REGISTRY_OFF!r}, got {raw!r}")
    return raw


def _rate(environ: Mapping[str, str], name: str, default: str) -> str:
    from limits import parse

    raw = environ.get(name) or default
    try:
        parse(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a rate like '20/minute', got {raw!r}") from None
    return raw


def _number(environ: Mapping[str, str], name: str, default: float, *, allow_zero: bool = False) -> float:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name} must be {'zero or more' if allow_zero else 'positive'}, got {raw!r}")
    return value


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings.from_environ(os.environ)
