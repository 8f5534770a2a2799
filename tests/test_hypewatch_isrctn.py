"""hypewatch.isrctn against a local ISRCTN query API server (`isrctn` in conftest, our own invented
trials): judgements of checked pages, a registry down, rate-limiting or answering hostile XML, the
cache (no second request), `trials refresh` and crawls."""

from __future__ import annotations

import datetime as dt
import json
import socket

import pytest
from sqlalchemy import select

from classifier.trials import JUDGEMENTS, NOT_FOUND, STOPPED, UNVERIFIED, VERIFIED
from crawler.sources import SourceConfig
from hypewatch.app import Hypewatch
from hypewatch.dispatch import run_crawl
from hypewatch.isrctn import IsrctnClient, essentials_of_answer, overall_status
from hypewatch.trials import RegistryUnavailable, resolve
from storage.models import TrialRecord
from tests.conftest import SEEDS_DIR, article_html, isrctn_answer, isrctn_trial

DONE = "ISRCTN20000001"  # completed, results posted: verified
STOPPED_ONE = "ISRCTN20000002"  # stopped after enrolling some
WITHDRAWN = "ISRCTN20000003"  # stopped before enrolling anyone
MISSING = "ISRCTN29999999"

TRIALS = [
    isrctn_trial(DONE),
    isrctn_trial(STOPPED_ONE, status_override="Stopped", reason_abandoned="Slow recruitment", final=9, outputs=()),
    isrctn_trial(WITHDRAWN, status_override="Stopped", reason_abandoned="Funding withdrawn", final=0, outputs=()),
]

BODY = ("Multiple sclerosis patients ask about stem cell treatment. {cite} "
        "Our doctors review every case before a consultation, and the clinic answers questions by phone.")


@pytest.fixture
def isrctn_app(settings, isrctn):
    for trial in TRIALS:
        isrctn.add(trial)
    application = Hypewatch(settings.with_overrides(isrctn_url=isrctn.base_url, registry_rate="100/second"))
    yield application
    if "database" in application.__dict__:
        application.database.close()


def page(tmp_path, cite: str) -> str:
    path = tmp_path / "page.txt"
    path.write_text(BODY.format(cite=cite), encoding="utf-8")
    return str(path)


def test_check_json_shows_a_withdrawn_and_a_stopped_isrctn_trial(run_cli, isrctn, tmp_path):
    for trial in TRIALS:
        isrctn.add(trial)
    target = page(tmp_path, f"Our treatment is backed by clinical trials {WITHDRAWN} and {STOPPED_ONE}.")
    env = {"HYPEWATCH_ISRCTN_URL": isrctn.base_url}
    out = run_cli("check", "--json", target, env=env)
    assert out.exit_code == 0, out.stderr
    trials = {t["identifier"]: t for t in json.loads(out.stdout)["cited_trials"]}
    assert trials[WITHDRAWN]["status"] == "WITHDRAWN" and trials[STOPPED_ONE]["status"] == "TERMINATED"
    for trial in trials.values():
        assert trial["kind"] == "isrctn" and trial["url"] == f"https://www.isrctn.com/{trial['identifier']}"
        assert trial["judgements"] == [{"name": STOPPED, "label": JUDGEMENTS[STOPPED]}]
    assert sorted(q["q"] for q in isrctn.queries) == [[STOPPED_ONE], [WITHDRAWN]]
    again = run_cli("check", "--json", target, env=env)
    assert again.exit_code == 0, again.stderr
    assert len(isrctn.requests) == 2  # the second check read the cache


def test_a_completed_ms_cell_therapy_trial_with_results_is_verified(isrctn_app, tmp_path):
    [trial] = isrctn_app.check(page(tmp_path, f"The trial {DONE} found fewer relapses after the infusions.")).trials
    assert trial.judgements == (VERIFIED,)
    assert trial.record is not None and trial.record.results_posted and trial.record.overall_status == "COMPLETED"


def test_an_unknown_number_is_not_found_and_cached(isrctn_app, isrctn, tmp_path):
    target = page(tmp_path, f"Our protocol is registered as {MISSING}.")
    [trial] = isrctn_app.check(target).trials
    assert trial.judgements == (NOT_FOUND,)
    assert isrctn_app.check(target).trials[0].judgements == (NOT_FOUND,)
    assert len(isrctn.requests) == 1
    with isrctn_app.database.session() as session:
        row = session.scalars(select(TrialRecord)).one()
    assert (row.kind, row.identifier, row.found) == ("isrctn", MISSING, False)


