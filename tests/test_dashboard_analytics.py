"""The in-memory figures equal what SQL computes from the database, filter by filter; and they
follow the database as pages, versions, predictions and labels are added."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sql_twins as twins

from classifier.signals import SIGNALS
from dashboard import analytics
from dashboard.crawl_runs import newest_seen
from dashboard.facts import CODES, DERIVED, Facts, FactStore, Stamp, read_stamp
from dashboard.filters import DOMAIN_SORTS, ArticleFilters
from dashboard.serialise import prediction_dict
from hypewatch.app import Hypewatch
from storage.documents import ExtractedDocument
from storage.models import Page

FILTER_SETS = [
    ArticleFilters(),
    ArticleFilters(relevance="all"),
    ArticleFilters(signal="testimonial", min_hype=20),
    ArticleFilters(source="health-news"),
    ArticleFilters(domain="ms-news.example", relevance="all"),
    ArticleFilters(date_from=dt.date.today() - dt.timedelta(days=90)),
    ArticleFilters(date_to=dt.date.today() - dt.timedelta(days=60), labelled="no", relevance="irrelevant"),
    ArticleFilters(sort="date", order="asc"),
    ArticleFilters(sort="relevance"),
    ArticleFilters(sort="domain", order="asc", relevance="all"),
]


@pytest.fixture(scope="module")
def database(dashboard_dataset):
    app = Hypewatch(dashboard_dataset.settings)
    yield app.database
    app.database.close()


@pytest.mark.parametrize("filters", FILTER_SETS, ids=lambda f: str(f.as_params()) or "defaults")
def test_in_memory_figures_equal_sql(database, filters):
    with database.session() as session:
        facts = FactStore().current(session, read_stamp(session))
        assert analytics.trends(facts, filters) == twins.weekly_trends(session, filters)
        assert analytics.summary(facts, filters) == twins.summary(session, filters)
        newest = newest_seen(session)
        for sort in DOMAIN_SORTS:
            memory = analytics.domain_stats(facts, filters, newest, sort=sort)
            sql = twins.domain_stats(session, filters, sort=sort)
            assert [d.name for d in memory] == [d.name for d in sql], sort
            assert memory == sql
        keep = analytics.mask(facts, filters)
        ids = analytics.ordered_ids(facts, keep, filters.sort, filters.order)
        listed = twins.list_articles(session, ArticleFilters(**{**filters.__dict__, "per_page": 200}))
        assert [r.id for r in listed.rows] == ids.tolist()
        for stop in (1, 7, 30):  # only the first rows of a list are ranked: the same rows, ties and all
            assert analytics.ordered_ids(facts, keep, filters.sort, filters.order, stop=stop).tolist() == ids[:stop].tolist()
        queue_ids, uncertainty = analytics.queue_ids(facts, filters)
        sql_queue = twins.review_queue(session, filters)
        assert queue_ids.tolist() == [r.id for r, _ in sql_queue]
        assert uncertainty.tolist() == pytest.approx([u for _, u in sql_queue], abs=1e-3)


def test_facts_follow_new_labels_and_pages(writable_dashboard_dataset):
    from storage.db import Database
    from storage.documents import ExtractedDocument, PredictionScores
    from storage.labels import add_label
    from storage.writes import store_document, store_prediction

    database = Database(writable_dashboard_dataset.settings.database_url)  # a private copy: this test writes
    store = FactStore()
    with database.session() as session:
        before = store.current(session, read_stamp(session))
        for name in DERIVED:  # made before the writes: the merge carries them over
            getattr(before, name)
        page_id = writable_dashboard_dataset.page_ids[9]
        version_id = session.get(Page, page_id).current_version_id
        add_label(session, version_id, "tester", relevant=True)
        prediction = prediction_dict(session.get(Page, page_id).current_prediction)
        stored = store_document(session, ExtractedDocument(url="https://new.example/x", domain="new.example",
                                                           text="A brand new page about MS.", title="New"))
        store_prediction(session, stored.version_id, PredictionScores.from_dict({
            "model_version": prediction["model_version"], "relevance": 0.9, "relevant": True, "hype_score": 77.0,
            "signals": {n: {"probability": 0.9, "flagged": True, "evidence": []} for n in prediction["signals"]},
            "counter_signals": {},
        }))
    with database.session() as session:
        after = store.current(session, read_stamp(session))
        assert after is not before and len(after) == len(before) + 1
        assert after.labelled[after.positions([page_id])[0]] and not before.labelled[before.positions([page_id])[0]]
        assert after.hype[after.positions([stored.page_id])[0]] == 77.0
        assert before.positions([stored.page_id])[0] == -1
        assert "new.example" in after.domain_index
        fresh = FactStore().current(session, read_stamp(session))
        for name in ("page_id", "labelled", "hype", "day", "domain", "version_id", "last_seen", *DERIVED):
            order_a, order_b = after.page_id.argsort(), fresh.page_id.argsort()
            if name == "domain":
                assert [after.domains[i] for i in after.domain[order_a]] == [fresh.domains[i] for i in fresh.domain[order_b]]
            elif name == "domain_key":  # (domain index, code): the indices differ, the domains do not
                assert (after.domain_key // CODES).tolist() == after.domain.tolist()
                assert (after.domain_key % CODES)[order_a].tolist() == (fresh.domain_key % CODES)[order_b].tolist()
            else:
                assert getattr(after, name)[order_a].tolist() == getattr(fresh, name)[order_b].tolist()
    database.close()


def _same_facts(a, b) -> None:
    assert a.stamp == b.stamp and a.sources == b.sources
    for name in ("page_id", "labelled", "hype", "day", "source", "version_id", "last_seen", "margin", "code", "flags"):
        assert getattr(a, name).tolist() == getattr(b, name).tolist(), name
    assert [a.domains[i] for i in a.domain] == [b.domains[i] for i in b.domain]


def test_facts_come_back_from_the_snapshot_and_catch_up(writable_dashboard_dataset, tmp_path):
    """A restarted dashboard starts from the snapshot file and reads only what was written since."""
    from storage.db import Database
    from storage.labels import add_label
    from storage.writes import store_document

    database = Database(writable_dashboard_dataset.settings.database_url)
    snapshot = tmp_path / "cache" / "facts.npz"
    first = FactStore(snapshot)
    with database.session() as session:
        first.current(session, read_stamp(session))
    assert first.origin == "database"
    first.save()
    assert snapshot.is_file()
    with database.session() as session:  # written while the dashboard is down
        page_id = writable_dashboard_dataset.page_ids[3]
        add_label(session, session.get(Page, page_id).current_version_id, "tester", relevant=True)
        stored = store_document(session, ExtractedDocument(url="https://later.example/x", domain="later.example",
                                                           text="Written while the dashboard was down.", title="Later"))
    restarted = FactStore(snapshot)
    with database.session() as session:
        facts = restarted.current(session, read_stamp(session))
        assert restarted.origin == "snapshot"
        assert facts.labelled[facts.positions([page_id])[0]]
        assert facts.positions([stored.page_id])[0] == -1  # no prediction yet: not counted, as in a full read
        _same_facts(facts, FactStore().current(session, read_stamp(session)))
    database.close()


def test_a_foreign_or_damaged_snapshot_is_ignored(dashboard_dataset, writable_dashboard_dataset, tmp_path):
    from storage.db import Database

    snapshot = tmp_path / "facts.npz"
    original = Database(dashboard_dataset.settings.database_url)
    store = FactStore(snapshot)
    with original.session() as session:
        store.current(session, read_stamp(session))
    store.save()
    original.close()
    copy = Database(writable_dashboard_dataset.settings.database_url)  # another database: another identity
    with copy.session() as session:
        other = FactStore(snapshot)
        other.current(session, read_stamp(session))
        assert other.origin == "database"
        broken = tmp_path / "broken.npz"
        broken.write_bytes(b"PK\x03\x04 not a snapshot")
        damaged = FactStore(broken)
        _same_facts(damaged.current(session, read_stamp(session)), FactStore().current(session, read_stamp(session)))
        assert damaged.origin == "database"
    copy.close()


def _facts_rows(ids, *, hype=10.0, labelled=False, last_seen=1.0e9):
    """Rows shaped as `facts._row_select` reads them, for merging without a database."""
    k = len(SIGNALS)
    return [(i, f"d{i % 3}.example", None, 20000, last_seen, True, hype, 0.9, *([False] * k), *([0.2] * k),
             labelled, i) for i in ids]


def test_a_merge_appends_new_pages_in_place_and_never_changes_a_shown_snapshot():
    """New pages go past the end of each column's memory (no copy of a million rows); a changed held
    row copies only its columns; every snapshot already shown keeps its values, whatever merges follow."""
    stamp = Stamp(0, 0, 0, 0, (0, 0), 0)
    first = Facts.from_rows(_facts_rows(range(1, 101)), ["d0.example", "d1.example", "d2.example"], {}, stamp)
    assert len(first.week_code) == 100  # a derived column made before the merges: carried over like the others
    second = first.merged(_facts_rows(range(101, 111)), stamp, {})
    third = second.merged(_facts_rows(range(111, 121)), stamp, {})
    assert len(first) == 100 and len(second) == 110 and len(third) == 120
    assert np.shares_memory(second.hype, third.hype) and np.shares_memory(second.week_code, third.week_code)
    assert second.page_id.tolist() == list(range(1, 111)) and third.page_id.tolist() == list(range(1, 121))

    relabelled = third.merged(_facts_rows([5], labelled=True, hype=90.0), stamp, {})
    assert not np.shares_memory(third.hype, relabelled.hype)  # a held row changed: its columns are copied
    assert np.shares_memory(third.domain, relabelled.domain)  # and only those
    assert relabelled.hype[4] == 90.0 and relabelled.labelled[4]
    assert third.hype[4] == 10.0 and not third.labelled[4] and not second.labelled[4]
    assert relabelled.week_code.tolist() == ((relabelled.day.astype(np.int64) - 1) // 7 * CODES
                                             + relabelled.code).tolist()

    branch = second.merged(_facts_rows(range(121, 126), hype=55.0), stamp, {})  # from an older snapshot
    assert third.hype.tolist() == [10.0] * 120 and len(branch) == 115 and branch.hype[-1] == 55.0
    relabelled.rewritten("last_seen", np.array([0]), np.array([2.0e9]))
    assert relabelled.last_seen[0] == 2.0e9 and third.last_seen[0] == 1.0e9
