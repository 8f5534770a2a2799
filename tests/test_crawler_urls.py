"""crawler.urls: checked URLs, canonical URLs and link priorities."""

import pytest
from conftest import HOSTILE_URLS

from crawler.errors import FetchError, InvalidUrlError
from crawler.urls import ascii_host, canonical_url, link_priority, parse_web_url


def test_tracking_parameters_and_fragment_go():
    url = "HTTPS://Example.ORG:443/news/a.html?utm_source=x&b=2&fbclid=abc&a=1&UTM_Medium=y&gclid=z#comments"
    assert canonical_url(url) == "https://example.org/news/a.html?a=1&b=2"


def test_normalises_ports_paths_and_encoding():
    assert canonical_url("http://example.org:80") == "http://example.org/"
    assert canonical_url("http://example.org:8080//a//b") == "http://example.org:8080/a/b"
    assert canonical_url("http://example.org/caf%c3%a9 x") == canonical_url("http://example.org/caf%C3%A9%20x")


def test_keeps_the_brackets_of_an_ipv6_host():
    # Without them "http://::1:8080/" cannot be requested: one such entry broke a whole feed's parse.
    assert canonical_url("http://[::1]:8080/a") == "http://[::1]:8080/a"
    assert canonical_url("http://[::FFFF:127.0.0.1]/") == "http://[::ffff:127.0.0.1]/"


def test_keeps_meaningful_parameters():
    assert canonical_url("https://example.org/search?q=stem+cells&page=2") == "https://example.org/search?page=2&q=stem+cells"


def test_relevant_links_rank_above_furniture():
    article = link_priority("https://example.org/news/stem-cell-ms-trial", "HSCT for multiple sclerosis")
    plain = link_priority("https://example.org/news/budget-2026", "Budget day")
    furniture = link_priority("https://example.org/privacy", "Privacy policy")
    assert article > plain > furniture


@pytest.mark.parametrize(("url", "problem"), HOSTILE_URLS.items(), ids=lambda v: v[:40] if isinstance(v, str) else v)
def test_hostile_urls_are_one_short_error(url, problem):
    with pytest.raises(InvalidUrlError, match=problem) as error:
        parse_web_url(url)
    assert isinstance(error.value, FetchError) and isinstance(error.value, ValueError)
    assert "\n" not in str(error.value) and len(str(error.value)) < 200


def test_ordinary_urls_pass_and_hosts_are_encoded_for_the_resolver():
    for url in ("https://example.org/a?b=1", "http://[::1]:8000/", "http://a_b.example/", "https://example.org./",
                "http://" + ".".join(["a" * 63] * 3) + "/"):
        parse_web_url(url)
    assert ascii_host("bücher.example") == "xn--bcher-kva.example"
    assert ascii_host("127.0.0.1") == "127.0.0.1"


def test_canonical_url_refuses_what_it_cannot_split():
    with pytest.raises(InvalidUrlError):
        canonical_url("http://example.org:99999/x")


@pytest.mark.parametrize(("url", "expected"), [
    ("http://a.example/x;jsessionid=ABC123?page=2", "http://a.example/x?page=2"),
    ("http://a.example/x;JSESSIONID=1;v=2/y", "http://a.example/x;v=2/y"),
    ("http://a.example/x?sid=9&id=4&PHPSESSID=zz", "http://a.example/x?id=4"),
    ("http://a.example/news?id=1&side=left", "http://a.example/news?id=1&side=left"),
])
def test_canonical_urls_carry_no_session_ids(url, expected):
    assert canonical_url(url) == expected


def test_session_ids_are_one_list_for_fetching_and_storing():
    from crawler import middlewares, urls

    assert middlewares.without_session_ids is urls.without_session_ids
