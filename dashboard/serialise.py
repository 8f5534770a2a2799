"""The JSON the dashboard serves: one function per screen, plus the stored rows (runs, labels,
predictions) as plain dicts.

Values that are the dashboard's own (`dashboard.figures`) mostly carry a `to_dict`; what needs
more than one value, or rows from `storage.models`, is shaped here, so the API and the exports
read one definition of each payload.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from classifier.signals import COUNTER_SIGNALS, HIGH_HYPE, SIGNALS
from dashboard import presentation
from dashboard.figures import AlertsView, ArticleDetail, ArticlePage, ArticleRow, Overview, RunsPage, Trends
from storage.models import Label, Prediction


# ---------------------------------------------------------------- stored rows
def label_dict(label: Label) -> dict[str, Any]:
    return {
        "id": label.id, "version_id": label.version_id, "author": label.author,
        "created_at": label.created_at.isoformat(), "relevant": label.relevant,
        "signals": {n: getattr(label, n) for n in SIGNALS}, "hype": label.hype, "note": label.note,
    }


def prediction_dict(prediction: Prediction | None) -> dict[str, Any] | None:
    if prediction is None:
        return None
    details = prediction.details or {}
    signals = details.get("signals", {})
    counters = details.get("counter_signals", {})
    return {
        "id": prediction.id, "model_version": prediction.model_version,
        "created_at": prediction.created_at.isoformat(), "relevance": prediction.relevance,
        "relevant": prediction.relevant, "hype_score": prediction.hype_score,
        "signals": {
            n: {"probability": getattr(prediction, f"p_{n}"), "flagged": getattr(prediction, f"flag_{n}"),
                "evidence": signals.get(n, {}).get("evidence", []),
                # how the trial registry's judgements moved it (`classifier.grounding`), if they did
                "registry": signals.get(n, {}).get("registry")}
            for n in SIGNALS
        },
        "counter_signals": {
            n: {"present": bool(counters.get(n, {}).get("present")), "evidence": counters.get(n, {}).get("evidence", [])}
            for n in COUNTER_SIGNALS
        },
    }


# ---------------------------------------------------------------- screens
def trends_json(trends: Trends) -> dict[str, Any]:
    return {**trends.to_dict(), "signals": presentation.signal_meta(), "high_hype_threshold": HIGH_HYPE}


def overview_json(overview: Overview) -> dict[str, Any]:
    return {
        "summary": overview.summary.to_dict(),
        "trends": trends_json(overview.trends),
        "top_domains": [d.to_dict() for d in overview.top_domains],
        "newest_high_hype": [a.to_dict() for a in overview.newest_high_hype],
        "crawl_health": overview.health.to_dict(),
    }


def article_page_json(page: ArticlePage) -> dict[str, Any]:
    return {
        "total": page.total, "page": page.filters.page, "per_page": page.filters.per_page, "pages": page.pages,
        "filters": page.filters.as_params(), "articles": [r.to_dict() for r in page.rows],
    }


def article_json(detail: ArticleDetail) -> dict[str, Any]:
    version = detail.version
    return {
        "id": detail.page.id, "url": detail.page.url, "domain": detail.page.domain, "source": detail.source_name,
        "first_seen": detail.page.first_seen.isoformat(), "last_seen": detail.page.last_seen.isoformat(),
        "version": {
            "id": version.id, "current": detail.is_current, "title": version.title, "author": version.author,
            "published": version.published.isoformat() if version.published else None,
            "language": version.language, "site_name": version.site_name,
            "fetched_at": version.fetched_at.isoformat(), "text": version.text,
        },
        "prediction": prediction_dict(detail.prediction),
        "versions": detail.versions,
        "labels": [label_dict(label) for label in detail.labels],
        "cited_trials": [trial.to_dict() for trial in detail.trials],
        "other_references": [ref.to_dict() for ref in detail.other_references],
    }


def queue_json(rows: list[tuple[ArticleRow, float]]) -> dict[str, Any]:
    return {"articles": [{**row.to_dict(), "uncertainty": u} for row, u in rows]}


def runs_json(runs: RunsPage) -> dict[str, Any]:
    return {"total": runs.total, "page": runs.page, "runs": runs.runs, "health": runs.health.to_dict()}


def alerts_json(view: AlertsView) -> dict[str, Any]:
    return {"rules": [asdict(rule) for rule in view.rules], "default_channels": view.default_channels,
            "events": [asdict(event) for event in view.events], "deliveries": view.deliveries}
