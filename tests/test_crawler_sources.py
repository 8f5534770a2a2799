"""crawler.sources: the sources file, validated field by field."""

from __future__ import annotations

import datetime as dt

import pytest

from crawler.errors import SourcesFileError
from crawler.sources import cron_trigger, load_sources, parse_sources
from hypewatch.settings import PROJECT_ROOT

GOOD = """
[[source]]
name = "ms-news"
kind = "feed"
start_urls = ["https://example.org/feed.xml"]
schedule = "0 6 * * *"

[[source]]
name = "society"
kind = "site"
start_urls = ["https://www.example.net/news", "https://example.com/"]
allowed_domains = ["Example.net", "*"]
max_pages = 20
max_depth = 1
enabled = false
allow_private = true
"""


def write(tmp_path, text: str):
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_sources_with_defaults(tmp_path):
    feed, site = load_sources(write(tmp_path, GOOD))
    assert (feed.name, feed.kind, feed.start_urls) == ("ms-news", "feed", ("https://example.org/feed.xml",))
    assert feed.allowed_domains == ("example.org",)  # defaults to the start URLs' hosts
    assert (feed.max_pages, feed.max_depth, feed.enabled, feed.allow_private) == (500, 3, True, False)
    assert site.allowed_domains == ("example.net", "*") and site.any_domain
    assert (site.max_pages, site.max_depth, site.enabled, site.allow_private) == (20, 1, False, True)


def test_round_trips_through_a_dict(tmp_path):
    source = load_sources(write(tmp_path, GOOD))[1]
    assert type(source).from_dict(source.to_dict()) == source


@pytest.mark.parametrize(("entry", "field", "problem"), [
    ('name = "x"\nkind = "forum"\nstart_urls = ["https://a.org/"]', "kind", "must be one of site, feed, sitemap"),
    ('name = "x"\nkind = "feed"', "start_urls", "required"),
    ('name = "x"\nkind = "feed"\nstart_urls = ["ftp://a.org/"]', "start_urls", "not an http(s) URL"),
    ('name = "x"\nkind = "feed"\nstart_urls = ["https://' + "a" * 10_000 + '.org/"]', "start_urls", "too long"),
    ('name = "x"\nkind = "feed"\nstart_urls = ["https://[::1/"]', "start_urls", "not a valid URL"),
    ('name = "x"\nkind = "feed"\nstart_urls = ["https://a.org:99999/"]', "start_urls", "not a valid URL"),
    ('name = "x"\nkind = "feed"\nstart_urls = ["https://a.org/"]\nschedule = "every day"', "schedule", "invalid cron"),
    ('name = "x"\nkind = "feed"\nstart_urls = ["https://a.org/"]\nschedule = "0 6 * * 9"', "schedule", "invalid cron"),
    ('name = "x"\nkind = "feed"\nstart_urls = ["https://a.org/"]\nmax_pages = 0', "max_pages", "integer >= 1"),
    ('name = "x"\nkind = "feed"\nstart_urls = ["https://a.org/"]\nenabled = "yes"', "enabled", "true or false"),
    ('name = "x"\nkind = "feed"\nstart_urls = ["https://a.org/"]\nallow_private = 1', "allow_private", "true or false"),
    ('name = "x"\nkind = "feed"\nstart_urls = ["https://a.org/"]\nmax_page = 3', "max_page", "unknown field"),
    ('name = "Bad Name"\nkind = "feed"\nstart_urls = ["https://a.org/"]', "name", "lower-case"),
])
def test_rejects_a_bad_field_naming_source_and_field(tmp_path, entry, field, problem):
    path = write(tmp_path, f"[[source]]\n{entry}\n")
    with pytest.raises(SourcesFileError) as error:
        load_sources(path)
    message = str(error.value)
    assert len(message) < 500  # a huge URL is shown cut short
    assert str(path) in message and f"field {field!r}" in message and problem in message
    assert "source 'x'" in message or "source 'Bad Name'" in message


def test_rejects_duplicate_names_and_broken_toml(tmp_path):
    twice = '[[source]]\nname = "a"\nkind = "feed"\nstart_urls = ["https://a.org/"]\n' * 2
    with pytest.raises(SourcesFileError, match="source 'a': field 'name': duplicate"):
        load_sources(write(tmp_path, twice))
    with pytest.raises(SourcesFileError, match="not valid TOML"):
        load_sources(write(tmp_path, "[[source]\nname="))
    with pytest.raises(SourcesFileError, match="no such sources file"):
        load_sources(tmp_path / "missing.toml")


def test_cron_weekdays_follow_crontab_not_apscheduler():
    # crontab: 0 and 7 are Sunday, 1 is Monday (APScheduler 3 alone would read 0 as Monday)
    start = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)  # a Wednesday
    assert cron_trigger("0 6 * * 0").get_next_fire_time(None, start).date() == dt.date(2026, 3, 8)
    assert cron_trigger("0 6 * * 7").get_next_fire_time(None, start).date() == dt.date(2026, 3, 8)
    assert cron_trigger("0 6 * * 1-5").get_next_fire_time(None, start).date() == dt.date(2026, 3, 5)
    assert cron_trigger("30 5 * * *").get_next_fire_time(None, start) == dt.datetime(2026, 3, 5, 5, 30, tzinfo=dt.UTC)


def test_six_fields_add_seconds():
    start = dt.datetime(2026, 3, 4, 12, 0, 1, tzinfo=dt.UTC)
    assert cron_trigger("*/5 * * * * *").get_next_fire_time(None, start) == start.replace(second=5)


def test_the_shipped_sources_file_is_valid():
    sources = load_sources(PROJECT_ROOT / "seeds" / "sources.toml")
    names = {s.name for s in sources}
    assert len(names) == len(sources) >= 8
    assert {s.kind for s in sources} == {"site", "feed", "sitemap"}
    assert all(not s.allow_private for s in sources if s.enabled)  # only the local demo may reach loopback


def test_an_empty_file_has_no_sources():
    assert parse_sources({}) == []


def test_a_schedule_that_never_fires_is_refused(tmp_path):
    path = tmp_path / "sources.toml"
    path.write_text('[[source]]\nname = "feb"\nkind = "feed"\nstart_urls = ["https://example.org/feed"]\n'
                    'schedule = "0 6 31 2 *"\n', encoding="utf-8")
    with pytest.raises(SourcesFileError, match=r"source 'feb': field 'schedule': '0 6 31 2 \*' never fires"):
        load_sources(path)


def test_a_sources_file_without_sources_is_refused(tmp_path):
    path = tmp_path / "sources.toml"
    path.write_text("# every source was deleted\n", encoding="utf-8")
    with pytest.raises(SourcesFileError, match="no sources; add a \\[\\[source\\]\\] table"):
        load_sources(path)
