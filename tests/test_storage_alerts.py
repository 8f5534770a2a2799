"""Alert rules and the alert log: one event per key, one delivery per event and channel, claims,
retries, and channel secrets never shown back."""

from __future__ import annotations

import datetime as dt

import pytest

from storage.alert_rules import AlertRuleError, Channel, RuleDraft, RuleParams, mask_channel
from storage.alerts import (
    EventDraft,
    add_rule,
    claim,
    due_deliveries,
    list_rules,
    mark_sent,
    mark_unsent,
    messages_sent_since,
    recent_events,
    record_event,
    remove_rule,
)
from storage.db import Database
from storage.models import utcnow

SECRET = "s3cr3t-Pa55"


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.close()


@pytest.mark.parametrize("url", [
    f"mailtos://alerts:{SECRET}@smtp.example.org?to=team@example.org",
    f"slack://{SECRET}/B0000/{SECRET}",
    f"json://hooks.example.org/{SECRET}?token={SECRET}",
    f"ntfy://user:{SECRET}@ntfy.example.org/topic",
    f"discord://{SECRET}/{SECRET}",
    "not a url at all " + SECRET,
])
def test_masked_channels_hold_no_secret(url):
    shown = mask_channel(url)
    assert SECRET not in shown and "***" in shown


def test_mask_keeps_what_names_the_channel():
    assert mask_channel("mailto://u:p@smtp.example.org") == "mailto://***@smtp.example.org"
    assert mask_channel("json://127.0.0.1:8080/hook") == "json://127.0.0.1/***"


def test_rules_are_stored_listed_masked_and_removed(db):
    with db.session() as session:
        record = add_rule(session, RuleDraft("cures", "new_page", RuleParams(min_hype=60, signals=("cure_claim",)),
                                             channels=(f"mailto://a:{SECRET}@mail.example.org",)))
        assert record.params == {"min_hype": 60, "signals": ["cure_claim"]}
        with pytest.raises(AlertRuleError):
            add_rule(session, RuleDraft("cures", "new_page"))
        with pytest.raises(AlertRuleError):
            add_rule(session, RuleDraft("other", "no_such_kind"))
    with db.session() as session:
        rules = list_rules(session)
        assert [r.name for r in rules] == ["cures"] and SECRET not in repr(rules)
        assert RuleParams.from_dict(rules[0].params).signals == ("cure_claim",)
        remove_rule(session, "cures")
        assert list_rules(session) == []


def test_an_event_is_recorded_once_with_one_delivery_per_channel(db):
    channels = [Channel.of("json://a.example.org/x"), Channel.of("json://b.example.org/y")]
    with db.session() as session:
        rule = add_rule(session, RuleDraft("r", "new_page"))
        draft = EventDraft("r:1:version:7", "new_page", "new page: X", {"title": "X"}, version_id=7)
        assert record_event(session, rule.id, draft, channels) is True
        assert record_event(session, rule.id, draft, channels) is False
    with db.session() as session:
        due = due_deliveries(session)
        assert len(due) == 2 and {d.channel_key for d in due} == {c.key for c in channels}
        # claimed once: a second claim of the same deliveries gets nothing
        assert claim(session, [d.delivery_id for d in due], "m1") == sorted(d.delivery_id for d in due)
        assert claim(session, [d.delivery_id for d in due], "m2") == []
        mark_sent(session, [due[0].delivery_id])
        mark_unsent(session, [due[1].delivery_id], "refused", retry_at=None)
    with db.session() as session:
        assert due_deliveries(session) == []
        assert messages_sent_since(session, rule.id, utcnow() - dt.timedelta(hours=1))[0] == 1
        [event] = recent_events(session)
        assert event.status == "failed" and sorted(d["status"] for d in event.deliveries) == ["failed", "sent"]


def test_a_claim_of_a_dead_process_is_taken_over_once_under_its_message_key(db):
    import subprocess
    import sys

    from sqlalchemy import update

    from storage.alerts import stale_claims
    from storage.models import AlertDelivery

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with db.session() as session:
        rule = add_rule(session, RuleDraft("r", "new_page"))
        record_event(session, rule.id, EventDraft("k1", "new_page", "one", {}), [Channel.of("json://a.example.org/x")])
        [delivery] = due_deliveries(session)
        assert claim(session, [delivery.delivery_id], "m1") == [delivery.delivery_id]
        session.execute(update(AlertDelivery).values(claimed_pid=gone.pid))  # its process died after claiming
    with db.session() as session:
        [(key, [stale])] = stale_claims(session).items()
        assert key == "m1" and stale.claimed_pid == gone.pid
        owner = (stale.claimed_host, stale.claimed_pid)
        assert claim(session, [stale.delivery_id], "m1", take_over_from=owner) == [stale.delivery_id]
        assert claim(session, [stale.delivery_id], "m1", take_over_from=owner) == []  # a second taker gets nothing
        assert stale_claims(session) == {}  # claimed by this live process now


def test_a_claim_of_a_live_process_of_this_host_is_left_to_it(db):
    import subprocess
    import sys

    from sqlalchemy import update

    from storage.alerts import live_claims_here, stale_claims
    from storage.models import AlertDelivery

    courier = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # a message in flight
    try:
        with db.session() as session:
            rule = add_rule(session, RuleDraft("r", "new_page"))
            record_event(session, rule.id, EventDraft("k1", "new_page", "one", {}),
                         [Channel.of("json://a.example.org/x")])
            [delivery] = due_deliveries(session)
            claim(session, [delivery.delivery_id], "m1")
            session.execute(update(AlertDelivery).values(claimed_pid=courier.pid))
        with db.session() as session:
            assert stale_claims(session) == {}
            [(key, [live])] = live_claims_here(session).items()
            assert key == "m1" and live.claimed_pid == courier.pid
        courier.kill()
        courier.wait()
        with db.session() as session:  # its process gone: stale, no longer live
            assert live_claims_here(session) == {} and list(stale_claims(session)) == ["m1"]
            session.execute(update(AlertDelivery).values(claimed_at=utcnow() - dt.timedelta(minutes=11),
                                                         claimed_pid=None))
            assert live_claims_here(session) == {}
    finally:
        courier.kill()
        courier.wait()
