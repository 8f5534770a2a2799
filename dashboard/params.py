"""Query parameters shared by the pages, the API and the exports.

HTML forms send empty strings for untouched fields, so every filter arrives as text and is parsed
here; anything malformed is a `BadRequest` naming the parameter, never a silent default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, overload

from fastapi import Query

from classifier.signals import SIGNALS
from dashboard.errors import BadRequest
from dashboard.filters import LABELLED_CHOICES, ORDER_CHOICES, RELEVANCE_CHOICES, SORT_CHOICES, ArticleFilters

MAX_PER_PAGE = 200
MAX_QUERY_CHARS = 200

Text = Annotated[str | None, Query()]


def _blank(value: str | None) -> str | None:
    value = value.strip() if value else value
    return value or None


def parse_date(name: str, value: str | None) -> dt.date | None:
    value = _blank(value)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be a date like 2026-03-31, got {value!r}") from None


def parse_int(name: str, value: str | None, default: int, low: int, high: int) -> int:
    value = _blank(value)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, got {number}")
    return number


@overload
def parse_choice(name: str, value: str | None, choices: Sequence[str], default: str) -> str: ...


@overload
def parse_choice(name: str, value: str | None, choices: Sequence[str], default: None) -> str | None: ...


def parse_choice(name: str, value: str | None, choices: Sequence[str], default: str | None) -> str | None:
    value = _blank(value)
    if value is None:
        return default
    if value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def parse_hype(value: str | None) -> float | None:
    value = _blank(value)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise BadRequest(f"min_hype must be a number from 0 to 100, got {value!r}") from None
    if not 0 <= number <= 100:
        raise BadRequest(f"min_hype must be between 0 and 100, got {value!r}")
    return number


def article_filters(
    date_from: Annotated[str | None, Query(description="Earliest article date (YYYY-MM-DD); publication date, "
                                                       "else the day first seen.")] = None,
    date_to: Annotated[str | None, Query(description="Latest article date (YYYY-MM-DD).")] = None,
    domain: Annotated[str | None, Query(description="Only this domain (host name).")] = None,
    source: Annotated[str | None, Query(description="Only pages found by this configured source.")] = None,
    signal: Annotated[str | None, Query(description="Only articles flagged for this signal: "
                                                    + ", ".join(SIGNALS) + ".")] = None,
    min_hype: Annotated[str | None, Query(description="Minimum hype score, 0-100.")] = None,
    relevance: Annotated[str | None, Query(description="relevant (default), irrelevant or all.")] = None,
    labelled: Annotated[str | None, Query(description="any (default), yes (has an analyst label) or no.")] = None,
    q: Annotated[str | None, Query(description="Words that must all occur in the title, text or URL.")] = None,
    sort: Annotated[str | None, Query(description="hype (default), date, relevance or domain.")] = None,
    order: Annotated[str | None, Query(description="desc (default) or asc.")] = None,
    page: Annotated[str | None, Query(description="Page number, from 1.")] = None,
    per_page: Annotated[str | None, Query(description=f"Rows per page, 1-{MAX_PER_PAGE} (default 50).")] = None,
) -> ArticleFilters:
    date_from_value = parse_date("date_from", date_from)
    date_to_value = parse_date("date_to", date_to)
    if date_from_value and date_to_value and date_from_value > date_to_value:
        raise BadRequest("date_from must not be after date_to")
    query = _blank(q)
    if query and len(query) > MAX_QUERY_CHARS:
        raise BadRequest(f"q must be at most {MAX_QUERY_CHARS} characters")
    return ArticleFilters(
        date_from=date_from_value,
        date_to=date_to_value,
        domain=_blank(domain),
        source=_blank(source),
        signal=parse_choice("signal", signal, SIGNALS, None),
        min_hype=parse_hype(min_hype),
        relevance=parse_choice("relevance", relevance, RELEVANCE_CHOICES, "relevant"),
        labelled=parse_choice("labelled", labelled, LABELLED_CHOICES, "any"),
        q=query,
        sort=parse_choice("sort", sort, SORT_CHOICES, "hype"),
        order=parse_choice("order", order, ORDER_CHOICES, "desc"),
        page=parse_int("page", page, 1, 1, 1_000_000),
        per_page=parse_int("per_page", per_page, 50, 1, MAX_PER_PAGE),
    )
