"""The dashboard's pages, JSON API, exports, labelling and security, through a real app on real data."""

from __future__ import annotations

import csv
import io
import re
import socket
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from dashboard.app import create_app
from dashboard.security import CONTENT_SECURITY_POLICY, CSRF_COOKIE
from dashboard.state import DashboardConfig
from hypewatch.app import Hypewatch
from hypewatch.errors import ConfigError
from hypewatch.serving import build_dashboard, check_exposure, dashboard_secret
from storage.owners import Owner
from storage.runs import start_crawl_run
from tests.conftest import BACKENDS, wait_for

PAGES = ["/", "/articles", "/queue", "/sources", "/runs", "/trials", "/docs", "/domains/ms-news.example"]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


@pytest.fixture(scope="module")
def client(dashboard_dataset):
    app = Hypewatch(dashboard_dataset.settings)
    with TestClient(build_dashboard(app)) as test_client:
        yield test_client
    app.database.close()


def _csrf(client: TestClient) -> str:
    client.get("/")
    return client.cookies[CSRF_COOKIE]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_a_strict_policy_and_no_inline_script(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert response.headers["x-frame-options"] == "DENY"
    assert not INLINE_SCRIPT.search(response.text)
    assert " on" not in re.sub(r"<[^>]*>", "", "")  # sanity: the check below looks at attributes
    assert not re.search(r"<[a-z]+[^>]*\son[a-z]+=", response.text, re.I)


def test_trends_give_weekly_series_per_signal(client, dashboard_dataset):
    data = client.get("/api/trends").json()
    assert len(data["weeks"]) >= 10
    assert len(data["articles"]) == len(data["weeks"]) == len(data["mean_hype"])
    assert sum(data["articles"]) >= 30
    assert {s["name"] for s in data["signals"]} == set(data["signal_share"]) == set(data["signal_share_rolling"])
    assert all(v is None or 0 <= v <= 1 for series in data["signal_share"].values() for v in series)
    narrowed = client.get("/api/trends", params={"source": "health-news"}).json()
    assert sum(narrowed["articles"]) < sum(data["articles"])


def test_filters_narrow_the_article_list(client):
    everything = client.get("/api/articles", params={"relevance": "all", "per_page": 200}).json()
    relevant = client.get("/api/articles").json()
    assert everything["total"] > relevant["total"] > 0
    flagged = client.get("/api/articles", params={"signal": "testimonial"}).json()
    assert 0 < flagged["total"] < relevant["total"]
    assert all("testimonial" in a["signals"] for a in flagged["articles"])
    domain = client.get("/api/articles", params={"domain": "ms-news.example", "relevance": "all"}).json()
    assert domain["total"] and all(a["domain"] == "ms-news.example" for a in domain["articles"])
    hyped = client.get("/api/articles", params={"min_hype": 60}).json()
    assert all(a["hype_score"] >= 60 for a in hyped["articles"])
    searched = client.get("/api/articles", params={"q": "Costa Rica", "relevance": "all"}).json()
    assert 0 < searched["total"] < everything["total"]
    dated = everything["articles"][0]["date"]
    one_day = client.get("/api/articles", params={"date_from": dated, "date_to": dated, "relevance": "all"}).json()
    assert one_day["total"] >= 1 and all(a["date"] == dated for a in one_day["articles"])


def test_sorting_and_pagination(client):
    by_hype = client.get("/api/articles", params={"per_page": 10}).json()
    scores = [a["hype_score"] for a in by_hype["articles"]]
    assert scores == sorted(scores, reverse=True) and by_hype["pages"] > 1
    second = client.get("/api/articles", params={"per_page": 10, "page": 2}).json()
    assert not {a["id"] for a in second["articles"]} & {a["id"] for a in by_hype["articles"]}
    by_date = client.get("/api/articles", params={"sort": "date", "order": "asc"}).json()
    dates = [a["date"] for a in by_date["articles"]]
    assert dates == sorted(dates)


@pytest.mark.parametrize("params", [{"min_hype": "lots"}, {"signal": "nonsense"}, {"date_from": "yesterday"},
                                    {"per_page": "100000"}, {"date_from": "2026-05-01", "date_to": "2026-01-01"}])
def test_bad_filters_are_clear_errors(client, params):
    response = client.get("/api/articles", params=params)
    assert response.status_code == 400
    assert response.json()["detail"]
    page = client.get("/articles", params=params)
    assert page.status_code == 400 and "Bad request" in page.text


def test_unknown_article_is_a_404_page(client):
    assert client.get("/api/articles/999999").status_code == 404
    page = client.get("/articles/999999")
    assert page.status_code == 404 and "no article 999999" in page.text.lower()


def test_article_api_has_text_evidence_offsets_versions_and_model(client, dashboard_dataset):
    data = client.get(f"/api/articles/{dashboard_dataset.versioned_page_id}").json()
    text = data["version"]["text"]
    assert data["prediction"]["model_version"].startswith("hm-")
    assert len(data["versions"]) == 2 and data["version"]["current"]
    flagged = [n for n, s in data["prediction"]["signals"].items() if s["flagged"]]
    assert flagged
    for name in flagged:
        for evidence in data["prediction"]["signals"][name]["evidence"]:
            assert text[evidence["start"]:evidence["end"]] == evidence["text"]
    older = client.get(f"/api/articles/{dashboard_dataset.versioned_page_id}",
                       params={"version": data["versions"][0]["id"]}).json()
    assert not older["version"]["current"] and older["version"]["text"] != text


def test_article_page_highlights_each_flagged_signal_and_shows_the_diff(client, dashboard_dataset):
    data = client.get(f"/api/articles/{dashboard_dataset.versioned_page_id}").json()
    html = client.get(f"/articles/{dashboard_dataset.versioned_page_id}").text
    for name, signal in data["prediction"]["signals"].items():
        if signal["flagged"] and signal["evidence"]:
            assert re.search(rf'<mark class="ev[^"]*\bev-{name}\b', html), name
    assert "Changes from the previous version" in html
    assert "<ins>" in html and "reverses MS in nine of ten patients" in html


def test_a_label_needs_the_csrf_token(client, dashboard_dataset):
    page_id = dashboard_dataset.page_ids[3]
    version_id = client.get(f"/api/articles/{page_id}").json()["version"]["id"]
    form = {"version_id": str(version_id), "relevant": "yes", "cure_claim": "no", "note": "no token"}
    response = client.post(f"/articles/{page_id}/labels", data=form, follow_redirects=False)
    assert response.status_code == 403
    forged = client.post(f"/articles/{page_id}/labels", data={**form, "csrf_token": "abc.def"}, follow_redirects=False)
    assert forged.status_code == 403
    assert not [lb for lb in client.get(f"/api/articles/{page_id}").json()["labels"] if lb["note"] == "no token"]


def test_a_label_is_stored_beside_the_prediction(client, dashboard_dataset):
    page_id = dashboard_dataset.page_ids[4]
    before = client.get(f"/api/articles/{page_id}").json()
    form = {"csrf_token": _csrf(client), "version_id": str(before["version"]["id"]), "relevant": "yes",
            "cure_claim": "yes", "clinic_promotion": "no", "missing_trial_reference": "", "testimonial": "no",
            "risk_minimisation": "yes", "hype": "2", "note": "checked by hand", "author": "Ada"}
    response = client.post(f"/articles/{page_id}/labels", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith(f"/articles/{page_id}")
    after = client.get(f"/api/articles/{page_id}").json()
    label = next(lb for lb in after["labels"] if lb["note"] == "checked by hand")
    assert label["author"] == "Ada" and label["hype"] == 2 and label["relevant"] is True
    assert label["signals"] == {"cure_claim": True, "clinic_promotion": False, "missing_trial_reference": None,
                                "testimonial": False, "risk_minimisation": True}
    assert after["prediction"] == before["prediction"]  # predictions are never overwritten
    assert page_id in {a["id"] for a in client.get("/api/articles", params={"labelled": "yes", "per_page": 200}
                                                   ).json()["articles"]}
    assert page_id not in {a["id"] for a in client.get("/api/queue", params={"limit": 200}).json()["articles"]}


def test_review_queue_lists_the_least_certain_first(client):
    rows = client.get("/api/queue").json()["articles"]
    assert rows
    uncertainty = [r["uncertainty"] for r in rows]
    assert uncertainty == sorted(uncertainty, reverse=True)


def test_sources_domains_and_runs(client):
    sources = {s["name"]: s for s in client.get("/api/sources").json()["sources"]}
    assert sources["health-news"]["articles"] > 0 and sources["health-news"]["last_run"]["status"] == "ok"
    assert sources["clinic-watch"]["silent"]  # its last run failed
    domains = client.get("/api/domains").json()["domains"]
    assert {"ms-news.example", "evil.example"} <= {d["name"] for d in domains}
    runs = client.get("/api/runs").json()
    assert runs["total"] == 2 and runs["health"]["failing"] == ["clinic-watch"]
    assert "connection refused" in client.get("/runs").text
    domain = client.get("/api/domains/ms-news.example").json()
    assert domain["domain"]["articles"] > 0 and domain["trends"]["weeks"]


def test_exports_carry_every_filtered_article(client):
    total = client.get("/api/articles", params={"signal": "cure_claim"}).json()["total"]
    response = client.get("/export/articles.csv", params={"signal": "cure_claim"})
    assert response.headers["content-disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == total and all(r["flag_cure_claim"] == "True" for r in rows)
    data = client.get("/export/articles.json", params={"signal": "cure_claim"}).json()
    assert len(data["articles"]) == total and data["filters"] == {"signal": "cure_claim"}


def test_pages_and_exports_show_the_one_hype_band(client, dashboard_dataset):
    from classifier.signals import HIGH_HYPE, hype_band

    rows = list(csv.DictReader(io.StringIO(client.get("/export/articles.csv", params={"relevance": "all"}).text)))
    assert rows and all(r["hype_band"] == hype_band(float(r["hype_score"])) for r in rows)
    article = client.get(f"/api/articles/{dashboard_dataset.page_ids[0]}").json()
    score = article["prediction"]["hype_score"]
    assert f"hype score<br><strong>{hype_band(score)}</strong>" in client.get(f"/articles/{dashboard_dataset.page_ids[0]}").text
    assert client.get("/api/trends").json()["high_hype_threshold"] == HIGH_HYPE


def test_untrusted_title_text_and_url_are_inert(client, dashboard_dataset):
    html = client.get(f"/articles/{dashboard_dataset.xss_page_id}").text
    assert "<script>window.__pwned" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned" in html
    assert 'href="javascript:' not in html.lower()
    assert "onerror=" not in html.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
    listing = client.get("/articles", params={"q": "pwned", "relevance": "all"}).text
    assert "<script>window.__pwned" not in listing and "&lt;script&gt;" in listing
    exported = client.get("/export/articles.csv", params={"q": "pwned", "relevance": "all"}).text
    assert "javascript:" in exported  # kept as data, for the analyst to see


def test_get_requests_change_nothing(client, dashboard_dataset):
    from dashboard.facts import read_stamp

    app = Hypewatch(dashboard_dataset.settings)
    with app.database.session() as session:
        before = read_stamp(session)
    for path in PAGES + ["/api/overview", "/api/articles", "/export/articles.csv", "/api/queue"]:
        client.get(path)
    with app.database.session() as session:
        assert read_stamp(session) == before
    app.database.close()
    assert client.get("/articles/1/labels").status_code == 405


def test_openapi_lists_the_api_and_docs_are_served_locally(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/trends", "/api/articles", "/api/articles/{article_id}", "/api/sources", "/api/runs",
            "/healthz"} <= set(paths)
    docs = client.get("/docs").text
    assert "/vendor/swagger-ui/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client.get("/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/vendor/plotly.min.js").status_code == 200
    assert client.get("/vendor/../pyproject.toml").status_code == 404


def test_credentials_are_required_everywhere_but_healthz(dashboard_dataset):
    settings = dashboard_dataset.settings.with_overrides(dashboard_password="s3cret", dashboard_user="ana")
    app = Hypewatch(settings)
    with TestClient(build_dashboard(app)) as locked:
        assert locked.get("/healthz").status_code == 200
        for path in ("/", "/api/articles", "/docs", "/openapi.json", "/static/app.css", "/vendor/plotly.min.js"):
            response = locked.get(path)
            assert response.status_code == 401 and "basic" in response.headers["www-authenticate"].lower()
        assert locked.get("/", auth=("ana", "wrong")).status_code == 401
        assert locked.get("/", auth=("ana", "s3cret")).status_code == 200
        page_id = dashboard_dataset.page_ids[5]
        version_id = locked.get(f"/api/articles/{page_id}", auth=("ana", "s3cret")).json()["version"]["id"]
        token = locked.cookies[CSRF_COOKIE]
        locked.post(f"/articles/{page_id}/labels", auth=("ana", "s3cret"), follow_redirects=False,
                    data={"csrf_token": token, "version_id": str(version_id), "relevant": "no", "author": "mallory"})
        labels = locked.get(f"/api/articles/{page_id}", auth=("ana", "s3cret")).json()["labels"]
        assert labels[0]["author"] == "ana"  # the signed-in user, not the typed name
    app.database.close()


def test_refuses_to_serve_beyond_loopback_without_a_password(dashboard_dataset):
    app = Hypewatch(dashboard_dataset.settings)
    check_exposure("127.0.0.1", app)
    check_exposure("::1", app)
    with pytest.raises(ConfigError, match="HYPEWATCH_DASHBOARD_PASSWORD"):
        check_exposure("0.0.0.0", app)
    check_exposure("0.0.0.0", Hypewatch(dashboard_dataset.settings.with_overrides(dashboard_password="x")))


def test_the_secret_is_made_once_and_kept_private(tmp_path):
    first = dashboard_secret(tmp_path)
    assert len(first) == 32 and dashboard_secret(tmp_path) == first
    assert (tmp_path / "dashboard-secret").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_every_endpoint_works_on_postgresql(settings):
    from conftest import _store_dashboard_dataset

    dataset = _store_dashboard_dataset(settings, n_documents=12)
    app = Hypewatch(settings)
    with TestClient(build_dashboard(app)) as pg:
        for path in PAGES + ["/api/overview", "/api/trends?source=health-news", "/api/articles?q=stem&sort=date",
                             "/api/articles?labelled=no&signal=cure_claim", "/api/queue", "/api/sources",
                             "/api/domains?domain_sort=mean_hype", "/api/runs", "/export/articles.csv",
                             f"/articles/{dataset.versioned_page_id}", f"/api/articles/{dataset.xss_page_id}",
                             "/sources?domain_sort=mean_hype", "/sources?domain_sort=last_seen"]:
            response = pg.get(path)
            assert response.status_code == 200, (path, response.text[:300])
        trends = pg.get("/api/trends").json()
        assert sum(trends["articles"]) >= 6 and trends["weeks"] == sorted(trends["weeks"])
        page_id = dataset.page_ids[0]
        version_id = pg.get(f"/api/articles/{page_id}").json()["version"]["id"]
        pg.get("/")
        response = pg.post(f"/articles/{page_id}/labels", follow_redirects=False, data={
            "csrf_token": pg.cookies[CSRF_COOKIE], "version_id": str(version_id), "relevant": "no"})
        assert response.status_code == 303
        assert pg.get(f"/api/articles/{page_id}").json()["labels"][0]["relevant"] is False
    app.database.close()


def test_an_empty_database_renders_every_page(database_url):
    from dashboard.app import create_app
    from dashboard.state import DashboardConfig
    from storage.db import Database

    database = Database(database_url)
    app = create_app(database, DashboardConfig(secret_key=b"k" * 32), warm_up=False)
    with TestClient(app) as empty:
        for path in PAGES[:-1] + ["/api/overview", "/api/trends", "/api/articles?q=stem", "/api/queue",
                                  "/api/sources", "/api/domains", "/api/runs", "/export/articles.csv"]:
            assert empty.get(path).status_code == 200, path
        assert empty.get("/api/trends").json()["weeks"] == []
        assert empty.get("/domains/nowhere.example").status_code == 404
    database.close()


def test_labels_from_the_form_are_what_training_with_labels_reads(client, dashboard_dataset):
    page_id = dashboard_dataset.page_ids[11]
    version_id = client.get(f"/api/articles/{page_id}").json()["version"]["id"]
    client.post(f"/articles/{page_id}/labels", follow_redirects=False, data={
        "csrf_token": _csrf(client), "version_id": str(version_id), "relevant": "yes", "cure_claim": "yes",
        "clinic_promotion": "no", "hype": "3", "author": "Lin"})
    documents = {d.id: d for d in Hypewatch(dashboard_dataset.settings).analyst_documents()}
    document = documents[f"analyst-v{version_id}"]
    assert document.relevant and "cure_claim" in document.signals and "clinic_promotion" not in document.signals
    assert document.hype == 3 and document.origin == "analyst"


def test_sentences_an_analyst_marks_become_the_evidence_training_reads(client, dashboard_dataset):
    page_id = dashboard_dataset.xss_page_id
    data = client.get(f"/api/articles/{page_id}").json()
    version_id, text = data["version"]["id"], data["version"]["text"]
    flagged = next(n for n, s in data["prediction"]["signals"].items() if s["flagged"] and s["evidence"])
    sentence = data["prediction"]["signals"][flagged]["evidence"][0]
    html = client.get(f"/articles/{page_id}").text
    mark = f'{flagged}:{sentence["start"]}:{sentence["end"]}'
    assert f'name="evidence" value="{mark}"' in html  # the form offers the model's evidence to confirm
    form = {"csrf_token": _csrf(client), "version_id": str(version_id), "relevant": "yes", flagged: "yes",
            "evidence": [mark], "author": "Mia"}
    response = client.post(f"/articles/{page_id}/labels", data=form, follow_redirects=False)
    assert response.status_code == 303
    documents = {d.id: d for d in Hypewatch(dashboard_dataset.settings).analyst_documents()}
    assert documents[f"analyst-v{version_id}"].evidence[flagged] == (text[sentence["start"]:sentence["end"]],)
    outside = {"csrf_token": _csrf(client), "version_id": str(version_id), flagged: "yes",
               "evidence": [f"{flagged}:0:{len(text) + 50}"]}
    assert client.post(f"/articles/{page_id}/labels", data=outside, follow_redirects=False).status_code == 400
    bad = {"csrf_token": _csrf(client), "version_id": str(version_id), flagged: "yes", "evidence": ["miracle:1:2"]}
    assert client.post(f"/articles/{page_id}/labels", data=bad, follow_redirects=False).status_code == 400


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_runs_whose_process_is_gone_are_marked_failed_at_start_and_in_the_background(app):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid now names no process
    here = socket.gethostname()
    with app.database.session() as session:
        killed = start_crawl_run(session, "killed", Owner(here, dead.pid)).id
        alive = start_crawl_run(session, "alive").id  # this process's: alive
    config = DashboardConfig(secret_key=b"k" * 32, abandoned_runs_every=0.2)
    unstarted = TestClient(create_app(app.database, config, warm_up=False))
    assert _run_statuses(unstarted) == {killed: "running", alive: "running"}  # a GET alone writes nothing
    with TestClient(create_app(app.database, config, warm_up=False)) as client:
        wait_for(lambda: _run_statuses(client)[killed] == "failed", 10, "the dashboard's start-up sweep")
        with app.database.session() as session:  # killed while the dashboard runs
            later = start_crawl_run(session, "later", Owner(here, dead.pid)).id
        wait_for(lambda: _run_statuses(client)[later] == "failed", 10, "the dashboard's background sweep")
        runs = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
        assert runs[killed]["message"] == "abandoned: the process running it is gone" and runs[killed]["silent"]
        assert runs[alive]["status"] == "running"
        assert "failed" in client.get("/runs").text


def _run_statuses(client: TestClient) -> dict[int, str]:
    return {r["id"]: r["status"] for r in client.get("/api/runs").json()["runs"]}


@pytest.fixture
def locked(dashboard_dataset):
    """The dashboard with credentials (user ana), as it runs beyond loopback."""
    app = Hypewatch(dashboard_dataset.settings.with_overrides(dashboard_password="s3cret", dashboard_user="ana"))
    with TestClient(build_dashboard(app)) as test_client:
        yield test_client
    app.database.close()


def test_a_csrf_pair_planted_from_another_session_is_refused(locked, dashboard_dataset):
    page_id = dashboard_dataset.page_ids[13]
    version_id = locked.get(f"/api/articles/{page_id}", auth=("ana", "s3cret")).json()["version"]["id"]
    # The attacker's page, on another port of this host, fetched a valid pair without credentials
    # (/healthz is open) and planted its cookie in the analyst's browser: cookies ignore ports.
    with TestClient(locked.app) as attacker:
        attacker.get("/healthz")
        planted = attacker.cookies[CSRF_COOKIE]
    [own_cookie] = [c for c in locked.cookies.jar if c.name == CSRF_COOKIE]
    locked.cookies.set(CSRF_COOKIE, planted, domain=own_cookie.domain, path=own_cookie.path)
    form = {"csrf_token": planted, "version_id": str(version_id), "relevant": "no", "note": "planted"}
    response = locked.post(f"/articles/{page_id}/labels", auth=("ana", "s3cret"), data=form, follow_redirects=False)
    assert response.status_code == 403
    labels = locked.get(f"/api/articles/{page_id}", auth=("ana", "s3cret")).json()["labels"]
    assert not [label for label in labels if label["note"] == "planted"]
    # The analyst's own token, issued for the signed-in session, still works.
    own = locked.cookies[CSRF_COOKIE]
    assert own != planted
    saved = locked.post(f"/articles/{page_id}/labels", auth=("ana", "s3cret"), follow_redirects=False,
                        data={**form, "csrf_token": own, "note": "own"})
    assert saved.status_code == 303


def test_a_label_posted_from_another_origin_is_refused(client, dashboard_dataset):
    page_id = dashboard_dataset.page_ids[14]
    version_id = client.get(f"/api/articles/{page_id}").json()["version"]["id"]
    form = {"csrf_token": _csrf(client), "version_id": str(version_id), "relevant": "no", "note": "from another port"}
    # What Chromium sends for a form on http://127.0.0.1:8001 posting to the dashboard on :8000.
    response = client.post(f"/articles/{page_id}/labels", data=form, headers={"Sec-Fetch-Site": "same-site"},
                           follow_redirects=False)
    assert response.status_code == 403
    assert not [lb for lb in client.get(f"/api/articles/{page_id}").json()["labels"] if lb["note"] == "from another port"]
    same = client.post(f"/articles/{page_id}/labels", data=form, headers={"Sec-Fetch-Site": "same-origin"},
                       follow_redirects=False)
    assert same.status_code == 303


def test_password_guesses_are_throttled_and_a_correct_sign_in_resets_the_count(locked, dashboard_dataset):
    for _ in range(9):
        assert locked.get("/api/runs", auth=("ana", "guess")).status_code == 401
    assert locked.get("/api/runs", auth=("ana", "s3cret")).status_code == 200  # resets the count
    for _ in range(10):
        assert locked.get("/api/runs", auth=("ana", "guess")).status_code == 401
    statuses = [locked.get("/api/runs", auth=("ana", "guess")).status_code for _ in range(90)]
    assert statuses == [429] * 90  # 100 guesses: 10 checked, 90 refused unchecked
    refused = locked.get("/api/runs", auth=("ana", "s3cret"))  # even the right password, for a while
    assert refused.status_code == 429 and 200 <= int(refused.headers["retry-after"]) <= 300
    assert locked.get("/healthz").status_code == 200
    assert locked.get("/api/runs").status_code == 401  # a browser's first request (no credentials) is no guess


def test_an_article_id_beyond_any_row_is_not_found(client):
    # PostgreSQL's ids are 32-bit: 2**31 must be "not found", never a database error (Schemathesis found it).
    for path in ("/api/articles/2147483648", "/articles/2147483648", "/articles/1?version=99999999999"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)


@pytest.mark.parametrize("q", ["0_0", "stem_cell", "stem-cell", "o'clock", "a.b.c", "MS/HSCT", "ñandú__x"])
def test_search_words_joined_by_separators_are_searched_not_refused(client, q):
    for path in ("/api/articles", "/api/queue", "/articles"):
        assert client.get(path, params={"q": q}).status_code == 200, (path, q)
