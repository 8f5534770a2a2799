"""The dashboard's Alerts page and API: rules from the form and from the article filters, the
test button behind a CSRF token, events with their delivery status, secrets never shown."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from test_dashboard_app import INLINE_SCRIPT, _csrf
from test_hypewatch_alerts import store_pages

from hypewatch.alerting.delivery import deliver_pending
from hypewatch.alerting.rules import evaluate_alerts
from hypewatch.app import Hypewatch
from hypewatch.serving import build_dashboard
from storage.alert_rules import RuleDraft
from storage.alerts import add_rule

SECRET = "dash-Secret-77"


@pytest.fixture
def alerts_app(writable_dashboard_dataset, webhook_receiver):
    port = webhook_receiver.server.server_address[1]
    channel = f"json://hw:{SECRET}@127.0.0.1:{port}/hook?token={SECRET}"
    app = Hypewatch(writable_dashboard_dataset.settings.with_overrides(alert_channels=(channel,)))
    yield app
    app.database.close()


@pytest.fixture
def client(alerts_app):
    with TestClient(build_dashboard(alerts_app)) as test_client:
        yield test_client


def test_the_page_renders_rules_and_events_with_secrets_masked(client, alerts_app):
    with alerts_app.database.session() as session:
        add_rule(session, RuleDraft("own channel", "new_page", channels=(f"mailto://u:{SECRET}@mail.example.org",)))
    for path in ("/alerts", "/api/alerts"):
        response = client.get(path)
        assert response.status_code == 200 and SECRET not in response.text
    page = client.get("/alerts").text
    assert "own channel" in page and "mailto://***@mail.example.org" in page and "json://***@127.0.0.1/***" in page
    assert not INLINE_SCRIPT.search(page) and not re.search(r"<[a-z]+[^>]*\son[a-z]+=", page, re.I)
    data = client.get("/api/alerts").json()
    assert [r["name"] for r in data["rules"]] == ["own channel"]
    assert data["default_channels"] == ["json://***@127.0.0.1/***"]


def test_alert_me_on_this_turns_the_article_filters_into_a_rule(client):
    page = client.get("/articles", params={"signal": "cure_claim", "min_hype": "60", "q": "clinic"}).text
    form = re.search(r'<form class="card alert-me".*?</form>', page, re.S).group(0)
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
    assert fields["signal"] == "cure_claim" and fields["min_hype"] == "60.0" and fields["q"] == "clinic"
    response = client.post("/alerts/rules", data={**fields, "name": "cures in clinics"}, follow_redirects=False)
    assert response.status_code == 303
    [rule] = client.get("/api/alerts").json()["rules"]
    assert rule["kind"] == "new_page"
    assert rule["params"] == {"min_hype": 60.0, "signals": ["cure_claim"], "query": "clinic"}


def test_forms_need_the_csrf_token(client):
    assert client.post("/alerts/rules", data={"name": "x", "kind": "new_page"}).status_code == 403
    token = _csrf(client)
    assert client.post("/alerts/rules", data={"name": "x", "csrf_token": token}, follow_redirects=False).status_code == 303
    rule_id = client.get("/api/alerts").json()["rules"][0]["id"]
    assert client.post(f"/alerts/rules/{rule_id}/test", data={}).status_code == 403
    assert client.post(f"/alerts/rules/{rule_id}/delete", data={"csrf_token": "a.b"}).status_code == 403
    assert client.get("/api/alerts").json()["rules"]


@pytest.mark.parametrize("form, message", [
    ({"name": ""}, "Give the rule a name"),
    ({"name": "n", "kind": "nope"}, "kind must be one of"),
    ({"name": "n", "min_hype": "lots"}, "min_hype must be a number"),
    ({"name": "n", "signal": "magic"}, "unknown signal"),
])
def test_a_bad_rule_is_a_clear_error(client, form, message):
    response = client.post("/alerts/rules", data={**form, "csrf_token": _csrf(client)})
    assert response.status_code == 400 and message in response.text


def test_send_a_test_reaches_the_channel_and_events_show_their_delivery(client, alerts_app, webhook_receiver):
    token = _csrf(client)
    client.post("/alerts/rules", data={"name": "everything", "kind": "new_page", "csrf_token": token})
    rule_id = client.get("/api/alerts").json()["rules"][0]["id"]
    response = client.post(f"/alerts/rules/{rule_id}/test", data={"csrf_token": token})
    assert response.status_code == 200 and "Test message: sent" in response.text
    [hook] = webhook_receiver.received()
    assert hook.body["title"] == "[hypewatch] test of alert rule 'everything'" and SECRET not in response.text
    # A rule fires on what is stored after it was made.
    store_pages(alerts_app, ["https://new.example/a01"])
    evaluate_alerts(alerts_app)
    deliver_pending(alerts_app)
    [event] = client.get("/api/alerts").json()["events"]
    assert event["status"] == "sent" and event["deliveries"][0]["channel"] == "json://***@127.0.0.1/***"
    assert "new page" in event["summary"] and len(webhook_receiver.received()) == 2
    page = client.get("/alerts").text
    assert "Page a01" in page and SECRET not in page
    client.post(f"/alerts/rules/{rule_id}/delete", data={"csrf_token": token})
    assert client.get("/api/alerts").json()["rules"] == []
