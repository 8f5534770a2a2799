"""crawler.urls: canonical URLs and link priorities."""

from crawler.urls import canonical_url, link_priority


def test_tracking_parameters_and_fragment_go():
    url = "HTTPS://Example.ORG:443/news/a.html?utm_source=x&b=2&fbclid=abc&a=1&UTM_Medium=y&gclid=z#comments"
    assert canonical_url(url) == "https://example.org/news/a.html?a=1&b=2"


def test_normalises_ports_paths_and_encoding():
    assert canonical_url("http://example.org:80") == "http://example.org/"
    assert canonical_url("http://example.org:8080//a//b") == "http://example.org:8080/a/b"
    assert canonical_url("http://example.org/caf%c3%a9 x") == canonical_url("http://example.org/caf%C3%A9%20x")


def test_keeps_meaningful_parameters():
    assert canonical_url("https://example.org/search?q=stem+cells&page=2") == "https://example.org/search?page=2&q=stem+cells"


def test_relevant_links_rank_above_furniture():
    article = link_priority("https://example.org/news/stem-cell-ms-trial", "HSCT for multiple sclerosis")
    plain = link_priority("https://example.org/news/budget-2026", "Budget day")
    furniture = link_priority("https://example.org/privacy", "Privacy policy")
    assert article > plain > furniture
