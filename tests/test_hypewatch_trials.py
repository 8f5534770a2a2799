"""hypewatch.trials against a local ClinicalTrials.gov API v2 server: judgements of checked pages,
a registry that is down or rate-limiting, the cache (no second request), `trials refresh`, crawls."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import delete, func, select

from classifier.trials import (
    JUDGEMENTS,
    NO_RESULTS,
    NOT_CELL_THERAPY,
    NOT_FOUND,
    NOT_MS,
    PARTICIPANTS_PAY,
    SELF_SPONSORED,
    STOPPED,
    UNVERIFIED,
    VERIFIED,
)
from crawler.sources import SourceConfig
from dashboard.cache import STAMP_TTL_SECONDS
from hypewatch.app import Hypewatch
from hypewatch.dispatch import run_crawl
from hypewatch.trials import RegistryClient, resolve
from storage.models import AlertEvent, CitedReference, DocumentVersion, Page, Prediction, TrialRecord
from tests.conftest import SEEDS_DIR, article_html, ct_study, wait_for

GOOD = "NCT10000001"
WITHDRAWN = "NCT10000002"
KNEE = "NCT10000003"
DRUG = "NCT10000004"
SILENT = "NCT10000005"
OWN = "NCT10000006"
MISSING = "NCT19999999"

STUDIES = [
    ct_study(GOOD),
    ct_study(WITHDRAWN, status="WITHDRAWN", enrollment=0, has_results=False, completion="2020-01"),
    ct_study(KNEE, title="Cell therapy for knee osteoarthritis", conditions=("Osteoarthritis, Knee",)),
    ct_study(DRUG, title="An antibody in relapsing multiple sclerosis", interventions=("Ocrelizumab",)),
    ct_study(SILENT, has_results=False, completion="2020-05-31"),
    ct_study(OWN, sponsor="Acmeregen Stem Cell Clinic", sponsor_class="INDUSTRY"),
]

BODY = ("Multiple sclerosis patients ask about stem cell treatment. {cite} "
        "Our doctors review every case before a consultation, and the clinic answers questions by phone.")
PAGES = {  # judgement -> (the page's sentence citing a trial, its site name)
    VERIFIED: (f"The trial {GOOD} found fewer relapses after transplantation.", "Example News"),
    NOT_FOUND: (f"Our protocol is registered on ClinicalTrials.gov ({MISSING}).", "Example News"),
    NOT_MS: (f"A clinical trial ({KNEE}) proves our cells repair nerves.", "Example News"),
    NOT_CELL_THERAPY: (f"A trial ({DRUG}) proves stem cells work in MS.", "Example News"),
    STOPPED: (f"Our treatment is backed by clinical trial {WITHDRAWN}.", "Example News"),
    NO_RESULTS: (f"In our clinical trial {SILENT}, 90% improved.", "Example News"),
    SELF_SPONSORED: (f"Our own clinical trial {OWN} shows 90% improved.", "Acmeregen"),
    PARTICIPANTS_PAY: (f"Join trial {GOOD}: patients pay to join the study.", "Example News"),
}


def page_html(cite: str, site_name: str) -> str:
    return (f'<html><head><meta charset="utf-8"><meta property="og:site_name" content="{site_name}">'
            f"<title>Stem cells for MS</title></head><body><article><h1>Stem cells for MS</h1>"
            f"<p>{BODY.format(cite=cite)}</p></article></body></html>")


@pytest.fixture
def registry_app(settings, registry):
    for study in STUDIES:
        registry.add(study)
    application = Hypewatch(settings.with_overrides(registry_url=registry.base_url, registry_rate="100/second"))
    yield application
    if "database" in application.__dict__:
        application.database.close()


@pytest.mark.parametrize("judgement", list(PAGES))
def test_a_page_built_for_each_judgement_gets_it(registry_app, tmp_path, judgement):
    cite, site_name = PAGES[judgement]
    path = tmp_path / "page.html"
    path.write_text(page_html(cite, site_name), encoding="utf-8")
    result = registry_app.check(str(path))
    [trial] = result.trials
    assert judgement in trial.judgements, trial.judgements
    if judgement == VERIFIED:
        assert trial.judgements == (VERIFIED,)
    text = result.extraction.text
    start, end = trial.spans[0]
    assert text[start:end] == trial.identifier


@pytest.mark.parametrize("status", [429, 503])
def test_a_registry_rate_limiting_or_failing_leaves_references_unverified(registry_app, registry, tmp_path, status):
    registry.answer_all(status, {"Retry-After": "60"} if status == 429 else None)
    path = tmp_path / "page.txt"
    path.write_text(BODY.format(cite=PAGES[STOPPED][0]), encoding="utf-8")
    [trial] = registry_app.check(str(path)).trials
    assert trial.judgements == (UNVERIFIED,) and trial.record is None
    with registry_app.database.session() as session:
        assert session.scalars(select(TrialRecord)).all() == []  # nothing cached from a failed answer


def test_a_registry_that_is_down_leaves_references_unverified(settings, tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    application = Hypewatch(settings.with_overrides(registry_url=f"http://127.0.0.1:{port}", fetch_timeout=2))
    path = tmp_path / "page.txt"
    path.write_text(BODY.format(cite=f"{PAGES[STOPPED][0]} And {GOOD}."), encoding="utf-8")
    trials = application.check(str(path)).trials
    assert [t.judgements for t in trials] == [(UNVERIFIED,), (UNVERIFIED,)]
    application.database.close()


def test_checking_again_asks_the_registry_nothing_while_records_are_fresh(registry_app, registry, tmp_path):
    path = tmp_path / "page.txt"
    path.write_text(BODY.format(cite=f"Trials {GOOD}, {WITHDRAWN} and {MISSING}."), encoding="utf-8")
    first = registry_app.check(str(path)).trials
    assert len(registry.study_requests) == 3
    second = registry_app.check(str(path)).trials
    assert len(registry.study_requests) == 3
    assert [t.judgements for t in first] == [t.judgements for t in second]
    assert [t.judgements for t in second] == [(VERIFIED,), (STOPPED,), (NOT_FOUND,)]


def test_the_client_sends_our_user_agent_and_asks_only_for_the_fields_it_keeps(registry, settings):
    registry.add(ct_study(GOOD))
    client = RegistryClient(registry.base_url, user_agent="hypewatch-test/1", timeout=5, rate="10/second")
    record = client.study(GOOD)
    client.close()
    assert record.found and record.phase == "PHASE3" and record.enrollment == 120 and record.results_posted
    assert record.sponsor_class == "OTHER" and record.start_date == "2015-02" and record.completion_date == "2019-06-30"
    assert registry.site.requests[-1].startswith(f"/api/v2/studies/{GOOD}?fields=")


def test_check_report_and_json_show_a_withdrawn_trial(run_cli, registry, tmp_path):
    for study in STUDIES:
        registry.add(study)
    path = tmp_path / "page.txt"
    path.write_text(BODY.format(cite=PAGES[STOPPED][0]), encoding="utf-8")
    env = {"HYPEWATCH_REGISTRY_URL": registry.base_url}
    out = run_cli("check", "--json", str(path), env=env)
    assert out.exit_code == 0, out.stderr
    [trial] = json.loads(out.stdout)["cited_trials"]
    assert trial["identifier"] == WITHDRAWN and trial["status"] == "WITHDRAWN"
    assert trial["judgements"] == [{"name": STOPPED, "label": JUDGEMENTS[STOPPED]}]
    assert trial["url"] == f"https://clinicaltrials.gov/study/{WITHDRAWN}"
    report = run_cli("check", str(path), env=env)
    assert report.exit_code == 0, report.stderr
    assert WITHDRAWN in report.stdout and "withdrawn" in report.stdout
    assert JUDGEMENTS[STOPPED].split(",")[0] in report.stdout
    assert len(registry.study_requests) == 1  # the second check read the cache


def test_trials_refresh_fetches_only_what_is_missing_or_stale(run_cli, registry_app, registry, tmp_path):
    path = tmp_path / "page.txt"
    path.write_text(BODY.format(cite=f"Trials {GOOD} and {KNEE}."), encoding="utf-8")
    registry_app.save(registry_app.check(str(path)))
    asked = len(registry.study_requests)
    env = {"HYPEWATCH_REGISTRY_URL": registry.base_url}
    out = run_cli("trials", "refresh", "--json", env=env)
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["asked"] == 0 and len(registry.study_requests) == asked
    with registry_app.database.session() as session:  # make one record stale
        row = session.scalars(select(TrialRecord).where(TrialRecord.identifier == KNEE)).one()
        row.fetched_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    out = run_cli("trials", "refresh", env=env)
    assert out.exit_code == 0, out.stderr
    assert "1 asked, 1 found" in out.stdout and registry.study_requests[-1].startswith(f"/api/v2/studies/{KNEE}")
    out = run_cli("trials", "refresh", env={"HYPEWATCH_REGISTRY_URL": "off"})
    assert out.exit_code == 2 and out.stderr.count("\n") == 1 and "off" in out.stderr


def test_a_second_crawl_asks_the_registry_nothing_for_cached_trials(registry_app, registry, own_site):
    text = (SEEDS_DIR / "docs" / "001_7d7ce66c201201cd.txt").read_text(encoding="utf-8")
    urls = [own_site.add(f"/news/{n}", article_html(f"Stem cells and MS, part {n}",
                                                    f"{text}\n\nThe clinic cites trial {nct} as proof."))
            for n, nct in enumerate((WITHDRAWN, GOOD, MISSING))]
    index = own_site.add("/news/", article_html("News", text, extra="".join(f'<a href="{u}">Story {i}</a> '
                                                                            for i, u in enumerate(urls))))
    source = SourceConfig(name="trials", kind="site", start_urls=(index,), allowed_domains=("127.0.0.1",),
                          max_depth=1, max_pages=10, allow_private=True)
    assert run_crawl(registry_app, source).status == "ok"
    assert sorted(p.rsplit("/", 1)[1].split("?")[0] for p in registry.study_requests) == sorted([WITHDRAWN, GOOD,
                                                                                                MISSING])
    with registry_app.database.session() as session:
        cited = set(session.scalars(select(CitedReference.identifier).where(CitedReference.kind == "nct")))
    assert cited == {WITHDRAWN, GOOD, MISSING}
    before = len(registry.study_requests)
    assert run_crawl(registry_app, source).status == "ok"
    assert len(registry.study_requests) == before  # 0 registry requests for cached trials
    assert resolve(registry_app.database, registry_app.registry_client).asked == 0


def test_the_dashboard_lists_cited_trials_on_the_article_and_the_trials_screen(registry_app, tmp_path):
    from fastapi.testclient import TestClient

    from hypewatch.serving import build_dashboard

    saved = {}
    for judgement in (STOPPED, SELF_SPONSORED, VERIFIED):
        cite, site_name = PAGES[judgement]
        path = tmp_path / f"{judgement}.html"
        path.write_text(page_html(cite + " See also PMID: 30667502.", site_name), encoding="utf-8")
        saved[judgement] = registry_app.save(registry_app.check(str(path))).page_id
    with TestClient(build_dashboard(registry_app)) as client:
        article = client.get(f"/api/articles/{saved[STOPPED]}").json()
        [trial] = article["cited_trials"]
        assert trial["identifier"] == WITHDRAWN and trial["status"] == "WITHDRAWN" and trial["misused"]
        assert [j["name"] for j in trial["judgements"]] == [STOPPED]
        start, end = trial["spans"][0]
        assert article["version"]["text"][start:end] == WITHDRAWN
        assert [(r["kind"], r["identifier"]) for r in article["other_references"]] == [("pmid", "30667502")]
        html = client.get(f"/articles/{saved[STOPPED]}").text
        assert f'href="https://clinicaltrials.gov/study/{WITHDRAWN}"' in html and JUDGEMENTS[STOPPED] in html
        rows = {row["identifier"]: row for row in client.get("/api/trials").json()["trials"]}
        assert set(rows) == {WITHDRAWN, OWN, GOOD}
        assert rows[OWN]["pages"][0]["page_id"] == saved[SELF_SPONSORED]
        assert [j["name"] for j in rows[OWN]["pages"][0]["judgements"]] == [SELF_SPONSORED]
        assert [j["name"] for j in rows[GOOD]["pages"][0]["judgements"]] == [VERIFIED]
        assert rows[WITHDRAWN]["misused_by"] == 1 and rows[GOOD]["misused_by"] == 0
        page = client.get("/trials").text
        assert all(ident in page for ident in rows) and JUDGEMENTS[SELF_SPONSORED] in page


def test_a_pass_fetches_at_most_its_limit_never_fetched_first(registry_app, registry, tmp_path):
    path = tmp_path / "page.txt"
    path.write_text(BODY.format(cite=f"Trials {GOOD}, {KNEE} and {DRUG}."), encoding="utf-8")
    registry_app.save(registry_app.check(str(path)))  # caches all three
    path.write_text(BODY.format(cite=f"Trials {OWN}, {SILENT} and {WITHDRAWN}."), encoding="utf-8")
    with registry_app.database.session() as session:
        for row in session.scalars(select(TrialRecord)):
            row.fetched_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    from crawler.citations import citations
    from storage.documents import ExtractedDocument
    from storage.writes import store_document

    text = path.read_text(encoding="utf-8")
    with registry_app.database.session() as session:  # stored without a lookup, as a crawl stores it
        store_document(session, ExtractedDocument("https://b.example/", "b.example", text, citations=citations(text)))
    asked = len(registry.study_requests)
    outcome = resolve(registry_app.database, registry_app.registry_client, refresh=True, limit=4)
    assert outcome.asked == 4 and outcome.unverified == 2
    fetched = [p.rsplit("/", 1)[1].split("?")[0] for p in registry.study_requests[asked:]]
    assert sorted(fetched[:3]) == sorted([OWN, SILENT, WITHDRAWN])  # never fetched before the stale ones


# ---------------------------------------------------------------- judgements as evidence for the score
SIGNAL = "missing_trial_reference"
PROVEN = "Our treatment is proven in our clinical trial {}."


def proven_page(nct_id: str) -> str:
    return BODY.format(cite=PROVEN.format(nct_id))


def test_check_flags_a_withdrawn_trial_cited_as_proof_and_not_a_verified_one(registry_app, tmp_path):
    path = tmp_path / "page.txt"
    path.write_text(proven_page(WITHDRAWN), encoding="utf-8")
    result = registry_app.check(str(path))
    text_alone = registry_app.model.score(result.extraction.text)
    assert not text_alone.signals[SIGNAL].flagged  # the registry's judgement is what flags it
    signal = result.score.signals[SIGNAL]
    assert signal.flagged and [e.text for e in signal.evidence] == [PROVEN.format(WITHDRAWN)]
    assert signal.registry is not None and signal.registry.citations == ((WITHDRAWN, (STOPPED,)),)
    assert result.score.hype_score > text_alone.hype_score
    path.write_text(proven_page(GOOD), encoding="utf-8")
    verified = registry_app.check(str(path)).score
    assert not verified.signals[SIGNAL].flagged and verified.signals[SIGNAL].evidence == ()
    assert verified.signals[SIGNAL].registry is not None and verified.signals[SIGNAL].registry.logit < 0


def test_a_verified_trial_unflags_a_claim_the_text_alone_flags(registry_app, tmp_path):
    path = tmp_path / "page.txt"
    path.write_text(BODY.format(cite=f"Our stem cell treatment stops MS. {PROVEN.format(GOOD)}"), encoding="utf-8")
    result = registry_app.check(str(path))
    assert registry_app.model.score(result.extraction.text).signals[SIGNAL].flagged
    assert not result.score.signals[SIGNAL].flagged


@pytest.mark.parametrize("registry_state", ["off", "down"])
def test_with_the_registry_off_or_down_the_score_is_the_texts_alone(app, registry_app, registry, tmp_path,
                                                                   registry_state):
    path = tmp_path / "page.txt"
    path.write_text(proven_page(WITHDRAWN), encoding="utf-8")
    if registry_state == "down":
        registry.answer_all(503)
    checker = app if registry_state == "off" else registry_app
    result = checker.check(str(path))
    assert result.score == checker.model.score(result.extraction.text)
    assert not result.score.signals[SIGNAL].flagged and result.score.signals[SIGNAL].registry is None


def test_check_report_and_json_say_the_registry_moved_the_signal(run_cli, registry, tmp_path):
    for study in STUDIES:
        registry.add(study)
    path = tmp_path / "page.txt"
    path.write_text(proven_page(WITHDRAWN), encoding="utf-8")
    env = {"HYPEWATCH_REGISTRY_URL": registry.base_url}
    out = run_cli("check", "--json", str(path), env=env)
    assert out.exit_code == 0, out.stderr
    signal = json.loads(out.stdout)["signals"][SIGNAL]
    assert signal["flagged"] and [e["text"] for e in signal["evidence"]] == [PROVEN.format(WITHDRAWN)]
    assert signal["registry"]["citations"] == [{"identifier": WITHDRAWN, "judgements": [STOPPED]}]
    assert signal["registry"]["probability_before"] < signal["probability"]
    report = run_cli("check", str(path), env=env)
    assert report.exit_code == 0, report.stderr
    assert "Moved up by the trial registry's judgement" in " ".join(report.stdout.split())
    plain = json.loads(run_cli("check", "--json", str(path), env={"HYPEWATCH_REGISTRY_URL": "off"}).stdout)
    assert not plain["signals"][SIGNAL]["flagged"] and "registry" not in plain["signals"][SIGNAL]


# A crawl keeps articles of 50 words or more.
VISIT = ("Please bring your MRI scans, your neurologist's letters and a list of the medicines you take to the first "
         "appointment. The clinic is open Monday to Friday from nine to five; parking is behind the building and the "
         "entrance is step-free.")


def crawl_source(own_site, pages: dict[str, str]) -> SourceConfig:
    urls = [own_site.add(f"/news/{name}", article_html(f"Stem cells and MS: {name}", f"{text}\n\n{VISIT}"))
            for name, text in pages.items()]
    index = own_site.add("/news/", article_html("News", BODY.format(cite=""),
                                                extra="".join(f'<a href="{u}">Story {i}</a> '
                                                              for i, u in enumerate(urls))))
    return SourceConfig(name="trials", kind="site", start_urls=(index,), allowed_domains=("127.0.0.1",),
                        max_depth=1, max_pages=10, allow_private=True)


def stored_predictions(application: Hypewatch) -> dict[str, Prediction]:
    """Each crawled story's current prediction, by the story's name."""
    with application.database.session() as session:
        rows = session.execute(select(Page.url, Prediction).join(Prediction, Prediction.id == Page.current_prediction_id))
        found = {url.rsplit("/", 1)[1]: prediction for url, prediction in rows if "/news/" in url}
        session.expunge_all()
    return found


def test_a_crawl_grounds_the_stored_predictions_and_the_dashboard_shows_it(registry_app, registry, own_site,
                                                                          webhook_receiver):
    from fastapi.testclient import TestClient

    from hypewatch.serving import build_dashboard
    from storage.alert_rules import RuleDraft, RuleParams
    from storage.alerts import add_rule

    with registry_app.database.session() as session:  # alerts look at the predictions as grounded
        add_rule(session, RuleDraft("no evidence", "new_page", RuleParams(signals=(SIGNAL,)),
                                    (webhook_receiver.url(),)))
    source = crawl_source(own_site, {"withdrawn": proven_page(WITHDRAWN), "verified": proven_page(GOOD)})
    assert run_crawl(registry_app, source).status == "ok"
    predictions = stored_predictions(registry_app)
    with registry_app.database.session() as session:
        assert [e.page_id for e in session.scalars(select(AlertEvent))] == [page_id(registry_app, "withdrawn")]
    withdrawn, verified = predictions["withdrawn"], predictions["verified"]
    assert withdrawn.flag_missing_trial_reference and not verified.flag_missing_trial_reference
    stored = withdrawn.details["signals"][SIGNAL]
    assert [e["text"] for e in stored["evidence"]] == [PROVEN.format(WITHDRAWN)]
    assert stored["registry"]["citations"] == [{"identifier": WITHDRAWN, "judgements": [STOPPED]}]
    assert verified.details["signals"][SIGNAL]["registry"]["logit_shift"] < 0
    with registry_app.database.session() as session:  # one prediction per version, as ever
        assert session.scalar(select(func.count(Prediction.id))) == session.scalar(
            select(func.count(DocumentVersion.id)))
    assert run_crawl(registry_app, source).status == "ok"  # nothing new known: nothing scored again
    assert {n: p.id for n, p in stored_predictions(registry_app).items()} == {n: p.id for n, p in predictions.items()}
    asked = len(registry.study_requests)
    source = crawl_source(own_site, {"withdrawn": proven_page(WITHDRAWN), "verified": proven_page(GOOD),
                                     "again": proven_page(WITHDRAWN)})
    assert run_crawl(registry_app, source).status == "ok"  # a new page citing a cached trial
    assert len(registry.study_requests) == asked
    assert stored_predictions(registry_app)["again"].flag_missing_trial_reference
    with TestClient(build_dashboard(registry_app)) as client:
        article = client.get(f"/api/articles/{page_id(registry_app, 'withdrawn')}")
        signal = article.json()["prediction"]["signals"][SIGNAL]
        assert signal["flagged"] and signal["registry"]["citations"][0]["identifier"] == WITHDRAWN
        html = client.get(f"/articles/{page_id(registry_app, 'withdrawn')}").text
        assert "Moved up by the trial registry" in html and PROVEN.format(WITHDRAWN) in html


def page_id(application: Hypewatch, name: str) -> int:
    with application.database.session() as session:
        return session.scalars(select(Page.id).where(Page.url.endswith(f"/news/{name}"))).one()


@pytest.mark.parametrize("registry_state", ["off", "down"])
def test_a_crawl_with_the_registry_off_or_down_stores_the_texts_scores(app, registry_app, registry, own_site,
                                                                      registry_state):
    if registry_state == "down":
        registry.answer_all(503)
        app = registry_app
    source = crawl_source(own_site, {"withdrawn": proven_page(WITHDRAWN)})
    assert run_crawl(app, source).status == "ok"
    withdrawn = stored_predictions(app)["withdrawn"]
    assert "registry" not in withdrawn.details["signals"][SIGNAL]
    with app.database.session() as session:
        text = session.get(DocumentVersion, withdrawn.version_id).text
    alone = app.model.score(text).signals[SIGNAL]
    assert withdrawn.flag_missing_trial_reference == alone.flagged
    assert withdrawn.p_missing_trial_reference == pytest.approx(alone.probability, abs=1e-4)


def test_trials_refresh_grounds_the_pages_citing_what_it_fetched(run_cli, registry_app, registry, tmp_path):
    from fastapi.testclient import TestClient

    from hypewatch.serving import build_dashboard

    path = tmp_path / "page.txt"
    path.write_text(proven_page(WITHDRAWN), encoding="utf-8")
    registry.answer_all(503)  # the registry is down when the page is saved: its trial stays unverified
    saved = registry_app.save(registry_app.check(str(path)))
    registry.add(STUDIES[1])  # and back for the refresh
    flagged = f"/api/articles?signal={SIGNAL}"
    with TestClient(build_dashboard(registry_app)) as client:  # a dashboard running all along
        assert client.get(flagged).json()["total"] == 0
        out = run_cli("trials", "refresh", "--json", env={"HYPEWATCH_REGISTRY_URL": registry.base_url})
        assert out.exit_code == 0, out.stderr
        assert json.loads(out.stdout)["predictions_moved"] == 1
        # Another process wrote: the dashboard sees it once it next reads the data stamp (every 2 s).
        wait_for(lambda: [a["id"] for a in client.get(flagged).json()["articles"]] == [saved.page_id],
                 STAMP_TTL_SECONDS + 3, "the running dashboard to list the grounded page")
    with registry_app.database.session() as session:
        [prediction] = session.scalars(select(Prediction).where(Prediction.version_id == saved.version_id))
        assert prediction.flag_missing_trial_reference
        assert session.get(Page, saved.page_id).current_prediction_id == prediction.id


def test_rescore_grounds_what_it_scores(registry_app, tmp_path):
    path = tmp_path / "page.txt"
    path.write_text(proven_page(WITHDRAWN), encoding="utf-8")
    saved = registry_app.save(registry_app.check(str(path)))
    with registry_app.database.session() as session:  # as if a new model had not scored it yet
        session.execute(delete(Prediction))
    assert registry_app.rescore() == 1
    with registry_app.database.session() as session:
        [prediction] = session.scalars(select(Prediction).where(Prediction.version_id == saved.version_id))
        assert prediction.flag_missing_trial_reference and prediction.details["signals"][SIGNAL]["registry"]
