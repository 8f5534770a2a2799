"""Sending the alert log's pending deliveries through Apprise, without floods and without losses.

One pass (`deliver_pending`):

1. Messages another process of this host has in flight (a courier, below, whose parent was
   killed, say) are waited for, at most `COURIER_WAIT_SECONDS`; they are never sent twice while
   their courier runs (`storage.alerts.stale_claims` leaves a claim alone while its process lives).
   A message whose courier has ended is counted in `DeliveryReport.awaited`.
2. Claims left by a process that is gone are taken over and sent again under the same message key
   (`storage.alerts.stale_claims`): the message that may have left just before that process died
   goes out once more with the same identity (header `X-Hypewatch-Message` on email and
   webhooks), so a receiver can tell it is the same; none is lost.
3. Due pending deliveries are grouped into one digest per rule and channel. A rule that has sent
   its `max_per_hour` messages in the last hour holds the digest back until the hour allows one
   more.
4. Each message is claimed, sent and recorded by a courier (`hypewatch.alerting.courier`): a
   short-lived process of its own session, forked for that one message, that claims the
   deliveries under its own pid (committed before sending, so no other process or later pass
   sends them again), sends, records the outcome, and leaves. The pass waits for it and reads
   back what it did. Where processes cannot fork, the pass does the same itself.
5. A failed send goes back to pending with a doubling wait (`alert_retry_seconds`, then twice
   that…), and after `alert_attempts` attempts it is recorded failed, shown so, never dropped.

What a kill does: killing the process that delivers (even kill -9 of it or of its process group)
does not interrupt a message in flight: its courier finishes alone and records the message sent
(or to retry); a pass started meanwhile on this host waits for it (step 1), and no pass sends it
while the courier runs (up to `storage.alerts.CLAIM_STALE_AFTER`, 10 minutes, after which any
claim is taken over), so every alert goes out exactly once. A kill before a courier has claimed
leaves the alerts pending, sent once by the next pass. Killing a courier itself while it sends
(or, where processes cannot fork, the delivering process) leaves its claim to be taken over
(step 2): that one message goes out again under the same key, at least once, never lost.

Apprise's own log lines never reach our handlers: they are collected while sending, their secrets
hidden (`storage.alerts.hide_secrets`), and the error kept on the delivery.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from hypewatch.alerting.courier import my_couriers, orphaned, run_courier
from hypewatch.alerting.messages import DigestEntry, Message, compose
from hypewatch.alerting.rules import channels_of
from hypewatch.app import Hypewatch
from storage.alert_rules import channel_key, hide_secrets, mask_channel
from storage.alerts import (
    PendingDelivery,
    SendOutcome,
    claim,
    due_deliveries,
    find_rule,
    live_claims_here,
    mark_sent,
    mark_unsent,
    messages_sent_since,
    postpone,
    recent_events,
    stale_claims,
)
from storage.models import AlertEvent, AlertRule, utcnow
from storage.owners import process_alive

logger = logging.getLogger(__name__)

MESSAGE_HEADER = "X-Hypewatch-Message"
HEADER_SCHEMES = ("mailto", "mailtos", "json", "jsons", "form", "forms", "xml", "xmls")
EMAIL_SCHEMES = ("mailto", "mailtos")
# How long a pass waits for messages another process of this host has in flight: more than a send
# takes (Apprise gives up on a service after 60 s; its sockets time out after a few seconds).
COURIER_WAIT_SECONDS = 75.0
_sending = threading.Lock()  # Apprise's logger is redirected while one message is sent
_warm = False  # Apprise's plugins are loaded in this process


@dataclass
class DeliveryReport:
    messages: int = 0  # messages sent
    deliveries: int = 0  # event deliveries they carried
    retried: int = 0  # deliveries put back for a retry
    failed: int = 0  # deliveries recorded failed
    held: int = 0  # deliveries held back by a rule's hourly cap
    awaited: int = 0  # messages another process's courier had in flight, waited for and recorded by it

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class _Job:
    """One message for a courier to claim, send and record."""

    rule: str
    url: str | None
    group: list[PendingDelivery]
    message_key: str
    take_over_from: tuple[str | None, int | None] | None = None
    now: dt.datetime | None = None


@dataclass(frozen=True)
class _Carried:
    """What a courier did with its message: `result` is "sent", "retry", "failed", or "none" when it
    found nothing left to claim."""

    claimed: int = 0
    result: str = "none"
    channel: str = ""
    attempts: int = 0
    wait: float = 0.0
    error: str | None = None


def deliver_pending(app: Hypewatch, *, now: dt.datetime | None = None) -> DeliveryReport:
    """One delivery pass (see the module doc)."""
    report = DeliveryReport()
    finished = _await_couriers(app)
    with app.database.session() as session:
        rules = {rule.id: rule for rule in session.scalars(select(AlertRule))}
        stale = stale_claims(session)
    report.awaited = len(finished.difference(stale))
    urls = _channel_urls(rules.values(), app.settings.alert_channels)
    for message_key, group in stale.items():
        _deliver(app, _Job(rules[group[0].rule_id].name, urls.get(group[0].channel_key), group, message_key,
                           take_over_from=(group[0].claimed_host, group[0].claimed_pid)), report)
    with app.database.session() as session:
        due = due_deliveries(session, now)
    groups: dict[tuple[int, str], list[PendingDelivery]] = {}
    for delivery in due:
        groups.setdefault((delivery.rule_id, delivery.channel_key), []).append(delivery)
    for (rule_id, key), group in groups.items():
        rule = rules.get(rule_id)
        if rule is None:
            continue
        current = now or utcnow()
        with app.database.session() as session:
            sent, oldest = messages_sent_since(session, rule_id, current - dt.timedelta(hours=1))
            if sent >= rule.max_per_hour:
                until = (oldest or current) + dt.timedelta(hours=1)
                postpone(session, [d.delivery_id for d in group], until)
                report.held += len(group)
                logger.info("alerts: rule %r sent %d messages in the last hour; %d alert(s) wait until %s",
                            rule.name, sent, len(group), until.isoformat(timespec="seconds"))
                continue
        _deliver(app, _Job(rule.name, urls.get(key), group, uuid.uuid4().hex, now=current), report)
    return report


def _channel_urls(rules, default: Sequence[str]) -> dict[str, str]:
    urls = {channel_key(url): url for url in default}
    for rule in rules:
        urls.update({channel_key(url): url for url in rule.channels or []})
    return urls


def _await_couriers(app: Hypewatch) -> set[str]:
    """Wait, at most `COURIER_WAIT_SECONDS`, for the messages other processes of this host have in
    flight (the courier of a `deliver` killed meanwhile, say); the keys of those whose courier has
    ended. What one of them left unrecorded is a stale claim by now, taken over by this pass."""
    with app.database.session() as session:
        in_flight = {key: group[0].claimed_pid for key, group in live_claims_here(session).items()}
    mine = my_couriers()  # another thread's: waited for by that thread
    pids = {pid for pid in in_flight.values() if pid is not None and pid not in mine}
    if not pids:
        return set()
    logger.info("alerts: waiting for %d message(s) in flight in process(es) %s",
                sum(pid in pids for pid in in_flight.values()), ", ".join(map(str, sorted(pids))))
    deadline = time.monotonic() + COURIER_WAIT_SECONDS
    while time.monotonic() < deadline and any(process_alive(pid) for pid in pids):
        time.sleep(0.05)
    return {key for key, pid in in_flight.items() if pid in pids and not process_alive(pid)}


def _deliver(app: Hypewatch, job: _Job, report: DeliveryReport) -> None:
    """Have a courier claim, send and record one message (here, where processes cannot fork), then
    count and log what it did."""
    end = run_courier(lambda: asdict(_carry_in_courier(app, job)), app.database, before_fork=_warm_up)
    if end is None:
        carried = _carry(app, job)
    elif end.result is not None:
        carried = _Carried(**end.result)
    else:
        if end.error is not None:
            logger.warning("alerts: the courier of message %s failed: %s; what it claimed, if anything, is sent "
                           "again, under the same key, by the next pass", job.message_key, end.error)
        else:
            logger.warning("alerts: the courier of message %s (pid %d) ended before recording what it did (%s); "
                           "what it claimed is sent again, under the same key, by the next pass",
                           job.message_key, end.pid, end.how)
        return
    _count(carried, report)
    _log(carried, job)


def _count(carried: _Carried, report: DeliveryReport) -> None:
    if carried.result == "sent":
        report.messages += 1
        report.deliveries += carried.claimed
    elif carried.result == "retry":
        report.retried += carried.claimed
    elif carried.result == "failed":
        report.failed += carried.claimed


def _log(carried: _Carried, job: _Job) -> None:
    if job.take_over_from is not None and carried.claimed:
        logger.warning("alerts: sent again message %s, left unrecorded by a process that is gone", job.message_key)
    if carried.result == "sent":
        logger.info("alerts: sent %d alert(s) of rule %r to %s", carried.claimed, job.rule, carried.channel)
    elif carried.result == "failed" and carried.attempts:
        logger.warning("alerts: %d alert(s) of rule %r to %s failed after %d attempts: %s",
                       carried.claimed, job.rule, carried.channel, carried.attempts, carried.error)
    elif carried.result == "retry":
        logger.warning("alerts: sending %d alert(s) of rule %r to %s failed (attempt %d, next in %g s): %s",
                       carried.claimed, job.rule, carried.channel, carried.attempts, carried.wait, carried.error)


def _carry_in_courier(app: Hypewatch, job: _Job) -> _Carried:
    """`_carry` in a courier, which renews first the locks and thread pools it inherited."""
    global _sending
    _sending = threading.Lock()  # another thread of the parent may have been sending at the fork
    _renew_apprise()
    carried = _carry(app, job)
    if orphaned():  # the process that forked it is gone: nobody else will log what it did
        _log(carried, job)
    return carried


def _carry(app: Hypewatch, job: _Job) -> _Carried:
    """Claim the job's deliveries (under this process), send them as one message, record the outcome."""
    with app.database.session() as session:
        claimed = set(claim(session, [d.delivery_id for d in job.group], job.message_key,
                            take_over_from=job.take_over_from, now=job.now))
    mine = [d for d in job.group if d.delivery_id in claimed]
    if not mine:
        return _Carried()
    ids = [d.delivery_id for d in mine]
    if job.url is None:
        with app.database.session() as session:
            mark_unsent(session, ids, "the channel is no longer configured", retry_at=None)
        return _Carried(len(ids), "failed")
    message = compose(job.rule, [DigestEntry(d.summary, d.details) for d in mine])
    outcome = send_message(job.url, message, job.message_key)
    with app.database.session() as session:
        if outcome.ok:
            mark_sent(session, ids)
            return _Carried(len(ids), "sent", outcome.channel)
        attempts = max(d.attempts for d in mine) + 1  # the claim counted this attempt
        error = outcome.error or "delivery failed"
        if attempts >= app.settings.alert_attempts:
            mark_unsent(session, ids, f"{error} (gave up after {attempts} attempts)", retry_at=None)
            return _Carried(len(ids), "failed", outcome.channel, attempts, error=error)
        wait = app.settings.alert_retry_seconds * 2 ** (attempts - 1)
        mark_unsent(session, ids, error, retry_at=utcnow() + dt.timedelta(seconds=wait))
        return _Carried(len(ids), "retry", outcome.channel, attempts, wait, error)


