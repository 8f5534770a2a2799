"""hypewatch's configuration: one typed object, built lazily from the environment.

Components never read the environment themselves; they are handed a `Settings` (or the plain
values they need from it). Every variable is documented in the README's Configuration section.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from hypewatch.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REDIS_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
DEFAULT_USER_AGENT = "hypewatch/0.1 (+https://github.com/hypewatch/hypewatch; health-misinformation monitor)"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    seeds_dir: Path
    sources_file: Path
    redis_url: str | None = None  # set: crawls go through the shared Redis frontier (hypewatch worker)
    redis_prefix: str = "hypewatch"  # of every Redis key, so several deployments can share one server
    worker_heartbeat: float = 30.0  # a crawl worker silent this long is lost; its requests are queued again
    dashboard_password: str | None = None
    dashboard_user: str = "analyst"
    user_agent: str = DEFAULT_USER_AGENT
    fetch_timeout: float = 20.0
    max_download_bytes: int = 10 * 1024 * 1024
    crawl_timeout: float = 3600.0
    crawl_workers: int = 0  # processes extracting and scoring pages during a crawl; 0: one per CPU
    misfire_grace_time: float = 3600.0  # a scheduled crawl missed by less than this still runs (once)
    extra: Mapping[str, str] = field(default_factory=dict)

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
        home = Path(environ.get("HYPEWATCH_HOME") or platformdirs.user_data_dir("hypewatch")).expanduser()
        seeds = Path(environ.get("HYPEWATCH_SEEDS") or PROJECT_ROOT / "seeds").expanduser()
        return cls(
            home=home,
            database_url=environ.get("HYPEWATCH_DATABASE_URL") or f"sqlite:///{home / 'hypewatch.db'}",
            seeds_dir=seeds,
            sources_file=Path(environ.get("HYPEWATCH_SOURCES") or seeds / "sources.toml").expanduser(),
            redis_url=environ.get("HYPEWATCH_REDIS_URL") or None,
            redis_prefix=_redis_prefix(environ),
            worker_heartbeat=_number(environ, "HYPEWATCH_WORKER_HEARTBEAT", 30.0),
            dashboard_password=environ.get("HYPEWATCH_DASHBOARD_PASSWORD") or None,
            dashboard_user=environ.get("HYPEWATCH_DASHBOARD_USER") or "analyst",
            user_agent=environ.get("HYPEWATCH_USER_AGENT") or DEFAULT_USER_AGENT,
            fetch_timeout=_number(environ, "HYPEWATCH_FETCH_TIMEOUT", 20.0),
            max_download_bytes=int(_number(environ, "HYPEWATCH_MAX_DOWNLOAD_BYTES", 10 * 1024 * 1024)),
            crawl_timeout=_number(environ, "HYPEWATCH_CRAWL_TIMEOUT", 3600.0),
            crawl_workers=int(_number(environ, "HYPEWATCH_CRAWL_WORKERS", 0, allow_zero=True)),
            misfire_grace_time=_number(environ, "HYPEWATCH_MISFIRE_GRACE_TIME", 3600.0),
        )


def _redis_prefix(environ: Mapping[str, str]) -> str:
    prefix = environ.get("HYPEWATCH_REDIS_PREFIX") or "hypewatch"
    if not REDIS_PREFIX.fullmatch(prefix):
        raise ConfigError(f"HYPEWATCH_REDIS_PREFIX must be letters, digits, '_', '-', '.' or ':', got {prefix!r}")
    return prefix


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
