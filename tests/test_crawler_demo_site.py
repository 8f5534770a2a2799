"""crawler.demo_site: the corpus served as a website, over real HTTP."""

from __future__ import annotations

import html

import httpx

from crawler.demo_site import MAX_ARTICLES, MISBEHAVING
from crawler.feeds import parse_feed


def get(site, path: str, **kwargs) -> httpx.Response:
    return httpx.get(site.url + path, timeout=10, **kwargs)


def test_corpus_documents_are_article_pages(demo_site):
    # The corpus is larger than a demo site needs: MAX_ARTICLES of its article-shaped documents.
    assert len(demo_site.articles) == MAX_ARTICLES
    article = next(a for a in demo_site.articles.values() if a.genre == "news" and html.escape(a.title) == a.title)
    response = get(demo_site, article.path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert article.title in page and "Advertisement" in page and 'class="comments"' in page and "<footer" in page


def test_machine_readable_files(demo_site):
    robots = get(demo_site, "/robots.txt").text
    assert "Disallow: /private/" in robots and f"Sitemap: {demo_site.url}/sitemap.xml" in robots
    entries = parse_feed(get(demo_site, "/feed.xml").content, demo_site.url)
    assert len(entries) == 30 and all(e.url.startswith(demo_site.url) for e in entries)
    assert len(parse_feed(get(demo_site, "/atom.xml").content, demo_site.url)) == 30
    assert "sitemap-news.xml" in get(demo_site, "/sitemap.xml").text
    assert get(demo_site, "/sitemap-articles.xml").text.count("<loc>") == len(demo_site.articles)
    assert "news:publication_date" in get(demo_site, "/sitemap-news.xml").text


def test_misbehaving_urls(demo_site):
    assert get(demo_site, MISBEHAVING["error"]).status_code == 500
    assert get(demo_site, MISBEHAVING["missing"]).status_code == 404
    loop = get(demo_site, MISBEHAVING["loop"])
    assert loop.status_code == 302 and loop.headers["location"] == "/loop/b.html"
    with httpx.stream("GET", demo_site.url + MISBEHAVING["oversized"], timeout=10) as huge:
        assert int(huge.headers["content-length"]) > 50 * 1024 * 1024


def test_duplicates_and_revisions(demo_site):
    article = next(a for a in demo_site.articles.values() if a.print_path)
    printable = get(demo_site, article.print_path).text
    assert f'<link rel="canonical" href="{article.path}">' in printable
    demo_site.revise(article.id, "A brand new closing paragraph.")
    assert "A brand new closing paragraph." in get(demo_site, article.path).text
    assert article.path in demo_site.requests


def test_sources_point_at_the_site(demo_site):
    kinds = {s.kind: s for s in demo_site.sources(max_pages=7)}
    assert set(kinds) == {"site", "feed", "sitemap"}
    assert all(s.allow_private and s.max_pages == 7 for s in kinds.values())
    assert kinds["feed"].start_urls == (demo_site.url + "/feed.xml",)
