"""Evaluating alert rules: what each kind fires on, recorded once per event key in the alert log.

Every rule remembers how far it has been evaluated (the newest document version and crawl run it
has looked at, less the versions still settling), so evaluating twice, or from two processes at
once, records each event once (the event key is unique), and a new rule fires only on what
happens after it was made.

- **new_page**: a page's first stored version, relevant, with a hype score of at least `min_hype`
  and/or carrying any of `signals`, within the rule's sources, domains, languages and query.
- **changed_page**: a page's new version that adds a signal (any of `signals`, or any at all),
  raises the hype score by at least `hype_rise`, or drops the risk disclosure
  (`risk_disclosure_dropped`); the event carries the sentences added and removed.
- **crawl_health**: a finished run that failed or timed out, made its source silent, or found
  fewer than `drop_ratio` times the median of the source's `previous_runs` earlier ok runs.
- **trend**: a signal's share of this week's relevant pages above the highest of the previous
  `previous_runs` weeks by `margin` (both weeks with at least `min_pages` pages), overall or per source.
"""

from __future__ import annotations

import datetime as dt
import logging
import statistics
from collections.abc import Iterator
from dataclasses import dataclass

from classifier.signals import SIGNAL_INFO, SIGNALS
from classifier.text import split_sentences
from hypewatch.alerting.messages import event_details
from hypewatch.app import Hypewatch
from storage.alert_rules import Channel, RuleParams
from storage.alerts import (
    EventDraft,
    VersionFacts,
    advance_rule,
    enabled_rules,
    finished_runs_after,
    previous_runs,
    record_event,
    source_names,
    versions_after,
    weekly_signal_shares,
)
from storage.models import AlertRule, CrawlRun, utcnow

logger = logging.getLogger(__name__)

BATCH = 500  # document versions read per transaction
MAX_SENTENCES = 10  # added or removed sentences an event keeps
# Versions stored this recently are looked at again at the next evaluation (their events are not
# recorded twice): on PostgreSQL a crawl's transaction can commit a version whose id is lower than
# ids another crawl already committed, and a cursor past it would never see it.
SETTLING = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Fired:
    """What a rule fired on, for one page version or run."""

    reasons: tuple[str, ...]  # "adds cure_claim", "hype 72 >= 60", ...


def channels_of(rule: AlertRule, default: tuple[str, ...]) -> list[str]:
    """The Apprise URLs a rule's messages go to: its own, or else the settings' channels."""
    return list(rule.channels or default)


def evaluate_alerts(app: Hypewatch) -> int:
    """Evaluate every enabled rule on what was stored and crawled since it last looked; how many
    events were recorded."""
    with app.database.session() as session:
        rules = enabled_rules(session)
    recorded = 0
    for rule in rules:
        channels = [Channel.of(url) for url in channels_of(rule, app.settings.alert_channels)]
        due_at = _due_at(app, rule)
        params = RuleParams.from_dict(rule.params or {})
        if rule.kind in ("new_page", "changed_page"):
            recorded += _evaluate_pages(app, rule, params, channels, due_at)
        elif rule.kind in ("crawl_health", "trend"):
            recorded += _evaluate_runs(app, rule, params, channels, due_at)
    if recorded:
        logger.info("alerts: %d new event(s)", recorded)
    return recorded


def _due_at(app: Hypewatch, rule: AlertRule) -> dt.datetime:
    """When a new event's deliveries are due: now, or the next daily digest hour for daily rules."""
    now = utcnow()
    if rule.digest != "daily":
        return now
    due = now.replace(hour=app.settings.alert_daily_hour, minute=0, second=0, microsecond=0)
    return due if due > now else due + dt.timedelta(days=1)


