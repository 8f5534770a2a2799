"""The sources file: what to crawl, how, and when.

A TOML file with one `[[source]]` table per source (format in seeds/README.md and the README).
`load_sources` validates every field and raises `SourcesFileError` naming the file, the source
and the field at fault, so a bad file never half-configures the scheduler. A file without any
source and a schedule that can never fire (such as 31 February) are errors too: either would
leave the scheduler running and crawling nothing, without a word.
"""

from __future__ import annotations

import datetime as dt
import re
import reprlib
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from crawler.errors import InvalidUrlError, SourcesFileError
from crawler.urls import parse_web_url

KINDS = ("site", "feed", "sitemap")
ANY_DOMAIN = "*"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")
FIELDS = {
    "name", "kind", "start_urls", "allowed_domains", "schedule", "max_pages", "max_depth", "enabled", "allow_private",
}
DEFAULT_SCHEDULE = "0 6 * * *"
DEFAULT_MAX_PAGES = 500
DEFAULT_MAX_DEPTH = 3
WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
SHOWN_URL = reprlib.Repr()  # a bad URL in a message: quoted, and cut short when huge
SHOWN_URL.maxstring = 120


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    start_urls: tuple[str, ...]
    allowed_domains: tuple[str, ...]  # ("*",) means any public domain
    schedule: str = DEFAULT_SCHEDULE
    max_pages: int = DEFAULT_MAX_PAGES
    max_depth: int = DEFAULT_MAX_DEPTH
    enabled: bool = True
    allow_private: bool = False

    @property
    def any_domain(self) -> bool:
        return ANY_DOMAIN in self.allowed_domains

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start_urls"] = list(self.start_urls)
        data["allowed_domains"] = list(self.allowed_domains)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceConfig:
        return cls(**{**data, "start_urls": tuple(data["start_urls"]),
                      "allowed_domains": tuple(data["allowed_domains"])})


def load_sources(path: Path | str) -> list[SourceConfig]:
    """Read and validate a sources file; every problem names the source and the field."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesFileError(f"{path}: no such sources file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesFileError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SourcesFileError(f"{path}: not valid TOML: {exc}") from None
    sources = parse_sources(data, where=str(path))
    if not sources:
        raise SourcesFileError(f"{path}: no sources; add a [[source]] table for each (format in seeds/README.md)")
    return sources


def parse_sources(data: dict[str, Any], *, where: str = "sources") -> list[SourceConfig]:
    unknown = set(data) - {"source"}
    if unknown:
        raise SourcesFileError(f"{where}: unknown top-level key(s) {sorted(unknown)}; sources are [[source]] tables")
    entries = data.get("source", [])
    if not isinstance(entries, list):
        raise SourcesFileError(f"{where}: 'source' must be an array of tables ([[source]])")
    sources: list[SourceConfig] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        source = _parse_source(entry, where=where, position=position)
        if source.name in seen:
            raise SourcesFileError(f"{where}: source {source.name!r}: field 'name': duplicate name")
        seen.add(source.name)
        sources.append(source)
    return sources


def _parse_source(entry: Any, *, where: str, position: int) -> SourceConfig:
    label = f"source #{position}"
    if not isinstance(entry, dict):
        raise SourcesFileError(f"{where}: {label}: must be a table")
    name = entry.get("name")
    if isinstance(name, str) and name:
        label = f"source {name!r}"

    def fail(field: str, problem: str) -> SourcesFileError:
        return SourcesFileError(f"{where}: {label}: field {field!r}: {problem}")

    unknown = set(entry) - FIELDS
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown field (known: {', '.join(sorted(FIELDS))})")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise fail("name", "required; lower-case letters, digits, '-', '_' or '.', at most 100 characters")
    kind = entry.get("kind")
    if kind not in KINDS:
        raise fail("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    start_urls = _string_list(entry.get("start_urls"), fail, "start_urls", required=True)
    hosts = set()
    for url in start_urls:
        try:
            parts = parse_web_url(url)
        except InvalidUrlError as exc:
            raise fail("start_urls", f"{SHOWN_URL.repr(url)} is not an http(s) URL: {exc}") from None
        hosts.add(parts.hostname or "")  # parse_web_url refuses a URL without a host
    domains = _string_list(entry.get("allowed_domains"), fail, "allowed_domains", required=False)
    if not domains:
        domains = sorted(hosts)
    domains = [d.lower().lstrip(".") if d != ANY_DOMAIN else d for d in domains]
    schedule = entry.get("schedule", DEFAULT_SCHEDULE)
    if not isinstance(schedule, str):
        raise fail("schedule", "must be a cron string such as '0 6 * * *'")
    try:
        trigger = cron_trigger(schedule)
    except ValueError as exc:
        raise fail("schedule", f"invalid cron expression {schedule!r}: {exc}") from None
    if trigger.get_next_fire_time(None, dt.datetime.now(dt.UTC)) is None:
        raise fail("schedule", f"{schedule!r} never fires (no such date)")
    return SourceConfig(
        name=name,
        kind=kind,
        start_urls=tuple(start_urls),
        allowed_domains=tuple(domains),
        schedule=schedule,
        max_pages=_positive_int(entry.get("max_pages", DEFAULT_MAX_PAGES), fail, "max_pages", minimum=1),
        max_depth=_positive_int(entry.get("max_depth", DEFAULT_MAX_DEPTH), fail, "max_depth", minimum=0),
        enabled=_bool(entry.get("enabled", True), fail, "enabled"),
        allow_private=_bool(entry.get("allow_private", False), fail, "allow_private"),
    )


def _string_list(value: Any, fail, field: str, *, required: bool) -> list[str]:
    if value is None:
        if required:
            raise fail(field, "required; a list of strings")
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(field, "must be a list of non-empty strings")
    if required and not value:
        raise fail(field, "must not be empty")
    return [v.strip() for v in value]


def _positive_int(value: Any, fail, field: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise fail(field, f"must be an integer >= {minimum}, got {value!r}")
    return value


def _bool(value: Any, fail, field: str) -> bool:
    if not isinstance(value, bool):
        raise fail(field, f"must be true or false, got {value!r}")
    return value


def cron_trigger(expr: str):
    """An APScheduler 3 `CronTrigger` (UTC) for a crontab expression.

    Five fields are standard crontab (minute hour day month weekday, with 0 and 7 = Sunday; the
    weekday numbers are translated, since APScheduler 3 counts from Monday). Six fields put a
    seconds field first, for demos and tests that cannot wait a minute between runs.
    """
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) not in (5, 6):
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, weekday = fields
    return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                       day_of_week=_crontab_weekdays(weekday), timezone="UTC")


def _crontab_weekdays(field: str) -> str:
    """Crontab's weekday field (0-7, Sunday = 0 and 7) as APScheduler weekday names."""
    if field == "*" or any(c.isalpha() for c in field):
        return field
    days: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            low_text, high_text = base.split("-", 1)
            low, high = int(low_text), int(high_text)
        else:
            low = high = int(base)
        if not (0 <= low <= 7 and 0 <= high <= 7 and low <= high and step >= 1):
            raise ValueError(f"weekday field {field!r} out of range 0-7")
        days.update(day % 7 for day in range(low, high + 1, step))
    return ",".join(WEEKDAY_NAMES[d] for d in sorted(days))
