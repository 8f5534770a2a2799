"""What narrows an article list: `ArticleFilters` and the choices its fields accept.

The same filters drive the pages, the JSON API and the exports; `dashboard.params` reads them
from a request, `dashboard.analytics` applies them to the in-memory facts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

RELEVANCE_CHOICES = ("relevant", "irrelevant", "all")
LABELLED_CHOICES = ("any", "yes", "no")
SORT_CHOICES = ("hype", "date", "relevance", "domain")
ORDER_CHOICES = ("asc", "desc")
DOMAIN_SORTS = ("articles", "mean_hype", "relevant", "name", "last_seen")


@dataclass(frozen=True)
class ArticleFilters:
    """What narrows an article list; the same fields drive the page, the API and the exports."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    domain: str | None = None
    source: str | None = None
    signal: str | None = None
    min_hype: float | None = None
    relevance: str = "relevant"
    labelled: str = "any"
    q: str | None = None
    sort: str = "hype"
    order: str = "desc"
    page: int = 1
    per_page: int = 50

    def as_params(self, **changes: Any) -> dict[str, str]:
        """The non-default fields as query parameters (for links that keep the filters)."""
        current = replace(self, **changes)
        default = ArticleFilters()
        params = {}
        for name in self.__dataclass_fields__:
            value = getattr(current, name)
            if value is not None and value != getattr(default, name) and value != "":
                params[name] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return params
