"""Reading the alert rule form: the rule an analyst makes on the Alerts page, or with "alert me on
this" from the article list's filters (signal, minimum hype, domain, source, full text)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from classifier.signals import SIGNALS
from dashboard.errors import BadRequest
from storage.alert_rules import DIGESTS, RULE_KINDS, RuleDraft, RuleParams

MAX_CHANNELS = 10


def parse_rule_form(form: Mapping[str, Any]) -> RuleDraft:
    """The rule the submitted form describes; `BadRequest` naming the first field that is wrong."""
    name = _text(form, "name", 200)
    if not name:
        raise BadRequest("Give the rule a name.")
    kind = _text(form, "kind", 20) or "new_page"
    if kind not in RULE_KINDS:
        raise BadRequest(f"kind must be one of {', '.join(RULE_KINDS)}; got {kind!r}")
    digest = _text(form, "digest", 10) or "burst"
    if digest not in DIGESTS:
        raise BadRequest(f"digest must be one of {', '.join(DIGESTS)}; got {digest!r}")
    signals = tuple(dict.fromkeys(_many(form, "signal")))
    unknown = [s for s in signals if s not in SIGNALS]
    if unknown:
        raise BadRequest(f"unknown signal {unknown[0][:50]!r}")
    channels = tuple(_text(form, "channels", 5000).split())
    if len(channels) > MAX_CHANNELS:
        raise BadRequest(f"at most {MAX_CHANNELS} channels per rule")
    params = RuleParams(
        min_hype=_number(form, "min_hype", 0, 100), signals=signals,
        sources=tuple(_many(form, "source")), domains=tuple(_many(form, "domain")),
        languages=tuple(_many(form, "language")), query=_text(form, "q", 500) or None,
        hype_rise=_number(form, "hype_rise", 0, 100),
        risk_disclosure_dropped=_text(form, "risk_dropped", 10) in ("1", "on", "yes"),
    )
    max_per_hour = _number(form, "max_per_hour", 1, 1000)
    return RuleDraft(name, kind, params, channels, digest, int(max_per_hour) if max_per_hour is not None else 4)


def _many(form: Mapping[str, Any], key: str) -> list[str]:
    values = form.getlist(key) if hasattr(form, "getlist") else [form.get(key)]
    return [str(v).strip()[:200] for v in values if isinstance(v, str) and v.strip()]


def _text(form: Mapping[str, Any], key: str, limit: int) -> str:
    value = form.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):  # a file upload
        raise BadRequest(f"{key} must be text")
    value = value.strip()
    if len(value) > limit:
        raise BadRequest(f"{key} is longer than {limit} characters")
    return value


def _number(form: Mapping[str, Any], key: str, low: float, high: float) -> float | None:
    raw = _text(form, key, 20)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{key} must be a number; got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{key} must be between {low:g} and {high:g}")
    return value
