"""hypewatch's spiders, one per source kind: site, feed and sitemap."""

from crawler.spiders.feed import FeedSpider
from crawler.spiders.site import SiteSpider
from crawler.spiders.sitemap import SitemapSpider

SPIDERS = {spider.name: spider for spider in (SiteSpider, FeedSpider, SitemapSpider)}


def spider_for(kind: str):
    return SPIDERS[kind]