def _warm_up() -> None:
    """In the parent, before a courier is forked: Apprise's plugins loaded once, not in every courier."""
    global _warm
    if not _warm:
        import apprise

        apprise.Apprise().add("json://localhost")
        _warm = True


def _renew_apprise() -> None:
    """In a courier: Apprise (2.x) sends through process-wide thread pools, and one copied from the
    parent has no threads here (work given to it would never run); its locks may have been held by
    a thread of the parent. Both are made anew."""
    import apprise.apprise as core
    import apprise.manager as manager

    for name in ("_shared_executor", "_coordinator_executor"):
        if getattr(core, name, None) is not None:
            setattr(core, name, None)
    for name in ("_shared_executor_lock", "_coordinator_executor_lock", "_abandoned_futures_lock"):
        if hasattr(core, name):
            setattr(core, name, threading.Lock())
    if hasattr(manager, "PluginManager") and hasattr(manager.PluginManager, "_lock"):
        manager.PluginManager._lock = threading.Lock()


def send_message(url: str, message: Message, message_key: str) -> SendOutcome:
    """Send one message to one Apprise URL: HTML (with Apprise's plain-text part) to email, plain
    text elsewhere; tagged with the message key where the channel takes headers."""
    import apprise

    shown = mask_channel(url)
    scheme = urlsplit(url).scheme.lower()
    target = url
    if scheme in HEADER_SCHEMES:
        target += ("&" if "?" in url else "?") + f"+{MESSAGE_HEADER}={message_key}"
    email = scheme in EMAIL_SCHEMES
    with _sending:
        collected = _Collector()
        apprise_logger = logging.getLogger("apprise")
        propagate = apprise_logger.propagate
        apprise_logger.propagate = False
        apprise_logger.addHandler(collected)
        try:
            notifier = apprise.Apprise()
            if not notifier.add(target):
                return SendOutcome(shown, False, f"not a channel Apprise can use: {shown}")
            ok = bool(notifier.notify(title=message.title, body=message.html if email else message.text,
                                      body_format=apprise.NotifyFormat.HTML if email else apprise.NotifyFormat.TEXT))
        except Exception as exc:  # a plugin raising instead of returning False
            ok = False
            collected.lines.append(f"{type(exc).__name__}: {exc}")
        finally:
            apprise_logger.removeHandler(collected)
            apprise_logger.propagate = propagate
    if ok:
        return SendOutcome(shown, True)
    error = collected.lines[-1] if collected.lines else "the channel refused the message"
    return SendOutcome(shown, False, hide_secrets(" ".join(error.split())[:500], [url, target]))


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # a malformed record must not break sending
            pass


def send_test(app: Hypewatch, rule_name: str) -> list[SendOutcome]:
    """Send a test message of a rule to each of its channels now (nothing is recorded): the newest
    event of the rule as an example, when it has one."""
    with app.database.session() as session:
        rule = find_rule(session, rule_name)
        example = next((e for e in recent_events(session, 200) if e.rule == rule.name), None)
        details: dict = {}
        if example is not None:
            event = session.get(AlertEvent, example.id)
            details = dict(event.details) if event else {}
    urls = channels_of(rule, app.settings.alert_channels)
    entries = [DigestEntry(example.summary, details)] if example is not None else []
    message = compose(rule.name, entries, test=True)
    return [send_message(url, message, f"test-{uuid.uuid4().hex}") for url in urls]
