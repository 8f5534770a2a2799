"""Alert rules and the alert log: the rules analysts keep, each event a rule fired on (recorded once,
by its event key), and each event's delivery to each channel.

What a rule is (its kinds and parameters) is `storage.alert_rules`'s; evaluating rules and sending
messages is `hypewatch.alerting`'s; this module only stores and reads.

A delivery goes pending -> sending (claimed by one process, with the key of the message it goes
out in) -> sent; a failed attempt goes back to pending with a later `next_attempt_at`, or to
failed after the last attempt. A claim whose process is gone is taken over under the same message
key (`stale_claims`), so the one message that may have left just before a crash goes out again
with the same identity, and nothing claimed is ever lost. A claim whose process of this host still
runs is left to it (`live_claims_here` lists them), until `CLAIM_STALE_AFTER`.

A channel is an Apprise URL and may carry secrets (passwords, tokens). The log names channels by
`channel_key` and shows them only through `mask_channel`, the one function that hides secrets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.alert_rules import (
    DIGESTS,
    RULE_KINDS,
    AlertRuleError,
    Channel,
    RuleDraft,
    mask_channel,
)
from storage.errors import NotFound
from storage.models import (
    SIGNAL_NAMES,
    AlertDelivery,
    AlertEvent,
    AlertRule,
    CrawlRun,
    DocumentVersion,
    Page,
    Prediction,
    Source,
    utcnow,
)
from storage.owners import Owner, process_alive
from storage.upsert import insert_ignoring_conflicts

DELIVERY_STATUSES = ("pending", "sending", "sent", "failed")
# A claim is taken over at once when its process (on this host) is gone, or after this long anywhere.
CLAIM_STALE_AFTER = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class RuleRecord:
    """A stored rule as pages, the API and the CLI show it: channels masked."""

    id: int
    name: str
    kind: str
    params: dict[str, Any]
    channels: list[str]  # masked
    digest: str
    max_per_hour: int
    enabled: bool
    created_at: str


@dataclass(frozen=True)
class EventDraft:
    """What a rule fired on, before it is recorded."""

    event_key: str
    kind: str
    summary: str
    details: dict[str, Any]
    page_id: int | None = None
    version_id: int | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class SendOutcome:
    """How sending one message to one channel went (a test message, say): the channel masked."""

    channel: str
    ok: bool
    error: str | None = None


@dataclass(frozen=True)
class PendingDelivery:
    """A delivery ready to go out, with its event."""

    delivery_id: int
    rule_id: int
    channel_key: str
    attempts: int
    message_key: str | None
    event_id: int
    summary: str
    details: dict[str, Any]
    created_at: dt.datetime
    claimed_host: str | None = None  # of a claim being taken over
    claimed_pid: int | None = None


@dataclass(frozen=True)
class EventRecord:
    """An event with how its deliveries stand, as pages, the API and the CLI show it."""

    id: int
    rule: str
    kind: str
    summary: str
    created_at: str
    status: str  # the least advanced of its deliveries': pending < sending < failed < sent (none: "no channel")
    deliveries: list[dict[str, Any]]


# ---------------------------------------------------------------------------- rules
def add_rule(session: Session, draft: RuleDraft) -> RuleRecord:
    """Store a rule; it fires on what is stored and crawled from now on."""
    if draft.kind not in RULE_KINDS:
        raise AlertRuleError(f"unknown rule kind {draft.kind!r} (one of {', '.join(RULE_KINDS)})")
    if draft.digest not in DIGESTS:
        raise AlertRuleError(f"unknown digest {draft.digest!r} (one of {', '.join(DIGESTS)})")
    if not draft.name.strip() or len(draft.name) > 200:
        raise AlertRuleError("a rule needs a name of 1 to 200 characters")
    if draft.max_per_hour < 1:
        raise AlertRuleError("max messages per hour must be at least 1")
    if session.scalar(select(AlertRule.id).where(AlertRule.name == draft.name)) is not None:
        raise AlertRuleError(f"a rule named {draft.name!r} exists already")
    rule = AlertRule(name=draft.name.strip(), kind=draft.kind, params=draft.params.to_dict(),
                     channels=list(draft.channels), digest=draft.digest, max_per_hour=draft.max_per_hour,
                     last_version_id=session.scalar(select(func.max(DocumentVersion.id))) or 0,
                     last_run_id=session.scalar(select(func.max(CrawlRun.id))) or 0)
    session.add(rule)
    session.flush()
    return rule_record(rule)


def rule_record(rule: AlertRule) -> RuleRecord:
    return RuleRecord(id=rule.id, name=rule.name, kind=rule.kind, params=dict(rule.params or {}),
                      channels=[mask_channel(url) for url in rule.channels or []], digest=rule.digest,
                      max_per_hour=rule.max_per_hour, enabled=rule.enabled, created_at=rule.created_at.isoformat())


def list_rules(session: Session) -> list[RuleRecord]:
    return [rule_record(rule) for rule in session.scalars(select(AlertRule).order_by(AlertRule.id))]


def find_rule(session: Session, name_or_id: str | int) -> AlertRule:
    """A rule by name, or by id when given a number."""
    rule = None
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        rule = session.get(AlertRule, int(name_or_id))
    if rule is None:
        rule = session.scalar(select(AlertRule).where(AlertRule.name == str(name_or_id)))
    if rule is None:
        raise NotFound(f"no alert rule {str(name_or_id)[:200]!r}")
    return rule


def remove_rule(session: Session, name_or_id: str | int) -> RuleRecord:
    """Delete a rule with its events and deliveries."""
    rule = find_rule(session, name_or_id)
    record = rule_record(rule)
    event_ids = select(AlertEvent.id).where(AlertEvent.rule_id == rule.id)
    session.execute(delete(AlertDelivery).where(AlertDelivery.event_id.in_(event_ids)))
    session.execute(delete(AlertEvent).where(AlertEvent.rule_id == rule.id))
    session.delete(rule)
    session.flush()
    return record


def enabled_rules(session: Session) -> list[AlertRule]:
    return list(session.scalars(select(AlertRule).where(AlertRule.enabled.is_(True)).order_by(AlertRule.id)))


def advance_rule(session: Session, rule_id: int, *, version_id: int | None = None, run_id: int | None = None) -> None:
    """Record how far a rule has been evaluated (never backwards)."""
    if version_id is not None:
        session.execute(update(AlertRule).where(AlertRule.id == rule_id, AlertRule.last_version_id < version_id)
                        .values(last_version_id=version_id), execution_options={"synchronize_session": False})
    if run_id is not None:
        session.execute(update(AlertRule).where(AlertRule.id == rule_id, AlertRule.last_run_id < run_id)
                        .values(last_run_id=run_id), execution_options={"synchronize_session": False})


# ---------------------------------------------------------------------------- what rules look at
@dataclass(frozen=True)
class VersionFacts:
    """A stored document version with its page, source and newest prediction, and the page's version
    before it (for changes)."""

    version_id: int
    page_id: int
    url: str
    domain: str
    source: str | None
    title: str | None
    language: str | None
    text: str
    fetched_at: dt.datetime
    relevant: bool | None
    hype_score: float | None
    flags: dict[str, bool]
    details: dict[str, Any]
    previous_version_id: int | None = None
    previous_text: str | None = None
    previous_hype_score: float | None = None
    previous_flags: dict[str, bool] = field(default_factory=dict)
    previous_details: dict[str, Any] = field(default_factory=dict)


def versions_after(session: Session, after_id: int, limit: int = 1000) -> list[VersionFacts]:
    """The document versions stored after version `after_id`, oldest first, at most `limit`."""
    # Only the columns an alert needs (never the raw HTML).
    rows = session.execute(
        select(DocumentVersion.id, DocumentVersion.page_id, DocumentVersion.title, DocumentVersion.language,
               DocumentVersion.text, DocumentVersion.fetched_at, Page.url, Page.domain, Source.name)
        .join(Page, Page.id == DocumentVersion.page_id).outerjoin(Source, Source.id == Page.source_id)
        .where(DocumentVersion.id > after_id).order_by(DocumentVersion.id).limit(limit)
    ).all()
    if not rows:
        return []
    page_ids = {row.page_id for row in rows}
    earlier: dict[int, list[int]] = {}
    for version_id, page_id in session.execute(
        select(DocumentVersion.id, DocumentVersion.page_id).where(DocumentVersion.page_id.in_(page_ids))
        .order_by(DocumentVersion.id)
    ):
        earlier.setdefault(page_id, []).append(version_id)
    previous_of = {}
    for row in rows:
        ids = [v for v in earlier[row.page_id] if v < row.id]
        if ids:
            previous_of[row.id] = ids[-1]
    wanted = {row.id for row in rows} | set(previous_of.values())
    newest = select(func.max(Prediction.id)).where(Prediction.version_id.in_(wanted)).group_by(Prediction.version_id)
    predictions = {p.version_id: p for p in session.scalars(select(Prediction).where(Prediction.id.in_(newest)))}
    texts = dict(session.execute(select(DocumentVersion.id, DocumentVersion.text)
                                 .where(DocumentVersion.id.in_(set(previous_of.values())))).all())

    def flags(prediction: Prediction | None) -> dict[str, bool]:
        return {name: bool(getattr(prediction, f"flag_{name}")) for name in SIGNAL_NAMES} if prediction else {}

    facts = []
    for version in rows:
        prediction = predictions.get(version.id)
        previous_id = previous_of.get(version.id)
        previous = predictions.get(previous_id) if previous_id else None
        facts.append(VersionFacts(
            version_id=version.id, page_id=version.page_id, url=version.url, domain=version.domain,
            source=version.name,
            title=version.title, language=version.language, text=version.text, fetched_at=version.fetched_at,
            relevant=prediction.relevant if prediction else None,
            hype_score=prediction.hype_score if prediction else None, flags=flags(prediction),
            details=dict(prediction.details or {}) if prediction else {},
            previous_version_id=previous_id, previous_text=texts.get(previous_id) if previous_id else None,
            previous_hype_score=previous.hype_score if previous else None, previous_flags=flags(previous),
            previous_details=dict(previous.details or {}) if previous else {},
        ))
    return facts


def finished_runs_after(session: Session, after_id: int) -> tuple[list[CrawlRun], int]:
    """The finished crawl runs after run `after_id`, and how far a rule may now count itself
    evaluated: up to the newest run, but never past a run still going."""
    runs = list(session.scalars(select(CrawlRun).where(CrawlRun.id > after_id).order_by(CrawlRun.id)))
    running = [run.id for run in runs if run.status == "running"]
    upto = (min(running) - 1) if running else (runs[-1].id if runs else after_id)
    return [run for run in runs if run.id <= upto], upto


def previous_runs(session: Session, run: CrawlRun, count: int) -> list[CrawlRun]:
    """The `count` finished ok runs of the same source before `run`, newest first."""
    return list(session.scalars(
        select(CrawlRun).where(CrawlRun.source_name == run.source_name, CrawlRun.id < run.id, CrawlRun.status == "ok")
        .order_by(CrawlRun.id.desc()).limit(count)
    ))


def weekly_signal_shares(session: Session, signal: str, weeks: int, *, now: dt.datetime | None = None,
                         source: str | None = None) -> list[tuple[dt.date, int, float]]:
    """(Monday of the week, relevant pages first seen that week, share flagged with `signal`), for
    the last `weeks` weeks up to this one, oldest first; by source when given."""
    now = now or utcnow()
    monday = (now - dt.timedelta(days=now.weekday())).date()
    start = dt.datetime.combine(monday - dt.timedelta(weeks=weeks - 1), dt.time(), tzinfo=dt.UTC)
    query = (select(Page.first_seen, getattr(Prediction, f"flag_{signal}"))
             .join(Prediction, Prediction.id == Page.current_prediction_id)
             .where(Page.first_seen >= start, Prediction.relevant.is_(True)))
    if source is not None:
        query = query.join(Source, Source.id == Page.source_id).where(Source.name == source)
    counts: dict[dt.date, list[int]] = {monday - dt.timedelta(weeks=i): [0, 0] for i in range(weeks)}
    for first_seen, flagged in session.execute(query):
        week = first_seen.date() - dt.timedelta(days=first_seen.weekday())
        if week in counts:
            counts[week][0] += 1
            counts[week][1] += int(bool(flagged))
    return [(week, total, (flagged / total) if total else 0.0) for week, (total, flagged) in sorted(counts.items())]


def source_names(session: Session) -> list[str]:
    return list(session.scalars(select(Source.name).order_by(Source.name)))


# ---------------------------------------------------------------------------- the log
def record_event(session: Session, rule_id: int, draft: EventDraft, channels: Sequence[Channel],
                 due_at: dt.datetime | None = None) -> bool:
    """Record an event and a pending delivery to each channel; False (and nothing stored) when an
    event with its key is recorded already."""
    key = draft.event_key[:300]
    known = session.scalar(select(AlertEvent.id).where(AlertEvent.event_key == key))
    insert_ignoring_conflicts(session, AlertEvent, [{
        "rule_id": rule_id, "event_key": key, "kind": draft.kind, "summary": draft.summary[:1000],
        "page_id": draft.page_id, "version_id": draft.version_id, "run_id": draft.run_id, "details": draft.details,
        "created_at": utcnow(),
    }], ["event_key"])
    event_id = session.scalar(select(AlertEvent.id).where(AlertEvent.event_key == key))
    # One delivery per event and channel (a unique key): an evaluation racing this one adds none.
    unique = {channel.key: channel for channel in channels}
    insert_ignoring_conflicts(session, AlertDelivery, [{
        "event_id": event_id, "rule_id": rule_id, "channel_key": channel.key, "channel_shown": channel.shown[:500],
        "status": "pending", "attempts": 0, "next_attempt_at": due_at or utcnow(),
    } for channel in unique.values()], ["event_id", "channel_key"])
    return known is None


def due_deliveries(session: Session, now: dt.datetime | None = None) -> list[PendingDelivery]:
    """Pending deliveries whose time has come, oldest event first."""
    now = now or utcnow()
    return _pending(session, (AlertDelivery.status == "pending") & (AlertDelivery.next_attempt_at <= now))


def stale_claims(session: Session, now: dt.datetime | None = None) -> dict[str, list[PendingDelivery]]:
    """Deliveries claimed by a process that is gone, by message key (see the module doc)."""
    return _claims(session, now, stale=True)


def live_claims_here(session: Session, now: dt.datetime | None = None) -> dict[str, list[PendingDelivery]]:
    """Deliveries claimed by another process of this host that still runs (a message in flight), by
    message key: those `stale_claims` leaves alone."""
    return _claims(session, now, stale=False)


def _claims(session: Session, now: dt.datetime | None, *, stale: bool) -> dict[str, list[PendingDelivery]]:
    now = now or utcnow()
    claimed = session.execute(select(AlertDelivery.id, AlertDelivery.claimed_host, AlertDelivery.claimed_pid,
                                     AlertDelivery.claimed_at).where(AlertDelivery.status == "sending")).all()
    me = Owner.this_process()

    def old(row) -> bool:
        return row.claimed_at is None or row.claimed_at < now - CLAIM_STALE_AFTER

    def another_here(row) -> bool:
        return (row.claimed_host is not None and row.claimed_pid is not None
                and Owner(row.claimed_host, row.claimed_pid).is_here and row.claimed_pid != me.pid)

    if stale:
        ids = [row.id for row in claimed if old(row) or (another_here(row) and not process_alive(row.claimed_pid))]
    else:
        ids = [row.id for row in claimed if not old(row) and another_here(row) and process_alive(row.claimed_pid)]
    groups: dict[str, list[PendingDelivery]] = {}
    for delivery in _pending(session, AlertDelivery.id.in_(ids)) if ids else []:
        groups.setdefault(delivery.message_key or f"d{delivery.delivery_id}", []).append(delivery)
    return groups


def _pending(session: Session, condition) -> list[PendingDelivery]:
    rows = session.execute(
        select(AlertDelivery.id, AlertDelivery.rule_id, AlertDelivery.channel_key, AlertDelivery.attempts,
               AlertDelivery.message_key, AlertEvent.id, AlertEvent.summary, AlertEvent.details, AlertEvent.created_at,
               AlertDelivery.claimed_host, AlertDelivery.claimed_pid)
        .join(AlertEvent, AlertEvent.id == AlertDelivery.event_id).where(condition)
        .order_by(AlertEvent.id, AlertDelivery.id)
    ).all()
    return [PendingDelivery(*row) for row in rows]


def messages_sent_since(session: Session, rule_id: int, since: dt.datetime) -> tuple[int, dt.datetime | None]:
    """How many messages went out for a rule since `since`, and when the oldest of them went."""
    count, oldest = session.execute(
        select(func.count(func.distinct(AlertDelivery.message_key)), func.min(AlertDelivery.sent_at))
        .where(AlertDelivery.rule_id == rule_id, AlertDelivery.status == "sent", AlertDelivery.sent_at >= since)
    ).one()
    return int(count or 0), oldest


def claim(session: Session, delivery_ids: Iterable[int], message_key: str, *,
          take_over_from: tuple[str | None, int | None] | None = None, now: dt.datetime | None = None) -> list[int]:
    """Claim deliveries for this process under `message_key`: those still pending, each attempt
    counted; or, with `take_over_from` (host, pid), those still claimed by that process, which is
    gone (so two processes taking over the same claim cannot both win). The ids claimed."""
    ids = list(delivery_ids)
    if not ids:
        return []
    me = Owner.this_process()
    if take_over_from is None:
        condition = AlertDelivery.status == "pending"
    else:
        host, pid = take_over_from
        condition = ((AlertDelivery.status == "sending") & (AlertDelivery.message_key == message_key)
                     & (AlertDelivery.claimed_host.is_(None) if host is None else AlertDelivery.claimed_host == host)
                     & (AlertDelivery.claimed_pid.is_(None) if pid is None else AlertDelivery.claimed_pid == pid))
    claimed = session.execute(
        update(AlertDelivery).where(AlertDelivery.id.in_(ids), condition)
        .values(status="sending", message_key=message_key, claimed_host=me.host, claimed_pid=me.pid,
                claimed_at=now or utcnow(),
                attempts=AlertDelivery.attempts + (0 if take_over_from is not None else 1))
        .returning(AlertDelivery.id), execution_options={"synchronize_session": False},
    ).scalars().all()
    return sorted(claimed)


def mark_sent(session: Session, delivery_ids: Iterable[int], now: dt.datetime | None = None) -> None:
    session.execute(update(AlertDelivery).where(AlertDelivery.id.in_(list(delivery_ids)))
                    .values(status="sent", sent_at=now or utcnow(), last_error=None),
                    execution_options={"synchronize_session": False})


def mark_unsent(session: Session, delivery_ids: Iterable[int], error: str, *, retry_at: dt.datetime | None) -> None:
    """A send that failed: pending again from `retry_at`, or failed for good when it is None."""
    values: dict[str, Any] = {"last_error": error[:1000], "message_key": None, "claimed_host": None, "claimed_pid": None}
    if retry_at is None:
        values["status"] = "failed"
    else:
        values.update(status="pending", next_attempt_at=retry_at)
    session.execute(update(AlertDelivery).where(AlertDelivery.id.in_(list(delivery_ids))).values(**values),
                    execution_options={"synchronize_session": False})


def postpone(session: Session, delivery_ids: Iterable[int], until: dt.datetime) -> None:
    """Pending deliveries held back (a rule's hourly cap) until `until`."""
    session.execute(update(AlertDelivery).where(AlertDelivery.id.in_(list(delivery_ids)),
                                                AlertDelivery.status == "pending")
                    .values(next_attempt_at=until), execution_options={"synchronize_session": False})


_STATUS_ORDER = {"pending": 0, "sending": 1, "failed": 2, "sent": 3}


def recent_events(session: Session, limit: int = 100) -> list[EventRecord]:
    """The newest events, newest first, with each delivery's status (channels masked)."""
    rows = session.execute(
        select(AlertEvent, AlertRule.name).join(AlertRule, AlertRule.id == AlertEvent.rule_id)
        .order_by(AlertEvent.id.desc()).limit(limit)
    ).all()
    deliveries: dict[int, list[dict[str, Any]]] = {}
    if rows:
        for d in session.scalars(select(AlertDelivery).where(AlertDelivery.event_id.in_([e.id for e, _ in rows]))
                                 .order_by(AlertDelivery.id)):
            deliveries.setdefault(d.event_id, []).append({
                "channel": d.channel_shown, "status": d.status, "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at.isoformat() if d.status == "pending" else None,
                "sent_at": d.sent_at.isoformat() if d.sent_at else None, "error": d.last_error,
            })
    records = []
    for event, rule_name in rows:
        mine = deliveries.get(event.id, [])
        status = min((d["status"] for d in mine), key=_STATUS_ORDER.__getitem__) if mine else "no channel"
        records.append(EventRecord(id=event.id, rule=rule_name, kind=event.kind, summary=event.summary,
                                   created_at=event.created_at.isoformat(), status=status, deliveries=mine))
    return records


def delivery_counts(session: Session) -> dict[str, int]:
    """Deliveries by status."""
    return {status: int(n) for status, n in session.execute(
        select(AlertDelivery.status, func.count()).group_by(AlertDelivery.status))}
