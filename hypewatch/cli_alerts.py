"""`hypewatch alerts add|list|remove|test|deliver`: alert rules and their delivery.

`hypewatch.cli` imports this module and calls `register(cli)`. Errors are raised, never printed
here: `hypewatch.cli.main` renders them. Channel URLs are shown masked, never as given.
"""

from __future__ import annotations

import dataclasses
import json
import time

import click

from classifier.signals import SIGNALS
from hypewatch.app import Hypewatch
from hypewatch.errors import HypewatchError
from storage.alert_rules import DIGESTS, RULE_KINDS, RuleDraft, RuleParams


class AlertTestFailed(HypewatchError):
    """A test message could not be delivered to every channel."""


@click.group()
def alerts() -> None:
    """Alert rules: told by email, webhook, Slack, Matrix, ntfy… when hype appears, grows or changes."""


@alerts.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(RULE_KINDS), required=True, help="What the rule watches.")
@click.option("--min-hype", type=click.FloatRange(0, 100), default=None, help="new_page: hype score at least N.")
@click.option("--signal", "signals", multiple=True, type=click.Choice(SIGNALS),
              help="new_page: carries it; changed_page: adds it; trend: the signal (repeat for several).")
@click.option("--source", "sources", multiple=True, help="Only pages or runs of this source (repeatable).")
@click.option("--domain", "domains", multiple=True, help="Only pages of this domain (repeatable).")
@click.option("--language", "languages", multiple=True, help="Only pages in this language code (repeatable).")
@click.option("--query", default=None, help="Only pages whose title or text holds every word.")
@click.option("--hype-rise", type=click.FloatRange(0, 100), default=None, help="changed_page: hype raised by N.")
@click.option("--risk-dropped", is_flag=True, help="changed_page: the page drops its risk disclosure.")
@click.option("--no-failed", is_flag=True, help="crawl_health: not on failed runs.")
@click.option("--no-silent", is_flag=True, help="crawl_health: not on silent sources.")
@click.option("--drop-ratio", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="crawl_health: fire when pages found fall below this share of the previous runs' median.")
@click.option("--previous", type=click.IntRange(1, 52), default=3, show_default=True,
              help="crawl_health: earlier runs; trend: earlier weeks, that make the baseline.")
@click.option("--per-source", is_flag=True, help="trend: per source as well as overall.")
@click.option("--margin", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="trend: share above the previous weeks' high by at least this.")
@click.option("--channel", "channels", multiple=True,
              help="An Apprise URL (repeatable); none: HYPEWATCH_ALERT_CHANNELS.")
@click.option("--digest", type=click.Choice(DIGESTS), default="burst", show_default=True,
              help="burst: send as events happen (grouped); daily: once a day.")
@click.option("--max-per-hour", type=click.IntRange(1, 1000), default=4, show_default=True,
              help="Messages per hour this rule may send; more events wait in the next digest.")
@click.pass_obj
def add(app: Hypewatch, name: str, kind: str, signals: tuple[str, ...], sources: tuple[str, ...],
        domains: tuple[str, ...], languages: tuple[str, ...], query: str | None, min_hype: float | None,
        hype_rise: float | None, risk_dropped: bool, no_failed: bool, no_silent: bool, drop_ratio: float,
        previous: int, per_source: bool, margin: float, channels: tuple[str, ...], digest: str,
        max_per_hour: int) -> None:
    """Add the rule NAME."""
    from storage.alerts import add_rule

    params = RuleParams(min_hype=min_hype, signals=signals, sources=sources, domains=domains, languages=languages,
                        query=query or None, hype_rise=hype_rise, risk_disclosure_dropped=risk_dropped,
                        on_failed=not no_failed, on_silent=not no_silent, drop_ratio=drop_ratio,
                        previous_runs=previous, per_source=per_source, margin=margin)
    with app.database.session() as session:
        record = add_rule(session, RuleDraft(name, kind, params, channels, digest, max_per_hour))
    click.echo(f"added alert rule {record.id} {record.name!r} ({record.kind})")
    if not channels and not app.settings.alert_channels:
        click.echo("hypewatch: warning: the rule names no channel and HYPEWATCH_ALERT_CHANNELS is not set; "
                   "its events are logged, not sent", err=True)


@alerts.command("list")
@click.option("--json", "as_json", is_flag=True, help="Rules and recent events as JSON.")
@click.option("--events", type=click.IntRange(0, 10_000), default=20, show_default=True, help="Recent events shown.")
@click.pass_obj
def list_(app: Hypewatch, as_json: bool, events: int) -> None:
    """The rules, and the recent events with their delivery status (channels masked)."""
    from storage.alert_rules import mask_channel
    from storage.alerts import list_rules, recent_events

    with app.database.session() as session:
        rules = list_rules(session)
        recent = recent_events(session, events)
    default = [mask_channel(url) for url in app.settings.alert_channels]
    if as_json:
        click.echo(json.dumps({"rules": [dataclasses.asdict(r) for r in rules], "default_channels": default,
                               "events": [dataclasses.asdict(e) for e in recent]}, ensure_ascii=False, indent=1))
        return
    for rule in rules:
        params = ", ".join(f"{k}={v}" for k, v in rule.params.items()) or "defaults"
        channels = ", ".join(rule.channels) or f"default: {', '.join(default) or 'none'}"
        click.echo(f"{rule.id:>4}  {rule.name}  [{rule.kind}, {rule.digest}, <= {rule.max_per_hour}/h]  {params}  "
                   f"-> {channels}")
    if not rules:
        click.echo("no alert rules")
    for event in recent:
        click.echo(f"  event {event.id} {event.created_at[:19]} {event.status:<8} {event.rule}: {event.summary}")


@alerts.command("remove")
@click.argument("name")
@click.pass_obj
def remove(app: Hypewatch, name: str) -> None:
    """Remove the rule NAME (or id) with its events."""
    from storage.alerts import remove_rule

    with app.database.session() as session:
        record = remove_rule(session, name)
    click.echo(f"removed alert rule {record.id} {record.name!r}")


@alerts.command("test")
@click.argument("name")
@click.pass_obj
def test(app: Hypewatch, name: str) -> None:
    """Send a test message of the rule NAME to its channels now."""
    from hypewatch.alerting.delivery import send_test

    outcomes = send_test(app, name)
    if not outcomes:
        raise AlertTestFailed(f"rule {name!r} has no channel and HYPEWATCH_ALERT_CHANNELS is not set")
    for outcome in outcomes:
        click.echo(f"{outcome.channel}: {'sent' if outcome.ok else 'failed: ' + (outcome.error or '')}")
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise AlertTestFailed(f"{len(failed)} of {len(outcomes)} channel(s) failed")


@alerts.command("deliver")
@click.option("--watch", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Keep going: evaluate and deliver again every SECONDS, until stopped.")
@click.pass_obj
def deliver(app: Hypewatch, watch: float | None) -> None:
    """Evaluate the rules and send every alert that is due (retries and held-back digests too)."""
    from hypewatch.alerting.delivery import deliver_pending
    from hypewatch.alerting.rules import evaluate_alerts

    while True:
        recorded = evaluate_alerts(app)
        report = deliver_pending(app)
        click.echo(f"alerts: {recorded} new event(s); {report.messages} message(s) sent carrying "
                   f"{report.deliveries} alert(s); {report.retried} to retry, {report.failed} failed, "
                   f"{report.held} held by the hourly cap"
                   + (f"; waited for {report.awaited} message(s) another process had in flight" if report.awaited else ""))
        if watch is None:
            return
        time.sleep(watch)


def register(cli: click.Group) -> None:
    cli.add_command(alerts)