@pytest.mark.parametrize("status", [429, 503])
def test_a_registry_rate_limiting_or_failing_leaves_references_unverified(isrctn_app, isrctn, tmp_path, status):
    isrctn.answer_all(status, b"<error/>", {"Retry-After": "60"} if status == 429 else None)
    [trial] = isrctn_app.check(page(tmp_path, f"Backed by trial {STOPPED_ONE}.")).trials
    assert trial.judgements == (UNVERIFIED,) and trial.record is None
    with isrctn_app.database.session() as session:
        assert session.scalars(select(TrialRecord)).all() == []  # nothing cached from a failed answer


def test_a_registry_that_is_down_leaves_references_unverified(settings, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    application = Hypewatch(settings.with_overrides(isrctn_url=f"http://127.0.0.1:{port}", fetch_timeout=2))
    trials = application.check(page(tmp_path, f"Trials {DONE} and {STOPPED_ONE}.")).trials
    assert [t.judgements for t in trials] == [(UNVERIFIED,), (UNVERIFIED,)]
    application.database.close()


def _hostile_answers(secret_file, listener_url: str) -> dict[str, bytes]:
    ns = 'xmlns="http://www.67bricks.com/isrctn"'
    trial = ("<fullTrial><trial><isrctn>20000001</isrctn><trialDescription><title>{}</title></trialDescription>"
             "</trial></fullTrial>")
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return {
        "billion laughs": (f'<?xml version="1.0"?><!DOCTYPE allTrials [<!ENTITY l0 "lol">{laughs}]>'
                           f'<allTrials {ns} totalCount="1">{trial.format("&l9;")}</allTrials>').encode(),
        "external file entity": (f'<?xml version="1.0"?><!DOCTYPE allTrials [<!ENTITY x SYSTEM "{secret_file.as_uri()}">]>'
                                 f'<allTrials {ns} totalCount="1">{trial.format("&x;")}</allTrials>').encode(),
        "external network entity": (f'<?xml version="1.0"?><!DOCTYPE allTrials [<!ENTITY x SYSTEM "{listener_url}">]>'
                                    f'<allTrials {ns} totalCount="1">{trial.format("&x;")}</allTrials>').encode(),
        "external DTD": (f'<?xml version="1.0"?><!DOCTYPE allTrials SYSTEM "{listener_url}">'
                         f'<allTrials {ns} totalCount="1">{trial.format("x")}</allTrials>').encode(),
        "deep nesting": f'<allTrials {ns} totalCount="1">'.encode() + b"<a>" * 50_000 + b"</a>" * 50_000 + b"</allTrials>",
        "huge": isrctn_answer([trial.format("x" * (3 * 1024 * 1024))]),
        "not XML": b"\x00\xff<<<",
        "HTML": b"<html><body><p>Service unavailable</p></body></html>",
        "no count": f"<allTrials {ns}>{trial.format('x')}</allTrials>".encode(),
    }


def test_hostile_xml_leaves_references_unverified_and_reads_nothing(isrctn_app, isrctn, own_site, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    listener = own_site.url("/entity")
    for name, body in _hostile_answers(secret, listener).items():
        isrctn.answer_all(200, body)
        result = isrctn_app.check(page(tmp_path, f"Backed by trial {DONE}."))
        [trial] = result.trials
        assert trial.judgements == (UNVERIFIED,) and trial.record is None, name
        assert "TOP-SECRET-VALUE" not in json.dumps(result.to_json()), name
    assert own_site.requests == []  # no entity or DTD was fetched
    with isrctn_app.database.session() as session:
        assert session.scalars(select(TrialRecord)).all() == []


def test_a_huge_answer_is_refused_however_it_is_compressed(isrctn):
    import gzip

    isrctn.answer_all(200, gzip.compress(b"<allTrials>" + b" " * (8 * 1024 * 1024) + b"</allTrials>"),
                      {"Content-Encoding": "gzip"})
    client = IsrctnClient(isrctn.base_url, user_agent="hypewatch-test/1", timeout=5, rate="10/second")
    with pytest.raises(RegistryUnavailable, match="larger than"):
        client.study(DONE)
    client.close()


def test_the_client_sends_the_identifier_only_with_our_user_agent(isrctn):
    isrctn.add(isrctn_trial(DONE, phase="Phase I/II", target=40, final=None, sponsor_type="Hospital/treatment centre"))
    client = IsrctnClient(isrctn.base_url, user_agent="hypewatch-test/1", timeout=5, rate="10/second")
    record = client.study(DONE)
    client.close()
    assert isrctn.user_agents == ["hypewatch-test/1"]
    [query] = isrctn.queries
    assert query == {"q": [DONE], "limit": ["5"]}
    assert isrctn.requests[0].startswith("/api/query/format/default?")
    assert record.found and record.phase == "Phase I/II" and record.enrollment == 40  # the target: no final count
    assert record.sponsor == "Eastbridge University" and record.sponsor_class == "Hospital/treatment centre"
    assert (record.start_date, record.completion_date, record.last_update) == ("2014-03-01", "2018-09-30", "2023-11-20")
    assert record.conditions == ("Multiple sclerosis",) and record.results_posted


def test_a_trial_that_only_mentions_the_number_is_not_the_one_asked_for():
    other = isrctn_trial("ISRCTN20000009", title="A follow-up of ISRCTN20000001")
    assert not essentials_of_answer(DONE, isrctn_answer([other])).found  # every match came back: none is it
    with pytest.raises(RegistryUnavailable, match="not among"):
        essentials_of_answer(DONE, isrctn_answer([other], total=40))  # it may be among those not sent


TODAY = dt.date(2024, 6, 1)


@pytest.mark.parametrize(("override", "reason", "end", "recruit", "final", "expected"), [
    ("Stopped", None, "2030-01-01", ("2020-01-01", "2021-01-01"), 12, "TERMINATED"),
    ("Stopped", None, "2030-01-01", ("2020-01-01", "2021-01-01"), 0, "WITHDRAWN"),
    ("Suspended", None, "2030-01-01", ("2020-01-01", "2025-01-01"), None, "SUSPENDED"),
    (None, "Sponsor ended the study", "2030-01-01", ("2020-01-01", "2025-01-01"), 5, "TERMINATED"),
    (None, None, "2023-12-31", ("2020-01-01", "2022-01-01"), 50, "COMPLETED"),
    (None, None, "2030-01-01", ("2025-01-01", "2026-01-01"), None, "NOT_YET_RECRUITING"),
    (None, None, "2030-01-01", ("2020-01-01", "2025-01-01"), None, "RECRUITING"),
    (None, None, "2030-01-01", ("2020-01-01", "2024-01-01"), None, "ACTIVE_NOT_RECRUITING"),
    ("Something new", None, "2023-12-31", ("2020-01-01", "2022-01-01"), 50, "COMPLETED"),
    (None, None, None, (None, None), None, None),
])
def test_the_status_is_the_override_or_follows_from_the_dates(override, reason, end, recruit, final, expected):
    assert overall_status(override, reason_abandoned=reason, end=end, recruitment_start=recruit[0],
                          recruitment_end=recruit[1], final_enrolment=final, today=TODAY) == expected


def test_trials_refresh_asks_the_isrctn_registry_only_for_what_is_missing_or_stale(run_cli, isrctn_app, isrctn,
                                                                                   tmp_path):
    isrctn_app.save(isrctn_app.check(page(tmp_path, f"Trials {DONE} and {STOPPED_ONE}.")))
    assert len(isrctn.requests) == 2
    env = {"HYPEWATCH_ISRCTN_URL": isrctn.base_url}
    out = run_cli("trials", "refresh", "--json", env=env)
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["asked"] == 0 and len(isrctn.requests) == 2
    with isrctn_app.database.session() as session:  # make one record stale
        row = session.scalars(select(TrialRecord).where(TrialRecord.identifier == DONE)).one()
        row.fetched_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    out = run_cli("trials", "refresh", env=env)
    assert out.exit_code == 0, out.stderr
    assert "1 asked, 1 found" in out.stdout and isrctn.base_url in out.stdout and isrctn.queries[-1]["q"] == [DONE]


def test_a_second_crawl_asks_the_isrctn_registry_nothing_for_cached_trials(isrctn_app, isrctn, own_site):
    text = (SEEDS_DIR / "docs" / "001_7d7ce66c201201cd.txt").read_text(encoding="utf-8")
    urls = [own_site.add(f"/news/{n}", article_html(f"Stem cells and MS, part {n}",
                                                    f"{text}\n\nThe clinic cites trial {ident} as proof."))
            for n, ident in enumerate((WITHDRAWN, DONE, MISSING))]
    index = own_site.add("/news/", article_html("News", text, extra="".join(f'<a href="{u}">Story {i}</a> '
                                                                            for i, u in enumerate(urls))))
    source = SourceConfig(name="trials", kind="site", start_urls=(index,), allowed_domains=("127.0.0.1",),
                          max_depth=1, max_pages=10, allow_private=True)
    assert run_crawl(isrctn_app, source).status == "ok"
    assert sorted(q["q"][0] for q in isrctn.queries) == sorted([WITHDRAWN, DONE, MISSING])
    with isrctn_app.database.session() as session:
        cached = {row.identifier: row.found for row in session.scalars(select(TrialRecord))}
    assert cached == {WITHDRAWN: True, DONE: True, MISSING: False}
    before = len(isrctn.requests)
    assert run_crawl(isrctn_app, source).status == "ok"
    assert len(isrctn.requests) == before  # 0 registry requests for cached trials
    assert resolve(isrctn_app.database, isrctn_app.isrctn_client).asked == 0
