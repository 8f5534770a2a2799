"""The crawl spec: everything one crawl process needs, handed to `python -m crawler.runner` as JSON.

The process that starts a crawl builds it (hypewatch's crawl-run core); a shared run publishes it
in Redis without the machine-specific parts (`database_url`, `model_dir`), which each
`hypewatch worker` fills in with its own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

REQUIRED = ("source", "database_url", "model_dir")


@dataclass(frozen=True)
class CrawlSpec:
    source: dict[str, Any]  # SourceConfig.to_dict()
    database_url: str = ""
    model_dir: str = ""
    max_pages: int | None = None
    user_agent: str | None = None
    download_timeout: float | None = None
    max_download_bytes: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # extra Scrapy or HYPEWATCH_* settings
    log_level: str = "INFO"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any) -> CrawlSpec:
        """The spec in `data`, or ValueError naming what is wrong with it."""
        if not isinstance(data, dict):
            raise ValueError("a crawl spec is a JSON object")
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown crawl spec key(s): {', '.join(unknown)}")
        spec = cls(**data)
        if not isinstance(spec.source, dict) or not isinstance(spec.settings, dict):
            raise ValueError("a crawl spec's source and settings are JSON objects")
        return spec

    def missing(self) -> list[str]:
        """The required fields that are empty."""
        return [name for name in REQUIRED if not getattr(self, name)]

    def published(self) -> CrawlSpec:
        """This spec as a shared run publishes it: without the publishing machine's own values
        (each worker uses its own database URL and model directory, which may hold credentials)."""
        return replace(self, database_url="", model_dir="")