# ---------------------------------------------------------------------------- pages
def _evaluate_pages(app: Hypewatch, rule: AlertRule, params: RuleParams, channels: list[Channel],
                    due_at: dt.datetime) -> int:
    recorded = 0
    scanned = rule.last_version_id
    cutoff = utcnow() - SETTLING
    held: int | None = None  # the first version still settling: the rule's cursor stays below it
    while True:
        with app.database.session() as session:
            facts = versions_after(session, scanned, BATCH)
            if not facts:
                break
            for fact in facts:
                draft = page_event(rule, params, fact, app.settings.dashboard_url)
                if draft is not None and record_event(session, rule.id, draft, channels, due_at):
                    recorded += 1
                if held is None and fact.fetched_at >= cutoff:
                    held = fact.version_id
            scanned = facts[-1].version_id
            advance_rule(session, rule.id, version_id=scanned if held is None else held - 1)
        if len(facts) < BATCH:
            break
    return recorded


def page_event(rule: AlertRule, params: RuleParams, fact: VersionFacts, dashboard_url: str) -> EventDraft | None:
    """The event a new or changed page rule records for a stored version, if it fires."""
    if not fact.relevant or not _passes_filters(params, fact):
        return None
    added: list[str] = []
    removed: list[str] = []
    if rule.kind == "new_page":
        if fact.previous_version_id is not None:
            return None
        reasons = _new_page_reasons(params, fact)
        verb = "new page"
    else:
        if fact.previous_version_id is None:
            return None
        reasons = _change_reasons(params, fact)
        verb = "changed page"
        if reasons:
            added, removed = sentence_changes(fact.previous_text or "", fact.text)
    if not reasons:
        return None
    title = fact.title or fact.url
    summary = f"{verb} ({', '.join(reasons)}): {title}"
    details = event_details(fact, reasons, added=added, removed=removed, dashboard_url=dashboard_url)
    return EventDraft(event_key=f"rule:{rule.id}:version:{fact.version_id}", kind=rule.kind, summary=summary,
                      details=details, page_id=fact.page_id, version_id=fact.version_id)


def _passes_filters(params: RuleParams, fact: VersionFacts) -> bool:
    if params.sources and fact.source not in params.sources:
        return False
    if params.domains and not any(fact.domain == d or fact.domain.endswith("." + d) for d in params.domains):
        return False
    if params.languages and (fact.language or "") not in params.languages:
        return False
    if params.query:
        haystack = f"{fact.title or ''}\n{fact.text}".casefold()
        if not all(word in haystack for word in params.query.casefold().split()):
            return False
    return True


def _new_page_reasons(params: RuleParams, fact: VersionFacts) -> tuple[str, ...]:
    reasons = []
    hype = fact.hype_score or 0.0
    if params.min_hype is not None:
        if hype < params.min_hype:
            return ()
        reasons.append(f"hype {hype:.0f} >= {params.min_hype:g}")
    if params.signals:
        carried = [s for s in params.signals if fact.flags.get(s)]
        if not carried:
            return ()
        reasons.append("carries " + ", ".join(carried))
    if not reasons:  # no condition: every new relevant page
        reasons.append(f"hype {hype:.0f}")
    return tuple(reasons)


def _change_reasons(params: RuleParams, fact: VersionFacts) -> tuple[str, ...]:
    reasons = []
    watched = params.signals or SIGNALS
    reasons += [f"adds {s}" for s in watched if fact.flags.get(s) and not fact.previous_flags.get(s)]
    if params.hype_rise is not None and fact.previous_hype_score is not None and fact.hype_score is not None:
        rise = fact.hype_score - fact.previous_hype_score
        if rise >= params.hype_rise:
            reasons.append(f"hype up {rise:.0f} to {fact.hype_score:.0f}")
    if params.risk_disclosure_dropped and _risk_disclosed(fact.previous_details) and not _risk_disclosed(fact.details):
        reasons.append("drops its risk disclosure")
    return tuple(reasons)


def _risk_disclosed(details: dict) -> bool:
    return bool(((details.get("counter_signals") or {}).get("risk_disclosure") or {}).get("present"))


