"""crawler.feeds: RSS and Atom entries, safely parsed."""

from crawler.feeds import parse_feed

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Stem cells and MS</title><link>https://example.org/a</link>
<pubDate>Tue, 03 Mar 2026 09:00:00 GMT</pubDate></item>
<item><title>No link, permalink guid</title><guid>https://example.org/b</guid></item>
<item><title>Nothing to fetch</title></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><title>A</title><link rel="self" href="/self"/><link rel="alternate" href="/posts/a"/>
<updated>2026-03-01T10:00:00Z</updated></entry>
<entry><title>B</title><link href="https://example.org/posts/b"/></entry></feed>"""

RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel><title>t</title></channel><item><title>R</title><link>https://example.org/r</link></item></rdf:RDF>"""


def test_rss_entries():
    entries = parse_feed(RSS, "https://example.org/feed")
    assert [e.url for e in entries] == ["https://example.org/a", "https://example.org/b"]
    assert entries[0].title == "Stem cells and MS" and entries[0].published.isoformat() == "2026-03-03T09:00:00+00:00"


def test_atom_entries_resolve_relative_links():
    entries = parse_feed(ATOM, "https://example.org/blog/atom.xml")
    assert [e.url for e in entries] == ["https://example.org/posts/a", "https://example.org/posts/b"]


def test_rss_1_entries():
    assert [e.url for e in parse_feed(RDF, "https://example.org/")] == ["https://example.org/r"]


def test_html_is_not_a_feed():
    assert parse_feed(b"<!doctype html><html><body><p>hi</p></body></html>", "https://example.org/") is None
    assert parse_feed(b"", "https://example.org/") is None


def test_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    hostile = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>'
               '<rss><channel><item><title>&x;</title><link>https://example.org/a</link></item></channel></rss>').encode()
    entries = parse_feed(hostile, "https://example.org/")
    assert all("TOP-SECRET" not in e.title for e in entries or [])


FEEDBURNER_RSS = b"""<?xml version="1.0"?><rss version="2.0" xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0">
<channel><title>t</title>
<item><title>A</title><link>http://feedproxy.google.com/~r/MsNews/~3/AbCdEf/</link>
<feedburner:origLink>https://ms-news.example/2026/03/a</feedburner:origLink></item>
<item><title>B</title><link>http://feedproxy.google.com/~r/MsNews/~3/GhIjKl/</link></item>
</channel></rss>"""

FEEDBURNER_ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"
xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"><title>t</title>
<entry><title>A</title><link rel="alternate" href="http://feeds.feedburner.com/~r/MsNews/~3/AbCdEf/"/>
<feedburner:origLink>https://ms-news.example/2026/03/a</feedburner:origLink></entry></feed>"""


def test_feedburner_entries_link_to_the_original():
    entries = parse_feed(FEEDBURNER_RSS, "http://feeds.feedburner.com/MsNews")
    # The original where the feed gives it; otherwise the redirect, followed when fetched.
    assert [e.url for e in entries] == ["https://ms-news.example/2026/03/a",
                                        "http://feedproxy.google.com/~r/MsNews/~3/GhIjKl/"]
    assert [e.url for e in parse_feed(FEEDBURNER_ATOM, "http://feeds.feedburner.com/MsNews")] == [
        "https://ms-news.example/2026/03/a"]


HOSTILE_LINKS = ["http://[::1/", "http://example.org:99999/x", "http://example.org:port/", "javascript:alert(1)"]


def test_hostile_links_do_not_stop_the_rest_of_the_feed():
    items = "".join(f"<item><title>{n}</title><link>{link}</link></item>" for n, link in enumerate(HOSTILE_LINKS))
    body = f'<?xml version="1.0"?><rss version="2.0"><channel>{items}' \
           "<item><title>fine</title><link>/posts/fine</link></item></channel></rss>"
    entries = parse_feed(body.encode(), "https://example.org/feed")
    # Each entry is kept as the feed wrote it; the spider checks (and counts) what it cannot fetch.
    assert [e.title for e in entries] == ["0", "1", "2", "3", "fine"]
    assert entries[0].url == "http://[::1/" and entries[-1].url == "https://example.org/posts/fine"
