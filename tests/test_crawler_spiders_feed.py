"""crawler.spiders.feed on feeds shaped like the real web's news aggregators: a real crawl (in its
own process, as `hypewatch crawl` runs it) of local feeds whose entries wrap local publishers'
articles in Google News ids, Bing click-through links and feedburner redirects."""

from __future__ import annotations

from xml.sax.saxutils import escape

from sqlalchemy import select

from classifier.corpus import load_corpus
from crawler.sources import SourceConfig
from crawler.vocabulary import INVALID_LINK, UNDECODABLE_LINK
from hypewatch.dispatch import run_crawl
from storage.models import Page
from tests.conftest import SEEDS_DIR, article_html, bing_link, google_news_link


def rss(title: str, items: list[str], namespaces: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"{namespaces}><channel><title>{title}</title>'
            f'<link>https://news.example/</link><description>search results</description>{"".join(items)}'
            "</channel></rss>")


def google_item(title: str, link: str, publisher_home: str) -> str:
    description = escape(f'<a href="{link}" target="_blank">{title}</a>&nbsp;&nbsp;<font color="#6f6f6f">Pub</font>')
    return (f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{link.rsplit("/", 1)[1]}</guid><pubDate>Tue, 03 Mar 2026 09:00:00 GMT</pubDate>'
            f'<description>{description}</description><source url="{publisher_home}">Publisher</source></item>')


def test_aggregator_feeds_crawl_through_to_the_publishers_articles(app, local_site):
    prefix = "/aggregated"
    articles = [d for d in load_corpus(SEEDS_DIR).documents if d.relevant][:5]
    paths = [f"{prefix}/publisher-{i}/news/{doc.id}" for i, doc in enumerate(articles)]
    for path, doc in zip(paths, articles, strict=True):
        title = doc.text.split("\n", 1)[0][:120]
        local_site.add(path, article_html(title, doc.text))
    urls = [local_site.url(p) for p in paths]

    newer_id = google_news_link("AU_yqLNuL0iS8_7WkT3xVq0aZcYb1Qp9sRr6uVvWw2xXyYzZ")
    google_feed = rss("stem cell - Google News", [
        google_item("Stem cells in MS - Publisher 0", google_news_link(urls[0]), local_site.base_url),
        google_item("HSCT trial - Publisher 1", google_news_link(urls[1], amp=urls[1] + "?amp=1"), local_site.base_url),
        google_item("A newer Google News id", newer_id, local_site.base_url),
    ])
    bing_feed = rss("stem cell: Bing News", [
        f"<item><title>Bing {i}</title><link>{escape(bing_link(url))}</link>"
        "<description>snippet</description><pubDate>Tue, 03 Mar 2026 09:00:00 GMT</pubDate>"
        "<News:Source>Publisher</News:Source></item>" for i, url in ((2, urls[2]), (3, urls[3]))
    ], ' xmlns:News="https://www.bing.com:443/news/search?q=stem+cell&amp;format=rss"')
    # feedburner: the item's link is a feedproxy redirect; the original is in feedburner:origLink.
    feedburner_feed = rss("MS news (feedburner)", [
        "<item><title>Via feedproxy</title><link>http://feedproxy.google.com/~r/MsNews/~3/AbCdEf/</link>"
        f"<feedburner:origLink>{escape(urls[4])}</feedburner:origLink></item>",
    ], ' xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"')
    feed_urls = [local_site.add(f"{prefix}/{name}.xml", body, content_type="application/rss+xml; charset=utf-8")
                 for name, body in (("google", google_feed), ("bing", bing_feed), ("feedburner", feedburner_feed))]

    # Only loopback is allowed: were a link not decoded, it would be dropped as off-site, never fetched.
    source = SourceConfig(name="aggregated-news", kind="feed", start_urls=tuple(feed_urls),
                          allowed_domains=("127.0.0.1",), max_pages=20, max_depth=1, allow_private=True)
    summary = run_crawl(app, source)

    assert summary.status == "ok", summary.message
    requested = {p.split("?", 1)[0] for p in local_site.requests if p.startswith(prefix + "/publisher-")}
    assert requested == set(paths)  # every publisher's article, from every aggregator's shape
    assert summary.dropped.get(UNDECODABLE_LINK) == 1  # the newer Google News id: counted, not silent
    with app.database.session() as session:
        stored = set(session.scalars(select(Page.url)))
    assert stored and stored <= set(urls)  # stored under the publishers' URLs, not the aggregators'
    assert summary.pages_new + summary.dropped.get("off-topic", 0) == len(urls)


def test_entries_with_hostile_links_are_counted_and_the_rest_of_the_feed_is_crawled(app, local_site):
    doc = next(d for d in load_corpus(SEEDS_DIR).documents if d.relevant)
    article = local_site.add("/hostile-feed/article", article_html(doc.text.split("\n", 1)[0][:120], doc.text))
    hostile = ["http://[::1/", "http://127.0.0.1:99999/x", "http://127.0.0.1:port/", "javascript:alert(1)",
               "http://" + "a" * 70 + ".example/"]
    feed = local_site.add("/hostile-feed/rss.xml", rss("hostile", [
        *(f"<item><title>Hostile {n}</title><link>{escape(link)}</link></item>" for n, link in enumerate(hostile)),
        f"<item><title>Fine</title><link>{escape(article)}</link></item>",
    ]), content_type="application/rss+xml; charset=utf-8")
    source = SourceConfig(name="hostile-feed", kind="feed", start_urls=(feed,), allowed_domains=("127.0.0.1",),
                          max_pages=20, max_depth=1, allow_private=True)
    summary = run_crawl(app, source)
    assert summary.status == "ok", summary.message
    assert summary.dropped.get(INVALID_LINK) == len(hostile), summary.dropped
    assert "spider" not in summary.errors, summary.errors  # no traceback in the feed's callback
    assert "/hostile-feed/article" in local_site.requests  # the entry after them is fetched
