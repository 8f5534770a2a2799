"""storage.trials: citations stored with their versions, the registry cache, and the reads of both."""

from __future__ import annotations

import datetime as dt

import pytest

from storage.db import Database
from storage.documents import Citation, ExtractedDocument
from storage.trials import (
    TrialEssentials,
    cited_trials,
    identifiers_to_fetch,
    newest_version_id,
    save_trials,
    trial_records,
    version_citations,
    version_pages,
    versions_to_ground,
)
from storage.writes import store_document
from tests.conftest import BACKENDS


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.close()


TEXT = "Registered as NCT01234567, see also ISRCTN12345678 and NCT01234567."
CITATIONS = (Citation("nct", "NCT01234567", 14, 25), Citation("isrctn", "ISRCTN12345678", 36, 50),
             Citation("nct", "NCT01234567", 55, 66))


def page(url: str, text: str = TEXT, citations=CITATIONS) -> ExtractedDocument:
    return ExtractedDocument(url=url, domain="clinic.example", text=text, title="A page", site_name="Clinic",
                             citations=citations)


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_citations_are_stored_once_with_their_version_and_read_with_records(db):
    with db.session() as session:
        stored = store_document(session, page("https://clinic.example/a"))
        store_document(session, page("https://clinic.example/a"))  # the same version again: nothing doubled
        record = TrialEssentials("nct", "NCT01234567", True, title="A trial", conditions=("Multiple Sclerosis",),
                                 overall_status="WITHDRAWN", enrollment=0)
        save_trials(session, [record])
        citations = version_citations(session, stored.version_id, ["nct"])
    assert [(c.kind, c.identifier, c.start, c.end) for c in citations] == [
        (c.kind, c.identifier, c.start, c.end) for c in CITATIONS]
    assert citations[0].record is not None and citations[0].record.overall_status == "WITHDRAWN"
    assert citations[0].record.conditions == ("Multiple Sclerosis",)
    assert citations[1].record is None  # ISRCTN: not a kind whose records are kept


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_what_to_fetch_and_cited_trials(db):
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    with db.session() as session:
        store_document(session, page("https://clinic.example/a"))
        store_document(session, page("https://news.example/b", "NCT07654321 only.",
                                     (Citation("nct", "NCT07654321", 0, 11),)))
        assert identifiers_to_fetch(session, "nct") == ["NCT01234567", "NCT07654321"]
        save_trials(session, [TrialEssentials("nct", "NCT01234567", True, fetched_at=old),
                              TrialEssentials("nct", "NCT07654321", False)])
        assert identifiers_to_fetch(session, "nct") == []
        week_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
        assert identifiers_to_fetch(session, "nct", older_than=week_ago) == ["NCT01234567"]
        save_trials(session, [TrialEssentials("nct", "NCT01234567", True, title="Refreshed")])  # replaces
        assert trial_records(session, "nct", ["NCT01234567"])["NCT01234567"].title == "Refreshed"
        trials = cited_trials(session, ["nct", "isrctn"])
    assert [(t.kind, t.identifier, [p.url for p in t.pages]) for t in trials] == [
        ("isrctn", "ISRCTN12345678", ["https://clinic.example/a"]),
        ("nct", "NCT01234567", ["https://clinic.example/a"]),
        ("nct", "NCT07654321", ["https://news.example/b"]),
    ]
    assert trials[1].record is not None and trials[1].record.title == "Refreshed"
    assert trials[2].record is not None and not trials[2].record.found
    assert trials[1].pages[0].site_name == "Clinic" and trials[1].pages[0].text == TEXT


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_a_page_that_changes_cites_what_its_current_version_cites(db):
    with db.session() as session:
        store_document(session, page("https://clinic.example/a"))
        store_document(session, page("https://clinic.example/a", "Now NCT07654321.",
                                     (Citation("nct", "NCT07654321", 4, 15),)))
        trials = cited_trials(session, ["nct"])
    assert [t.identifier for t in trials] == ["NCT07654321"]


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_versions_to_ground_are_current_ones_citing_a_fetched_or_cached_trial(db):
    with db.session() as session:
        assert newest_version_id(session) == 0
        old = store_document(session, page("https://clinic.example/a"))  # cites NCT01234567
        new = store_document(session, page("https://clinic.example/a", "Now NCT07654321.",
                                           (Citation("nct", "NCT07654321", 4, 15),)))
        other = store_document(session, page("https://news.example/b"))  # cites NCT01234567 too
        assert newest_version_id(session) == other.version_id
        # the first version is no longer current: never grounded again
        assert versions_to_ground(session, "nct", identifiers=["NCT01234567"]) == [other.version_id]
        assert versions_to_ground(session, "nct", identifiers=["NCT07654321", "NCT01234567"]) == [
            new.version_id, other.version_id]
        assert versions_to_ground(session, "nct") == []
        # versions stored after `newer_than` count only when a trial they cite has a record
        assert versions_to_ground(session, "nct", newer_than=old.version_id) == []
        save_trials(session, [TrialEssentials("nct", "NCT07654321", True)])
        assert versions_to_ground(session, "nct", newer_than=old.version_id) == [new.version_id]
        assert versions_to_ground(session, "nct", newer_than=new.version_id) == []
        pages = version_pages(session, [other.version_id, 10_000])
    assert list(pages) == [other.version_id]
    assert pages[other.version_id].url == "https://news.example/b" and pages[other.version_id].text == TEXT
    assert pages[other.version_id].site_name == "Clinic" and pages[other.version_id].domain == "clinic.example"
