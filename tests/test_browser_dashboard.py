"""The dashboard in headless Chromium, served by uvicorn for real: charts, filters, evidence,
labelling, script payloads that must stay inert, and an alert rule made from the filtered article
list with a test message sent to a real webhook receiver. Saves screenshots to artifacts/screenshots/."""

from __future__ import annotations

import pytest

from hypewatch.app import Hypewatch
from hypewatch.serving import DashboardServer, build_dashboard
from hypewatch.settings import PROJECT_ROOT

pytestmark = pytest.mark.browser

SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def server(dashboard_dataset):
    app = Hypewatch(dashboard_dataset.settings)
    with DashboardServer(build_dashboard(app)) as running:
        yield running
    app.database.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=server.url.rstrip("/"))
    tab = context.new_page()
    tab.problems = []
    tab.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
    tab.on("console", lambda m: tab.problems.append(f"console: {m.text}") if m.type == "error" else None)
    tab.on("dialog", lambda dialog: (tab.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    yield tab
    context.close()


def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_overview_charts_render_with_data(page):
    page.goto("/")
    for chart in ("#chart-volume", "#chart-signals"):
        page.wait_for_selector(f'{chart}[data-rendered="true"]', timeout=20_000)
    assert page.locator("#chart-volume .main-svg .bars .point").count() >= 10  # one bar per week with articles
    assert page.locator("#chart-signals .main-svg .scatterlayer .trace").count() == 5  # one line per signal
    assert int(page.locator(".kpi-value").first.inner_text().replace(",", "")) > 0
    assert page.locator(".article-list li").count() > 0
    _screenshot(page, "overview.png")
    assert page.problems == []


def test_filters_narrow_the_list(page):
    page.goto("/articles")
    before = page.locator(".articles-table tbody tr").count()
    page.select_option("select[name=signal]", "testimonial")
    page.fill("input[name=min_hype]", "30")
    page.click("button:has-text('Apply')")
    page.wait_for_url("**signal=testimonial**")
    rows = page.locator(".articles-table tbody tr")
    assert 0 < rows.count() < before
    for i in range(rows.count()):
        row = rows.nth(i)
        assert row.locator(".chip.sig-testimonial").count() == 1
        assert float(row.locator(".hype").inner_text()) >= 30
    page.fill("input[name=q]", "Costa Rica")
    page.click("button:has-text('Apply')")
    page.wait_for_url("**q=Costa+Rica**")
    assert page.locator(".articles-table tbody tr").count() <= rows.count()
    assert page.problems == []


def test_article_page_highlights_evidence_for_each_flagged_signal(page, server, dashboard_dataset):
    article_id = dashboard_dataset.versioned_page_id
    data = page.request.get(f"/api/articles/{article_id}").json()
    flagged = [n for n, s in data["prediction"]["signals"].items() if s["flagged"] and s["evidence"]]
    assert flagged
    page.goto(f"/articles/{article_id}")
    for name in flagged:
        marks = page.locator(f"#doc-text mark.ev-{name}")
        assert marks.count() >= 1, name
        colour = marks.first.evaluate("m => getComputedStyle(m).borderBottomColor")
        assert colour not in ("rgba(0, 0, 0, 0)", ""), name
        assert page.locator(f".legend [data-toggle-signal={name}]").count() == 1
    first = flagged[0]
    page.click(f".legend [data-toggle-signal={first}]")
    assert page.locator(f"#doc-text mark.ev-{first}.muted-mark").count() >= 1
    page.click(f".legend [data-toggle-signal={first}]")
    assert page.locator(".diff ins").count() >= 1
    _screenshot(page, "article-versions.png")
    top = page.request.get("/api/articles?per_page=1").json()["articles"][0]
    page.goto(f"/articles/{top['id']}")
    for name in top["signals"]:
        assert page.locator(f"#doc-text mark.ev-{name}").count() >= 1, name
    _screenshot(page, "article.png")
    assert page.problems == []


def test_a_label_submitted_through_the_form_is_stored(page, dashboard_dataset):
    article_id = dashboard_dataset.page_ids[7]
    page.goto(f"/articles/{article_id}")
    page.check("input[name=relevant][value=yes]")
    page.check("input[name=cure_claim][value=yes]")
    page.check("input[name=testimonial][value=no]")
    page.select_option("select[name=hype]", "3")
    page.fill("textarea[name=note]", "browser label")
    page.fill("input[name=author]", "Grace")
    page.click("button:has-text('Save label')")
    page.wait_for_selector("#label-saved")
    labels = page.request.get(f"/api/articles/{article_id}").json()["labels"]
    label = next(lb for lb in labels if lb["note"] == "browser label")
    assert label["author"] == "Grace" and label["hype"] == 3
    assert label["signals"]["cure_claim"] is True and label["signals"]["testimonial"] is False
    assert page.locator(".label-history li").first.inner_text().startswith("Grace")
    assert page.problems == []


def test_script_payloads_in_title_text_and_url_stay_inert(page, dashboard_dataset):
    from conftest import XSS_TITLE, XSS_URL

    for path in (f"/articles/{dashboard_dataset.xss_page_id}", "/articles?q=pwned&relevance=all", "/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof window.__pwned") == "undefined", path
        assert page.locator("#doc-text script, .article-title script, main img[src=x]").count() == 0
    page.goto(f"/articles/{dashboard_dataset.xss_page_id}")
    assert page.locator("h1.article-title").inner_text() == XSS_TITLE
    assert "<script>window.__pwned = 'text'</script>" in page.locator("#doc-text").inner_text()
    assert page.locator("a[href^='javascript:' i]").count() == 0
    assert page.locator(".unlinked").inner_text() == XSS_URL
    assert not [p for p in page.problems if "dialog" in p]


def test_a_page_on_another_port_cannot_plant_a_csrf_pair_and_post_a_label(browser, server, dashboard_dataset):
    """The issue's probe: a page served on another port of the same host sets the CSRF cookie to a
    valid pair it fetched from the dashboard (cookies ignore ports) and posts the label form."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import httpx

    from dashboard.security import CSRF_COOKIE

    article_id = dashboard_dataset.page_ids[15]
    version_id = httpx.get(f"{server.url}api/articles/{article_id}", timeout=30).json()["version"]["id"]
    planted = httpx.get(f"{server.url}healthz", timeout=30).cookies[CSRF_COOKIE]
    attack = (f'<html><body><form id="f" method="post" action="{server.url}articles/{article_id}/labels">'
              f'<input name="csrf_token" value="{planted}"><input name="version_id" value="{version_id}">'
              '<input name="relevant" value="no"><input name="note" value="planted from another port"></form>'
              '<script>document.getElementById("f").submit()</script></body></html>').encode()

    class Attacker(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Set-Cookie", f"{CSRF_COOKIE}={planted}; Path=/")
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(attack)))
            self.end_headers()
            self.wfile.write(attack)

        def log_message(self, *args) -> None:
            pass

    attacker = ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.goto(server.url)  # the analyst has the dashboard open: it holds its own CSRF cookie
        tab.goto(f"http://127.0.0.1:{attacker.server_address[1]}/")
        tab.wait_for_url(lambda url: url.startswith(server.url))  # the form was posted to the dashboard
        tab.wait_for_load_state()
        assert "saved=1" not in tab.url and "Forbidden" in tab.content()
    finally:
        context.close()
        attacker.shutdown()
        attacker.server_close()
    labels = httpx.get(f"{server.url}api/articles/{article_id}", timeout=30).json()["labels"]
    assert not [label for label in labels if label["note"] == "planted from another port"]


# ---------------------------------------------------------------- alerts
ALERT_SECRET = "browser-Secret-42"


@pytest.fixture
def alerts_server(writable_dashboard_dataset, webhook_receiver):
    port = webhook_receiver.server.server_address[1]
    channel = f"json://hw:{ALERT_SECRET}@127.0.0.1:{port}/hook?token={ALERT_SECRET}"
    app = Hypewatch(writable_dashboard_dataset.settings.with_overrides(alert_channels=(channel,)))
    with DashboardServer(build_dashboard(app)) as running:
        yield running
    app.database.close()


@pytest.fixture
def alerts_page(browser, alerts_server):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=alerts_server.url.rstrip("/"))
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    yield tab, problems
    context.close()


def test_a_rule_from_the_filtered_article_list_and_a_test_message(alerts_page, webhook_receiver):
    tab, problems = alerts_page
    tab.goto("/articles")
    tab.select_option("select[name=signal]", "cure_claim")
    tab.fill("input[name=min_hype]", "40")
    tab.click("button:has-text('Apply')")
    tab.wait_for_url("**/articles?*signal=cure_claim*")
    tab.fill("form.alert-me input[name=name]", "cure claims 40+")
    tab.click("button:has-text('Alert me on this')")
    tab.wait_for_url("**/alerts?*")
    row = tab.locator("#rules tr", has_text="cure claims 40+")
    assert "min_hype=40.0" in row.inner_text() and "signals=cure_claim" in row.inner_text()
    row.locator("button:has-text('Send a test')").click()
    tab.wait_for_selector("#test-result")
    assert "sent" in tab.locator("#test-result").inner_text()
    [hook] = webhook_receiver.received()
    assert hook.body["title"] == "[hypewatch] test of alert rule 'cure claims 40+'"
    api = tab.request.get("/api/alerts").json()
    assert api["rules"][0]["params"] == {"min_hype": 40.0, "signals": ["cure_claim"]}
    assert ALERT_SECRET not in tab.content() and ALERT_SECRET not in str(api)
    _screenshot(tab, "alerts.png")
def test_a_page_citing_a_withdrawn_trial_as_proof_shows_the_judgement(browser, settings, registry, tmp_path):
    from classifier.trials import JUDGEMENTS, STOPPED
    from tests.conftest import ct_study

    registry.add(ct_study("NCT10000002", status="WITHDRAWN", enrollment=0, has_results=False))
    app = Hypewatch(settings.with_overrides(registry_url=registry.base_url))
    path = tmp_path / "clinic.html"
    path.write_text(
        '<html><head><meta charset="utf-8"><title>Stem cells cure MS</title></head><body><article>'
        "<h1>Stem cells cure MS</h1><p>Our stem cell treatment for multiple sclerosis is proven: it is backed "
        "by clinical trial NCT10000002, registered on ClinicalTrials.gov. Book your consultation today.</p>"
        "</article></body></html>", encoding="utf-8")
    page_id = app.save(app.check(str(path))).page_id
    with DashboardServer(build_dashboard(app)) as running:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=running.url.rstrip("/"))
        tab = context.new_page()
        problems: list[str] = []
        tab.on("pageerror", lambda error: problems.append(str(error)))
        tab.goto(f"/articles/{page_id}")
        trial = tab.locator('#cited-trials li[data-identifier="NCT10000002"]')
        assert trial.locator("a.external").get_attribute("href") == "https://clinicaltrials.gov/study/NCT10000002"
        assert trial.locator(".trial-status").inner_text() == "withdrawn"
        assert trial.locator(f'[data-judgement="{STOPPED}"]').inner_text() == JUDGEMENTS[STOPPED]
        _screenshot(tab, "article-withdrawn-trial.png")
        tab.click("text=all cited trials")
        row = tab.locator('.trials-table tr[data-identifier="NCT10000002"]')
        assert row.locator(f'[data-judgement="{STOPPED}"]').count() == 1
        assert row.locator(f'a[href="/articles/{page_id}"]').count() == 1
        _screenshot(tab, "trials.png")
        context.close()
    app.database.close()
    assert problems == []