def sentence_changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """The sentences of `after` not in `before`, and of `before` not in `after`, in text order."""

    def sentences(text: str) -> list[str]:
        return [s.text for s in split_sentences(text)]

    old, new = sentences(before), sentences(after)
    old_keys, new_keys = {_key(s) for s in old}, {_key(s) for s in new}
    added = [s for s in new if _key(s) not in old_keys]
    removed = [s for s in old if _key(s) not in new_keys]
    return added[:MAX_SENTENCES], removed[:MAX_SENTENCES]


def _key(sentence: str) -> str:
    return " ".join(sentence.split()).casefold()


# ---------------------------------------------------------------------------- runs and trends
def _evaluate_runs(app: Hypewatch, rule: AlertRule, params: RuleParams, channels: list[Channel],
                    due_at: dt.datetime) -> int:
    recorded = 0
    with app.database.session() as session:
        runs, upto = finished_runs_after(session, rule.last_run_id)
        if rule.kind == "crawl_health":
            drafts = [d for run in runs if (d := health_event(session, rule, params, run)) is not None]
        else:
            drafts = list(trend_events(session, rule, params)) if runs else []
        for draft in drafts:
            if record_event(session, rule.id, draft, channels, due_at):
                recorded += 1
        advance_rule(session, rule.id, run_id=upto)
    return recorded


def health_event(session, rule: AlertRule, params: RuleParams, run: CrawlRun) -> EventDraft | None:
    """The event a crawl-health rule records for a finished run, if it fires."""
    if params.sources and run.source_name not in params.sources:
        return None
    reasons = []
    found = run.pages_new + run.pages_changed + run.pages_unchanged
    if params.on_failed and run.status in ("failed", "timeout"):
        reasons.append(f"run {run.status}")
    if params.on_silent and run.silent and run.status == "ok":
        reasons.append("source gone silent")
    baseline = None
    if params.drop_ratio is not None and run.status == "ok":
        earlier = previous_runs(session, run, params.previous_runs)
        if len(earlier) >= params.previous_runs:
            baseline = statistics.median(r.pages_new + r.pages_changed + r.pages_unchanged for r in earlier)
            if baseline > 0 and found < params.drop_ratio * baseline:
                reasons.append(f"found {found} pages against a median of {baseline:g} in the previous "
                               f"{len(earlier)} runs")
    if not reasons:
        return None
    details = {"fired": reasons, "source": run.source_name, "run_id": run.id, "status": run.status,
               "message": run.message, "pages_found": found, "pages_fetched": run.pages_fetched,
               "baseline": baseline, "errors": dict(run.errors or {})}
    return EventDraft(event_key=f"rule:{rule.id}:run:{run.id}", kind=rule.kind,
                      summary=f"crawl health of {run.source_name} ({', '.join(reasons)})", details=details,
                      run_id=run.id)


def trend_events(session, rule: AlertRule, params: RuleParams) -> Iterator[EventDraft]:
    """The events a trend rule records now: one per signal, scope and week at most."""
    scopes: list[str | None] = [None]
    if params.per_source:
        scopes += [s for s in source_names(session) if not params.sources or s in params.sources]
    elif params.sources:
        scopes = list(params.sources)
    for signal in params.signals or SIGNALS:
        for scope in scopes:
            weeks = weekly_signal_shares(session, signal, params.previous_runs + 1, source=scope)
            *earlier, (week, pages, share) = weeks
            counted = [s for _, n, s in earlier if n >= params.min_pages]
            if pages < params.min_pages or not counted:
                continue
            ceiling = max(counted)
            if share < ceiling + params.margin:
                continue
            where = f" on {scope}" if scope else ""
            label = SIGNAL_INFO[signal].label
            summary = (f"trend: {signal} ({label}) on {share:.0%} of this week's {pages} relevant pages{where}, "
                       f"above its {ceiling:.0%} high of the previous {len(earlier)} weeks")
            details = {"fired": [summary], "signal": signal, "scope": scope, "week": week.isoformat(),
                       "share": round(share, 4), "pages": pages, "previous_high": round(ceiling, 4)}
            yield EventDraft(event_key=f"rule:{rule.id}:trend:{signal}:{scope or '*'}:{week.isoformat()}",
                             kind=rule.kind, summary=summary, details=details)
