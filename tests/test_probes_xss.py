"""Probe: script payloads through a real browser. Hostile titles, texts, authors, URLs and crawl-run
messages (each payload a different way of getting a script to run) are stored as crawled pages,
and headless Chromium views every page that shows them: each payload's article page, the article
list searched for them, the overview, the review queue, the sources, the domain and the runs.
Every view happens twice: with the dashboard's Content-Security-Policy, and with the browser told
to ignore it, so that escaping alone must hold. A payload that runs records itself in
`window.__pwned` (a setter installed before any page script) or opens a dialog. The figure
expected: 0 ran.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from hypewatch.app import Hypewatch
from hypewatch.serving import DashboardServer, build_dashboard
from hypewatch.settings import Settings
from tests.conftest import SEEDS_DIR

pytestmark = pytest.mark.browser

DOMAIN = "evil.example"


def payloads() -> list[str]:
    """Each one, if it ran, would set window.__pwned to its own number."""
    run = "window.__pwned={n}"
    forms = [
        "<script>{run}</script>",
        '<img src=x onerror="{run}">',
        '<svg onload="{run}">',
        '"><script>{run}</script>',
        "'><img src=x onerror={run}>",
        "</title><script>{run}</script>",
        "</textarea><script>{run}</script>",
        "</script><script>{run}</script>",
        "\u2028\u2029</script><script>{run}</script>",
        '<iframe srcdoc="<script>parent.__pwned={n}</script>"></iframe>',
        '<a href="javascript:{run}">read more</a>',
        '<body onload="{run}">',
        '<details open ontoggle="{run}">',
        '<input autofocus onfocus="{run}">',
        '" autofocus onfocus="{run}" x="',
        "' autofocus onfocus='{run}' x='",
        '<video><source onerror="{run}"></video>',
        "<svg><script>{run}</script></svg>",
        '<math><mtext><table><mglyph><style><img src=x onerror="{run}">',
        "<noscript><p title=\"</noscript><img src=x onerror={run}>\">",
        "<scr<script>ipt>{run}</script>",
        "<img src=x onerror=&#x77;indow.__pwned={n}>",
        '<object data="javascript:{run}"></object>',
        '<meta http-equiv="refresh" content="0;url=javascript:{run}">',
        "{{{{constructor.constructor('{run}')()}}}}",
        "${{{run}}}",
        "javascript:{run}",
        "data:text/html,<script>{run}</script>",
    ]
    return [form.format(run=run.format(n=n), n=n) for n, form in enumerate(forms, start=1)]


PAYLOADS = payloads()
RECORDER = """
window.__ran = [];
Object.defineProperty(window, '__pwned', {set(value) { window.__ran.push(String(value)); },
                                           get() { return window.__ran; }});
"""


@pytest.fixture(scope="module")
def hostile_dashboard(tmp_path_factory, model_dir):
    """A dashboard whose database holds one page per payload (in its title, text, author and URL)
    and a failed crawl run whose message and error names carry them too."""
    from storage.documents import ExtractedDocument, PredictionScores
    from storage.repository import upsert_source
    from storage.runs import RunCounts, finish_crawl_run, start_crawl_run
    from storage.writes import store_document, store_prediction

    home = tmp_path_factory.mktemp("xss-home")
    shutil.copytree(model_dir, home / "models")
    settings = Settings.from_environ({"HYPEWATCH_HOME": str(home), "HYPEWATCH_SEEDS": str(SEEDS_DIR)})
    app = Hypewatch(settings)
    page_ids = []
    now = dt.datetime.now(dt.UTC)
    with app.database.session() as session:
        app.register_model(session)
        source = upsert_source(session, "clinic-watch", "site", {"start_urls": [f"https://{DOMAIN}/"]})
        for n, payload in enumerate(PAYLOADS, start=1):
            text = (f"Our clinic cures multiple sclerosis with stem cells {payload}. Patients walk again after "
                    f"one injection of mesenchymal stem cells.\nBook a consultation today {payload}: treatment "
                    "packages start at $15,000 and there are no side effects at all.")
            url = payload if payload.startswith(("javascript:", "data:")) else f"https://{DOMAIN}/p{n}/{payload}"
            stored = store_document(session, ExtractedDocument(
                url=url, domain=DOMAIN, text=text, title=f"Miracle cure {payload}", author=payload,
                published=now.date(), language="en", fetched_at=now), source_id=source.id)
            store_prediction(session, stored.version_id, PredictionScores.from_dict(app.model.score(text).to_dict()))
            page_ids.append(stored.page_id)
        run = start_crawl_run(session, "clinic-watch")
        finish_crawl_run(session, run.id, "failed", RunCounts(pages_fetched=1, errors={p: 1 for p in PAYLOADS}),
                         message=" ".join(PAYLOADS))
    with DashboardServer(build_dashboard(app)) as server:
        yield server, page_ids
    app.database.close()


def test_no_script_payload_runs_in_a_real_browser(browser, hostile_dashboard, probe_report):
    server, page_ids = hostile_dashboard
    paths = [f"/articles/{page_id}" for page_id in page_ids] + [
        "/articles?q=miracle&relevance=all", "/", "/queue", "/sources", f"/domains/{DOMAIN}", "/runs"]
    ran: dict[str, list[str]] = {}
    views = shown_as_text = 0
    for bypass_csp in (False, True):
        context = browser.new_context(base_url=server.url.rstrip("/"), bypass_csp=bypass_csp)
        context.add_init_script(RECORDER)
        tab = context.new_page()
        dialogs: list[str] = []
        tab.on("dialog", lambda dialog, seen=dialogs: (seen.append(dialog.message), dialog.dismiss()))
        tab.set_content('<img src=x onerror="window.__pwned=0">')  # the control: the recorder sees a run
        tab.wait_for_function("window.__ran.length > 0")
        assert tab.evaluate("window.__ran") == ["0"]
        for path in paths:
            response = tab.goto(path)
            assert response is not None and response.status == 200, path
            tab.wait_for_load_state("networkidle")
            views += 1
            found = tab.evaluate("window.__ran") + dialogs
            if found:
                ran[f"{path} (CSP {'bypassed' if bypass_csp else 'on'})"] = found
            dialogs.clear()
            if path.startswith("/articles/"):  # the payload is there, shown as text
                title = tab.locator("h1.article-title").inner_text()
                shown_as_text += title.startswith("Miracle cure ") and "__pwned=" in title
        context.close()
    probe_report["xss_browser"] = {"payloads": len(PAYLOADS), "pages": len(paths), "views": views,
                                   "csp": ["on", "bypassed"], "titles_shown_as_text": shown_as_text,
                                   "ran": sum(len(v) for v in ran.values())}
    assert len(PAYLOADS) >= 25
    assert ran == {}
    assert shown_as_text == 2 * len(page_ids)
