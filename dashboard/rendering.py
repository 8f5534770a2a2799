"""The Jinja2 environment the pages are rendered with: strict, autoescaped, and the filters and
globals the templates use (links, percentages, hype bands, dates, signal names)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jinja2

from classifier.signals import HIGH_HYPE, hype_band
from dashboard import presentation
from dashboard.security import safe_link

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every value is escaped unless a template says otherwise (none does)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    signals, counters = presentation.signal_meta(), presentation.counter_meta()
    signal_label = {s["name"]: s["label"] for s in signals + counters}
    env.filters["safe_link"] = safe_link
    env.filters["percent"] = presentation.percent
    env.filters["hype_band"] = hype_band
    env.globals["HIGH_HYPE"] = HIGH_HYPE
    env.filters["date"] = format_date
    env.filters["datetime"] = format_datetime
    env.filters["thousands"] = lambda n: "–" if n is None else f"{n:,}"
    env.filters["signal_labels"] = lambda names: ", ".join(signal_label.get(n, n) for n in names)
    env.globals["SIGNALS"] = signals
    env.globals["COUNTERS"] = counters
    env.globals["SIGNAL_LABEL"] = signal_label
    return env


def format_date(value: str | dt.date | None) -> str:
    if not value:
        return "–"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    return value.strftime("%d %b %Y")


def format_datetime(value: str | dt.datetime | None) -> str:
    if not value:
        return "–"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(dt.UTC).strftime("%d %b %Y %H:%M UTC")
