"""Sending the alert log's pending deliveries through Apprise, without floods and without losses.

One pass (`deliver_pending`):

1. Claims left by a process that died are taken over and sent again under the same message key
   (`storage.alerts.stale_claims`): the message that may have left just before the crash goes out
   once more with the same identity (header `X-Hypewatch-Message` on email and webhooks), so a
   receiver can tell it is the same; none is lost.
2. Due pending deliveries are grouped into one digest per rule and channel. A rule that has sent
   its `max_per_hour` messages in the last hour holds the digest back until the hour allows one
   more. A digest is claimed (committed) before it is sent and recorded sent after, so no other
   process or later pass sends it again.
3. A failed send goes back to pending with a doubling wait (`alert_retry_seconds`, then twice
   that…), and after `alert_attempts` attempts it is recorded failed, shown so, never dropped.

Apprise's own log lines never reach our handlers: they are collected while sending, their secrets
hidden (`storage.alerts.hide_secrets`), and the error kept on the delivery.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

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
    mark_sent,
    mark_unsent,
    messages_sent_since,
    postpone,
    recent_events,
    stale_claims,
)
from storage.models import AlertEvent, AlertRule, utcnow

logger = logging.getLogger(__name__)

MESSAGE_HEADER = "X-Hypewatch-Message"
HEADER_SCHEMES = ("mailto", "mailtos", "json", "jsons", "form", "forms", "xml", "xmls")
EMAIL_SCHEMES = ("mailto", "mailtos")
_sending = threading.Lock()  # Apprise's logger is redirected while one message is sent


@dataclass
class DeliveryReport:
    messages: int = 0  # messages sent
    deliveries: int = 0  # event deliveries they carried
    retried: int = 0  # deliveries put back for a retry
    failed: int = 0  # deliveries recorded failed
    held: int = 0  # deliveries held back by a rule's hourly cap

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def deliver_pending(app: Hypewatch, *, now: dt.datetime | None = None) -> DeliveryReport:
    """One delivery pass (see the module doc)."""
    report = DeliveryReport()
    with app.database.session() as session:
        rules = {rule.id: rule for rule in session.scalars(select(AlertRule))}
        stale = stale_claims(session)
    urls = _channel_urls(rules.values(), app.settings.alert_channels)
    for message_key, group in stale.items():
        with app.database.session() as session:
            claimed = set(claim(session, [d.delivery_id for d in group], message_key,
                                take_over_from=(group[0].claimed_host, group[0].claimed_pid)))
        mine = [d for d in group if d.delivery_id in claimed]
        if mine:
            logger.warning("alerts: sending again message %s, left unrecorded by a process that is gone", message_key)
            _send_group(app, rules, urls, mine, message_key, report)
    with app.database.session() as session:
        due = due_deliveries(session, now)
    groups: dict[tuple[int, str], list[PendingDelivery]] = {}
    for delivery in due:
        groups.setdefault((delivery.rule_id, delivery.channel_key), []).append(delivery)
    for (rule_id, _), group in groups.items():
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
            message_key = uuid.uuid4().hex
            claimed = set(claim(session, [d.delivery_id for d in group], message_key, now=current))
        mine = [d for d in group if d.delivery_id in claimed]
        if mine:
            _send_group(app, rules, urls, mine, message_key, report)
    return report


def _channel_urls(rules, default: Sequence[str]) -> dict[str, str]:
    urls = {channel_key(url): url for url in default}
    for rule in rules:
        urls.update({channel_key(url): url for url in rule.channels or []})
    return urls


def _send_group(app: Hypewatch, rules: dict[int, AlertRule], urls: dict[str, str], group: list[PendingDelivery],
                message_key: str, report: DeliveryReport) -> None:
    ids = [d.delivery_id for d in group]
    rule = rules[group[0].rule_id]
    url = urls.get(group[0].channel_key)
    if url is None:
        with app.database.session() as session:
            mark_unsent(session, ids, "the channel is no longer configured", retry_at=None)
        report.failed += len(ids)
        return
    message = compose(rule.name, [DigestEntry(d.summary, d.details) for d in group])
    outcome = send_message(url, message, message_key)
    with app.database.session() as session:
        if outcome.ok:
            mark_sent(session, ids)
            report.messages += 1
            report.deliveries += len(ids)
            logger.info("alerts: sent %d alert(s) of rule %r to %s", len(ids), rule.name, outcome.channel)
            return
        attempts = max(d.attempts for d in group) + 1  # the claim counted this attempt
        error = outcome.error or "delivery failed"
        if attempts >= app.settings.alert_attempts:
            mark_unsent(session, ids, f"{error} (gave up after {attempts} attempts)", retry_at=None)
            report.failed += len(ids)
            logger.warning("alerts: %d alert(s) of rule %r to %s failed after %d attempts: %s",
                           len(ids), rule.name, outcome.channel, attempts, error)
        else:
            wait = app.settings.alert_retry_seconds * 2 ** (attempts - 1)
            mark_unsent(session, ids, error, retry_at=utcnow() + dt.timedelta(seconds=wait))
            report.retried += len(ids)
            logger.warning("alerts: sending %d alert(s) of rule %r to %s failed (attempt %d, next in %g s): %s",
                           len(ids), rule.name, outcome.channel, attempts, wait, error)


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
