"""crawler.aggregator_links: the publisher's URL behind Google News and Bing News links, offline."""

from __future__ import annotations

import pytest

from crawler.aggregator_links import UndecodableLink, publisher_url
from tests.conftest import bing_link, google_news_link

# Older-form ids built the way Google News builds them (see `google_news_link`), around our own
# URLs: a one-byte length, a two-byte length (a URL over 127 bytes), and an AMP URL after the article's.
LONG_URL = "https://www.ms-news.example/nachrichten/forschung/id_100310616/" + "stammzellen-" * 8 + "studie.html"
OLD_IDS = {
    google_news_link("https://news.example/2026/10/27/stem-cell-clinic-claims/"):
        "https://news.example/2026/10/27/stem-cell-clinic-claims/",
    google_news_link(LONG_URL).replace("/rss/articles/", "/articles/").replace("?oc=5", "?hl=de&gl=DE&ceid=DE%3Ade"):
        LONG_URL,
    google_news_link("https://www.broadcaster.example/news/articles/abc123",
                     amp="https://www.broadcaster.example/news/articles/abc123.amp"):
        "https://www.broadcaster.example/news/articles/abc123",
}
# A newer-form id: its field 4 is an opaque token, resolvable only by asking Google.
NEW_ID = google_news_link("AU_yqL" + "Mx4PqTz9" * 16)


@pytest.mark.parametrize(("link", "expected"), OLD_IDS.items())
def test_older_google_news_ids_carry_the_publishers_url(link, expected):
    assert publisher_url(link) == expected


def test_every_google_news_path_form_is_read():
    inner = "https://www.ms-news.example/2026/03/stem-cells?id=7&x=%C3%A9"
    link = google_news_link(inner)
    for path in ("/rss/articles/", "/articles/", "/read/", "/__i/rss/rd/articles/"):
        assert publisher_url(link.replace("/rss/articles/", path)) == inner


def test_a_newer_google_news_id_is_undecodable():
    with pytest.raises(UndecodableLink, match="newer Google News id"):
        publisher_url(NEW_ID)
    with pytest.raises(UndecodableLink):
        publisher_url(google_news_link("AU_yqLOpaqueToken"))


def test_bing_click_through_links_carry_the_publishers_url():
    inner = "https://www.example.com/health/stem-cells-ms?id=1&page=2"
    assert publisher_url(bing_link(inner)) == inner
    assert publisher_url(bing_link(inner).replace("http://www.bing.com", "https://BING.com")) == inner


def test_a_wrapped_aggregator_link_is_unwrapped_too():
    inner = "https://publisher.example/a"
    assert publisher_url(bing_link(google_news_link(inner))) == inner


@pytest.mark.parametrize("link", [
    "https://news.google.com/rss/articles/!!!not-base64!!!",
    "https://news.google.com/rss/articles/CBM",  # truncated message
    "https://news.google.com/rss/articles/" + "_" * 40,  # base64, but no message Google writes
    "https://news.google.com/rss/articles/CAIiEGRhdGEgd2l0aG91dCB1cmw",  # field 4 holds no URL
    google_news_link("javascript:alert(1)"),
    google_news_link("file:///etc/passwd"),
    "http://www.bing.com/news/apiclick.aspx?ref=FexRss&tid=1",  # no url parameter
    "http://www.bing.com/news/apiclick.aspx?url=javascript%3aalert(1)",
    "http://www.bing.com/news/apiclick.aspx?url=%2frelative%2fpath",
    bing_link(bing_link(bing_link(bing_link("https://too.deep.example/")))),
])
def test_links_that_hide_no_readable_web_url_are_undecodable(link):
    with pytest.raises(UndecodableLink):
        publisher_url(link)


@pytest.mark.parametrize("link", [
    "https://www.ms-news.example/articles/CBMiSGh0dHBz",  # an /articles/ path, but not Google News's host
    "https://news.google.com/topics/CAAqJggKIiBDQkFTRWdvSUwyMHZNRFZxYUdjU0FtVnVHZ0pWVXlnQVAB",
    "https://www.bing.com/news/search?q=stem+cell&url=https%3a%2f%2fexample.org",
    "https://feedproxy.google.com/~r/MsNews/~3/AbCdEf/",  # an HTTP redirect, followed as fetched
])
def test_other_links_are_returned_unchanged(link):
    assert publisher_url(link) == link
