"""Alerts end to end: rules evaluated on stored pages and runs, messages delivered through Apprise to a
real SMTP server (aiosmtpd) and a real webhook receiver, digests and the hourly cap, retries, a
kill -9 mid-delivery (of the command, and of a message's courier), and channel secrets never shown."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import PROJECT_ROOT, wait_for
from sqlalchemy import select

from hypewatch.alerting.delivery import deliver_pending, send_test
from hypewatch.alerting.messages import DigestEntry, compose
from hypewatch.alerting.rules import evaluate_alerts, sentence_changes
from hypewatch.app import Hypewatch
from storage.alert_rules import RuleDraft, RuleParams
from storage.alerts import add_rule, recent_events
from storage.documents import ExtractedDocument, PredictionScores
from storage.models import SIGNAL_NAMES, AlertDelivery, AlertEvent
from storage.owners import process_alive
from storage.repository import register_model_version, upsert_source
from storage.runs import RunCounts, finish_crawl_run, start_crawl_run
from storage.writes import PendingDocument, store_batch

SECRET = "Zq9-very-secret-token"
CURE_SENTENCE = "Stem cells cure multiple sclerosis for good, and our clinic guarantees it."


def scores(hype: float, flagged: tuple[str, ...] = ("cure_claim",), risk_disclosed: bool = False) -> PredictionScores:
    signals = {name: {"probability": 0.9 if name in flagged else 0.1, "flagged": name in flagged,
                      "evidence": [{"text": CURE_SENTENCE, "start": 0, "end": len(CURE_SENTENCE), "score": 0.9}]
                      if name in flagged else []} for name in SIGNAL_NAMES}
    counter = {"risk_disclosure": {"present": risk_disclosed, "evidence": []}}
    return PredictionScores.from_dict({"model_version": "hm-000000000000", "relevance": 0.99, "relevant": True,
                                       "hype_score": hype, "signals": signals, "counter_signals": counter})


def store_pages(app: Hypewatch, urls: list[str], *, text: str = "Stem cells for MS. " + CURE_SENTENCE,
                hype: float = 80.0, flagged: tuple[str, ...] = ("cure_claim",), risk_disclosed: bool = False,
                source: str = "test-source") -> None:
    with app.database.session() as session:
        register_model_version(session, "hm-000000000000", file_sha256="0" * 64)
        source_id = upsert_source(session, source, "site").id
        store_batch(session, [
            PendingDocument(ExtractedDocument(url=url, domain="clinic.example", text=text, title=f"Page {url[-3:]}",
                                              language="en"), scores(hype, flagged, risk_disclosed))
            for url in urls], source_id=source_id)


def add(app: Hypewatch, name: str, kind: str, channels: list[str], **params) -> int:
    max_per_hour = params.pop("max_per_hour", 4)
    with app.database.session() as session:
        return add_rule(session, RuleDraft(name, kind, RuleParams(**params), tuple(channels),
                                           max_per_hour=max_per_hour)).id


def statuses(app: Hypewatch) -> dict[str, int]:
    with app.database.session() as session:
        rows = session.scalars(select(AlertDelivery.status)).all()
    return {status: rows.count(status) for status in set(rows)}


# ---------------------------------------------------------------------------- rules
def test_sentence_changes_lists_added_and_removed_sentences():
    added, removed = sentence_changes("One is here. Two is there. Three is gone.",
                                      "One is here. Two is there. Four is new!")
    assert added == ["Four is new!"] and removed == ["Three is gone."]


def test_new_and_changed_page_rules_fire_once_each(app, webhook_receiver):
    hook = webhook_receiver.url()
    add(app, "high hype", "new_page", [hook], min_hype=60)
    add(app, "cure added", "changed_page", [hook], signals=("cure_claim",))
    add(app, "disclosure dropped", "changed_page", [hook], signals=("testimonial",), risk_disclosure_dropped=True)
    store_pages(app, ["https://clinic.example/a01", "https://clinic.example/a02"], hype=80)
    store_pages(app, ["https://clinic.example/a03"], hype=20, flagged=(), risk_disclosed=True,
                text="Stem cells for MS. Risks include infection.")
    assert evaluate_alerts(app) == 2
    assert evaluate_alerts(app) == 0  # evaluated again: nothing new
    store_pages(app, ["https://clinic.example/a03"], hype=70, text="Stem cells for MS. " + CURE_SENTENCE)
    assert evaluate_alerts(app) == 2  # adds cure_claim; drops its risk disclosure
    with app.database.session() as session:
        events = {e.event_key.split(":")[1]: e for e in session.scalars(select(AlertEvent))}
        summaries = sorted(e.summary for e in session.scalars(select(AlertEvent)))
    assert len(events) == 3
    assert sum("adds cure_claim" in s for s in summaries) == 1
    assert sum("drops its risk disclosure" in s for s in summaries) == 1
    change = next(e for e in events.values() if "adds cure_claim" in e.summary)
    assert change.details["added"] == [CURE_SENTENCE] and change.details["removed"] == ["Risks include infection."]


def test_crawl_health_fires_on_failed_silent_and_dropping_runs(app, webhook_receiver):
    add(app, "health", "crawl_health", [webhook_receiver.url()], previous_runs=3, drop_ratio=0.5)

    def run(found: int, status: str = "ok") -> None:
        with app.database.session() as session:
            opened = start_crawl_run(session, "news")
            finish_crawl_run(session, opened.id, status, RunCounts(pages_fetched=found, pages_new=found),
                             message="refused" if status == "failed" else None)

    for found in (40, 42, 38):
        run(found)
    assert evaluate_alerts(app) == 0
    run(10)  # far below the median of 40
    run(0, "failed")
    assert evaluate_alerts(app) == 2
    summaries = [e.summary for e in recent_events_of(app)]
    assert any("found 10 pages against a median of 40" in s for s in summaries)
    assert any("run failed" in s for s in summaries)


def recent_events_of(app: Hypewatch):
    with app.database.session() as session:
        return recent_events(session)


def test_trend_fires_when_a_signal_share_jumps(app, webhook_receiver):
    add(app, "cure trend", "trend", [webhook_receiver.url()], signals=("cure_claim",), previous_runs=2,
        min_pages=3, margin=0.2)
    store_pages(app, [f"https://clinic.example/t{i:02d}" for i in range(6)], hype=80)  # all this week
    store_pages(app, [f"https://clinic.example/o{i:02d}" for i in range(6)], hype=10, flagged=())
    with app.database.session() as session:  # the quiet pages were first seen last week and the week before
        from storage.models import Page

        for page in session.scalars(select(Page).where(Page.url.like("%/o%"))):
            page.first_seen -= dt.timedelta(days=7 if page.url[-1] in "012" else 14)
        run = start_crawl_run(session, "test-source")
        finish_crawl_run(session, run.id, "ok", RunCounts(pages_new=6))
    assert evaluate_alerts(app) == 1
    [event] = recent_events_of(app)
    assert "cure_claim" in event.summary and "100%" in event.summary


# ---------------------------------------------------------------------------- messages and delivery
def test_messages_escape_page_text_and_link_only_http():
    details = {"fired": ["adds cure_claim"], "title": "<script>alert(1)</script>", "url": "javascript:alert(1)",
               "dashboard_url": "http://127.0.0.1:8000/articles/1", "hype_score": 80,
               "signals": [{"name": "cure_claim", "label": "Overclaimed efficacy", "evidence": "<b>cured</b>"}],
               "added": ["<img src=x onerror=alert(1)>"], "removed": []}
    message = compose("rule", [DigestEntry("changed page", details)])
    assert "<script>" not in message.html and "<img" not in message.html and 'href="javascript' not in message.html
    assert '<a href="http://127.0.0.1:8000/articles/1">' in message.html
    assert "+ <img src=x onerror=alert(1)>" in message.text


def test_a_burst_of_200_pages_makes_at_most_the_cap_of_messages_with_every_page(app, webhook_receiver):
    add(app, "burst", "new_page", [webhook_receiver.url()], min_hype=60, max_per_hour=3)
    urls = [f"https://clinic.example/b{i:03d}" for i in range(200)]
    for start in range(0, 200, 50):  # four crawls' worth, each evaluated and delivered as a crawl would
        store_pages(app, urls[start:start + 50])
        evaluate_alerts(app)
        deliver_pending(app)
    messages = webhook_receiver.received()
    assert len(messages) == 3  # the cap; the fourth batch waits for the hour to pass
    assert statuses(app) == {"sent": 150, "pending": 50}
    # An hour later the held batch goes out.
    deliver_pending(app, now=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1, minutes=1))
    messages = webhook_receiver.received()
    assert len(messages) == 4 and statuses(app) == {"sent": 200}
    bodies = [m.body["message"] for m in messages]
    assert all(sum(url in body for body in bodies) == 1 for url in urls)  # every page in exactly one message
    assert all(m.body["title"].startswith("[hypewatch] burst: 50 alerts") for m in messages)


def test_email_has_plain_text_and_html_with_the_evidence(app, smtp_receiver):
    add(app, "cure added", "changed_page", [smtp_receiver.url()], signals=("cure_claim",))
    store_pages(app, ["https://clinic.example/e01"], hype=20, flagged=(), text="Stem cells for MS. Nothing more.")
    evaluate_alerts(app)
    store_pages(app, ["https://clinic.example/e01"], hype=75)
    evaluate_alerts(app)
    report = deliver_pending(app)
    assert report.messages == 1
    [mail] = smtp_receiver.received()
    assert "adds cure_claim" in mail.subject and mail.recipients == ["analysts@example.org"]
    for body in (mail.part("text/plain"), mail.part("text/html")):
        assert CURE_SENTENCE in body and "https://clinic.example/e01" in body
        assert "/articles/" in body and "75" in body
    assert mail.message["X-Hypewatch-Message"]  # type: ignore[index]


def test_smtp_down_is_retried_then_recorded_failed(settings, smtp_receiver):
    app = Hypewatch(settings.with_overrides(alert_attempts=3, alert_retry_seconds=0.2))
    port = smtp_receiver.port
    smtp_receiver.close()  # nothing listens there any more
    add(app, "down", "new_page", [f"mailto://localhost:{port}?user=hw&pass={SECRET}&to=a@example.org"
                                  "&from=hypewatch@example.org&mode=insecure"])
    store_pages(app, ["https://clinic.example/d01"])
    evaluate_alerts(app)
    reports = []
    for _ in range(3):
        reports.append(deliver_pending(app))
        time.sleep(1.0)
    assert [(r.retried, r.failed) for r in reports] == [(1, 0), (1, 0), (0, 1)]
    with app.database.session() as session:
        delivery = session.scalars(select(AlertDelivery)).one()
    assert delivery.status == "failed" and delivery.attempts == 3 and "gave up after 3 attempts" in delivery.last_error
    assert SECRET not in delivery.last_error
    [event] = recent_events_of(app)
    assert event.status == "failed"
    app.database.close()


def four_rules_of_five_pages(app: Hypewatch, hook: str) -> None:
    for n in range(4):  # four rules: four digests, sent one after another
        add(app, f"rule {n}", "new_page", [hook], query=f"marker{n}")
    for n in range(4):
        store_pages(app, [f"https://clinic.example/k{n}{i}" for i in range(5)],
                    text=f"Stem cells for MS marker{n}. " + CURE_SENTENCE)


def claiming_processes(app: Hypewatch) -> set[int]:
    """The pids of the processes holding claims (couriers sending)."""
    with app.database.session() as session:
        return {pid for pid in session.scalars(select(AlertDelivery.claimed_pid)
                                               .where(AlertDelivery.status == "sending")) if pid is not None}


def every_page_in_one_message(received) -> bool:
    by_key = {r.headers["X-Hypewatch-Message"]: r.body["message"] for r in received}
    return all(sum(f"https://clinic.example/k{n}{i}\n" in body for body in by_key.values()) == 1
               for n in range(4) for i in range(5))


def test_kill_9_mid_delivery_then_restart_delivers_every_alert_exactly_once(app, cli_env, webhook_receiver,
                                                                             tmp_path):
    four_rules_of_five_pages(app, webhook_receiver.url() + "?rto=60")  # the held message waits for its answer
    webhook_receiver.hold_request(2)  # the second message hangs: the process is killed while sending it
    command = [sys.executable, "-m", "hypewatch", "-v", "alerts", "deliver"]
    first = subprocess.Popen(command, env=cli_env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: len(webhook_receiver.received()) >= 2, 60, "the second message to arrive")
    [courier] = claiming_processes(app)  # the message in flight was claimed by its courier, not by the command
    assert courier != first.pid
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    assert process_alive(courier)  # the kill did not reach it
    assert statuses(app) == {"sent": 5, "sending": 5, "pending": 10}
    log = tmp_path / "again.log"
    with log.open("w") as stderr:  # restarted while the courier still waits for its answer
        again = subprocess.Popen(command, env=cli_env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=stderr,
                                 text=True)
        wait_for(lambda: "waiting for 1 message(s) in flight" in log.read_text(), 120,
                 "the restarted command to wait for the courier")
        assert len(webhook_receiver.received()) == 2  # it sends nothing again meanwhile
        webhook_receiver.release()  # the receiver answers: the courier records the message sent, alone
        out, _ = again.communicate(timeout=180)
    assert again.returncode == 0, log.read_text()
    assert "2 message(s) sent carrying 10 alert(s)" in out
    assert "waited for 1 message(s) another process had in flight" in out
    assert not process_alive(courier)
    assert statuses(app) == {"sent": 20}
    with app.database.session() as session:  # every message was claimed by a courier, none by a command
        assert not set(session.scalars(select(AlertDelivery.claimed_pid))) & {first.pid, again.pid}
    received = webhook_receiver.received()
    keys = [r.headers["X-Hypewatch-Message"] for r in received]
    assert len(received) == 4 and len(set(keys)) == 4  # four messages, none twice
    assert every_page_in_one_message(received)


def test_kill_9_of_a_courier_sends_its_message_again_under_the_same_key(app, cli_env, webhook_receiver):
    """The documented limit: a courier killed while it sends leaves its claim, taken over by the next
    pass under the same message key: that message may arrive twice, told apart by its key."""
    four_rules_of_five_pages(app, webhook_receiver.url())
    webhook_receiver.hold_request(2)
    command = [sys.executable, "-m", "hypewatch", "alerts", "deliver"]
    first = subprocess.Popen(command, env=cli_env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    wait_for(lambda: len(webhook_receiver.received()) >= 2, 60, "the second message to arrive")
    [courier] = claiming_processes(app)
    os.kill(courier, signal.SIGKILL)
    out, err = first.communicate(timeout=180)  # the command goes on with the other messages
    webhook_receiver.release()
    assert first.returncode == 0, err
    assert "3 message(s) sent carrying 15 alert(s)" in out
    assert f"(pid {courier}) ended before recording what it did (killed by signal 9)" in err
    assert statuses(app) == {"sent": 15, "sending": 5}
    again = subprocess.run(command, env=cli_env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0 and "1 message(s) sent carrying 5 alert(s)" in again.stdout, again.stderr
    assert statuses(app) == {"sent": 20}
    received = webhook_receiver.received()
    keys = [r.headers["X-Hypewatch-Message"] for r in received]
    assert len(received) == 5 and len(set(keys)) == 4 and keys[4] == keys[1]  # the same message, the same key
    assert received[4].body == received[1].body
    assert every_page_in_one_message(received)


def test_where_processes_cannot_fork_the_command_sends_itself(app, cli_env, webhook_receiver):
    add(app, "no fork", "new_page", [webhook_receiver.url()])
    store_pages(app, ["https://clinic.example/n01", "https://clinic.example/n02"])
    script = "import os, sys; del os.fork; from hypewatch.cli import main; sys.exit(main(['alerts', 'deliver']))"
    command = subprocess.Popen([sys.executable, "-c", script], env=cli_env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    out, err = command.communicate(timeout=180)
    assert command.returncode == 0 and "1 message(s) sent carrying 2 alert(s)" in out, err
    with app.database.session() as session:
        assert set(session.scalars(select(AlertDelivery.claimed_pid))) == {command.pid}
    assert statuses(app) == {"sent": 2} and len(webhook_receiver.received()) == 1


def test_a_courier_forked_while_another_thread_sends_goes_on_alone(app, webhook_receiver):
    """As in the scheduler: other threads of the delivering process may be anywhere when a courier
    is forked, here one sending a test message (Apprise's log redirected, its thread pool busy)."""
    add(app, "threads", "new_page", [webhook_receiver.url()])
    assert [o.ok for o in send_test(app, "threads")] == [True]  # Apprise's thread pool exists, idle
    store_pages(app, ["https://clinic.example/f01"])
    evaluate_alerts(app)
    assert deliver_pending(app).messages == 1  # the courier cannot use the pool it inherited
    store_pages(app, ["https://clinic.example/f02"])
    evaluate_alerts(app)
    webhook_receiver.hold_request(3)
    tester = threading.Thread(target=send_test, args=(app, "threads"), daemon=True)
    tester.start()
    wait_for(lambda: len(webhook_receiver.received()) >= 3, 30, "the test message to hang")
    reports: list = []
    deliverer = threading.Thread(target=lambda: reports.append(deliver_pending(app)), daemon=True)
    deliverer.start()
    deliverer.join(60)
    try:
        assert not deliverer.is_alive(), "the courier waited for a lock of another thread"
        assert reports[0].messages == 1 and tester.is_alive()  # delivered while the test message still hangs
    finally:
        for pid in claiming_processes(app):
            os.kill(pid, signal.SIGKILL)
        webhook_receiver.release()
        tester.join(30)
    assert statuses(app) == {"sent": 2}


def test_a_secret_in_a_channel_url_is_never_shown(app, run_cli, webhook_receiver, caplog):
    secret_hook = f"json://user:{SECRET}@127.0.0.1:{webhook_receiver.server.server_address[1]}/hook?token={SECRET}"
    dead = f"mailto://localhost:9?user=hw&pass={SECRET}&to=a@example.org&from=hypewatch@example.org&mode=insecure"
    env = {"HYPEWATCH_ALERT_CHANNELS": dead}
    added = run_cli("alerts", "add", "secret", "--kind", "new_page", "--channel", secret_hook, "--channel", dead,
                    env=env)
    assert added.exit_code == 0, added.stderr
    store_pages(app, ["https://clinic.example/s01"])
    outputs = [added.stdout + added.stderr]
    for args in (("-vv", "alerts", "deliver"), ("alerts", "list"), ("alerts", "list", "--json"),
                 ("-vv", "alerts", "test", "secret")):
        result = run_cli(*args, env=env)
        outputs.append(result.stdout + result.stderr)
    assert len(webhook_receiver.received()) == 2  # the alert and the test reached the webhook
    assert "***" in outputs[2] and "failed" in outputs[-1]
    for output in outputs:
        assert SECRET not in output
    with caplog.at_level(logging.DEBUG):
        send_test(app, "secret")
    assert SECRET not in caplog.text
    with app.database.session() as session:
        stored = [d.channel_shown + (d.last_error or "") for d in session.scalars(select(AlertDelivery))]
    assert stored and not any(SECRET in text for text in stored)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_log_works_on_postgresql(app, webhook_receiver):
    add(app, "pg", "new_page", [webhook_receiver.url()], min_hype=60)
    store_pages(app, [f"https://clinic.example/p{i}" for i in range(3)])
    assert evaluate_alerts(app) == 3
    assert deliver_pending(app).messages == 1 and statuses(app) == {"sent": 3}


# ---------------------------------------------------------------------------- the demo site, crawled twice
CURE_PARAGRAPH = ("Update from the clinic: our stem cell injections cure multiple sclerosis completely, "
                  "and every patient we treated walked out free of MS for good.")


def test_demo_site_recrawl_after_changes_gives_exactly_the_expected_events(app, demo_site, smtp_receiver,
                                                                           webhook_receiver):
    from hypewatch.dispatch import run_crawls
    from storage.models import DocumentVersion, Page, Prediction

    feed = next(s for s in demo_site.sources() if s.kind == "feed")
    add(app, "high hype", "new_page", [webhook_receiver.url()], min_hype=60)
    add(app, "cure added", "changed_page", [smtp_receiver.url()], signals=("cure_claim",))
    add(app, "health", "crawl_health", [webhook_receiver.url()])
    first = run_crawls(app, [feed])[0]
    assert first.ok and first.pages_new > 10

    with app.database.session() as session:
        stored = session.execute(select(Page.id, Page.url, DocumentVersion.text, Prediction.relevant,
                                        Prediction.hype_score, Prediction.flag_cure_claim)
                                 .join(DocumentVersion, DocumentVersion.id == Page.current_version_id)
                                 .join(Prediction, Prediction.id == Page.current_prediction_id)).all()
    high = {row.url for row in stored if row.relevant and row.hype_score >= 60}
    assert high, "the demo feed has high-hype pages"
    [digest] = webhook_receiver.received()  # one message for the whole crawl
    assert f"Alert rule 'high hype' fired {len(high)} time(s)." in digest.body["message"]
    assert all(url in digest.body["message"] for url in high)
    assert smtp_receiver.received() == []

    # One page starts claiming a cure; another gets a harmless edit.
    by_url = {demo_site.article_url(a): a for a in demo_site.articles}
    candidates = [row for row in stored if row.relevant and not row.flag_cure_claim and row.url in by_url]
    cured = next(row for row in candidates
                 if app.model.score(row.text + "\n\n" + CURE_PARAGRAPH).signals["cure_claim"].flagged)
    edited = next(row for row in candidates if row.url != cured.url
                  and not app.model.score(row.text + "\n\nUpdate: corrected a typo in the second paragraph of this "
                                          "article.").signals["cure_claim"].flagged)
    demo_site.revise(by_url[cured.url], CURE_PARAGRAPH)
    demo_site.revise(by_url[edited.url], "Update: corrected a typo in the second paragraph of this article.")
    second = run_crawls(app, [feed])[0]
    assert second.ok and second.pages_changed == 2 and second.pages_new == 0

    with app.database.session() as session:
        events = list(session.scalars(select(AlertEvent).order_by(AlertEvent.id)))
    assert sorted(e.kind for e in events) == ["changed_page"] + ["new_page"] * len(high)
    [change] = [e for e in events if e.kind == "changed_page"]
    assert "adds cure_claim" in change.summary and change.page_id == cured.id
    assert any("cure multiple sclerosis completely" in s for s in change.details["added"])
    assert len(webhook_receiver.received()) == 1  # nothing new for the other rules
    [mail] = smtp_receiver.received()
    assert "cure added" in mail.subject and "adds cure_claim" in mail.subject
    for body in (mail.part("text/plain"), mail.part("text/html")):
        assert "cure multiple sclerosis completely" in body
        assert cured.url in body and f"/articles/{cured.id}" in body
    assert statuses(app) == {"sent": len(high) + 1}
    if os.environ.get("HYPEWATCH_SHOW_ALERTS"):  # how the README's example messages were made
        print(f"\n--- webhook\n{digest.body['title']}\n{digest.body['message']}\n--- email\nSubject: {mail.subject}\n"
              f"{mail.part('text/plain')}\n--- html\n{mail.part('text/html')}")


def test_the_alerts_commands_add_list_and_remove_rules(run_cli):
    added = run_cli("alerts", "add", "cures", "--kind", "changed_page", "--signal", "cure_claim", "--risk-dropped",
                    "--channel", "json://hooks.example.org/x", "--max-per-hour", "2")
    assert added.exit_code == 0 and "added alert rule 1 'cures' (changed_page)" in added.stdout
    again = run_cli("alerts", "add", "cures", "--kind", "new_page")
    assert again.exit_code == 2 and again.stderr.strip() == "hypewatch: error: a rule named 'cures' exists already"
    listed = run_cli("alerts", "list", "--json")
    [rule] = __import__("json").loads(listed.stdout)["rules"]
    assert rule["params"] == {"signals": ["cure_claim"], "risk_disclosure_dropped": True}
    assert rule["channels"] == ["json://hooks.example.org/***"] and rule["max_per_hour"] == 2
    assert run_cli("alerts", "remove", "cures").exit_code == 0
    missing = run_cli("alerts", "remove", "cures")
    assert missing.exit_code == 2 and missing.stderr.strip() == "hypewatch: error: no alert rule 'cures'"
    assert "no alert rules" in run_cli("alerts", "list").stdout
    untested = run_cli("alerts", "add", "quiet", "--kind", "trend")
    assert untested.exit_code == 0 and "names no channel" in untested.stderr
    test = run_cli("alerts", "test", "quiet")
    assert test.exit_code == 2 and "has no channel" in test.stderr and "Traceback" not in test.stderr


def test_a_version_committed_late_with_a_lower_id_is_still_evaluated(app, webhook_receiver):
    """On PostgreSQL a crawl can commit version 2 after another crawl committed version 3: the rule
    must not have moved past it."""
    from storage.models import DocumentVersion, Page, Prediction

    add(app, "late", "new_page", [webhook_receiver.url()], query="latecomer")
    store_pages(app, ["https://clinic.example/l01", "https://clinic.example/l02", "https://clinic.example/l03"])
    with app.database.session() as session:  # leave a gap at the second version's id
        gap = session.scalars(select(Page).where(Page.url.like("%/l02"))).one()
        gap_version = gap.current_version_id
        session.delete(gap)
    assert evaluate_alerts(app) == 0
    with app.database.session() as session:  # a page whose version got the lower id commits only now
        late = Page(url="https://clinic.example/l04", domain="clinic.example")
        session.add(late)
        session.flush()
        session.add(DocumentVersion(id=gap_version, page_id=late.id, fingerprint="f" * 64, title="Late",
                                    text="Stem cells for MS, a latecomer. " + CURE_SENTENCE))
        session.flush()
        row = {"version_id": gap_version, "model_version": "hm-000000000000", "relevance": 0.99, "relevant": True,
               "hype_score": 80.0, "details": {}}
        session.add(Prediction(**row))
    assert evaluate_alerts(app) == 1
