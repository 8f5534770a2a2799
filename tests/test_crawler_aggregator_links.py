"""crawler.aggregator_links: the publisher's URL behind Google News and Bing News links, offline."""

from __future__ import annotations

import pytest

from crawler.aggregator_links import UndecodableLink, publisher_url
from tests.conftest import bing_link, google_news_link

# Real Google News ids of the older form, as published in RSS tools' bug reports.
REAL_OLD_IDS = {
    # one-byte length, an empty AMP field after the URL
    "https://news.google.com/rss/articles/CBMiSGh0dHBzOi8vdGVjaGNydW5jaC5jb20vMjAyMi8xMC8yNy9uZXcteW9yay1wb3N0LWhhY2tl"
    "ZC1vZmZlbnNpdmUtdHdlZXRzL9IBAA?oc=5":
        "https://techcrunch.com/2022/10/27/new-york-post-hacked-offensive-tweets/",
    # a two-byte length (a URL over 127 bytes), under /articles/ with locale parameters
    "https://news.google.com/articles/CBMihQFodHRwczovL3d3dy50LW9ubGluZS5kZS9uYWNocmljaHRlbi91a3JhaW5lL2lkXzEwMDMxMD"
    "YxNi91a3JhaW5lLWtyaWVnLXJ1c3NsYW5kLXdlbGNoZXMtemllbC12ZXJmb2xndC1wdXRpbi1taXQtZGVtLWx1ZnRhbmdyaWZmLS5odG1s0gEA"
    "?hl=de&gl=DE&ceid=DE%3Ade":
        "https://www.t-online.de/nachrichten/ukraine/id_100310616/ukraine-krieg-russland-welches-ziel-verfolgt-putin-"
        "mit-dem-luftangriff-.html",
    # an AMP URL after the article's own
    "https://news.google.com/rss/articles/CBMiLmh0dHBzOi8vd3d3LmJiYy5jb20vbmV3cy9hcnRpY2xlcy9jampqbnhkdjE4OG_SATJodHRw"
    "czovL3d3dy5iYmMuY29tL25ld3MvYXJ0aWNsZXMvY2pqam54ZHYxODhvLmFtcA?oc=5":
        "https://www.bbc.com/news/articles/cjjjnxdv188o",
}
# A real id of the newer form: its field 4 is an opaque token, resolvable only by asking Google.
REAL_NEW_ID = ("https://news.google.com/rss/articles/CBMiqwFBVV95cUxNMTRqdUZpNl9hQldXbGo2YVVLOGFQdkFLYldlMUxUVlNEaElsYjRR"
               "ODVUMkF3R1RYdWxvT1NoVzdUYS0xSHg3eVdpTjdVODQ5cVJJLWt4dk9vZFBScVp2ZmpzQXZZRy1ncDM5c2tRbXBVVHVrQnpmMGVrQX"
               "NkQVItV3h4dVQ1V1BTbjhnM3k2ZUdPdnhVOFk1NmllNTZkdGJTbW9NX0k5U3E2Tkk?oc=5")


@pytest.mark.parametrize(("link", "expected"), REAL_OLD_IDS.items())
def test_older_google_news_ids_carry_the_publishers_url(link, expected):
    assert publisher_url(link) == expected


def test_every_google_news_path_form_is_read():
    inner = "https://www.ms-news.example/2026/03/stem-cells?id=7&x=%C3%A9"
    link = google_news_link(inner)
    for path in ("/rss/articles/", "/articles/", "/read/", "/__i/rss/rd/articles/"):
        assert publisher_url(link.replace("/rss/articles/", path)) == inner


def test_a_newer_google_news_id_is_undecodable():
    with pytest.raises(UndecodableLink, match="newer Google News id"):
        publisher_url(REAL_NEW_ID)
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
