"""A local demo website built from the labelled corpus, for demos and for crawling it in tests.

Every corpus document becomes an article page wrapped in what real sites put around articles
(navigation, adverts, share links, related links, comments, footer), so extraction has real work
to do. Around them: a home page and paginated section indexes, RSS and Atom feeds, a sitemap
index with a plain and a news sitemap, robots.txt (which forbids /private/ and /search), plain
boilerplate pages, duplicates (print versions that declare their canonical URL, syndicated
copies that do not, links carrying tracking parameters) and misbehaving URLs: a slow page, a
page that always fails with 500, a redirect loop, an oversized download and a 404.

`DemoSite` knows what it serves: `articles` (with each one's label and duplicate URLs), the
paths requested so far, and `revise()` changes an article's text, as a site editing a page would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from crawler.sources import SourceConfig

SITE_NAME = "MS Health Watch (demo)"
SECTIONS = {
    "news": "news", "clinic": "clinics", "blog": "blog", "forum": "forum", "society": "society",
    "hospital": "hospitals", "regulator": "regulators", "trial": "trials", "other": "misc",
}
PER_INDEX_PAGE = 20
FEED_ENTRIES = 30
NEWEST_DATE = dt.date(2026, 3, 1)
HUGE_BYTES = 64 * 1024 * 1024
PRINT_EVERY = 7  # every 7th article has a print version (declares its canonical URL)
SYNDICATED_EVERY = 15  # every 15th has a syndicated copy (same text, no canonical)
PRIVATE_LINK_EVERY = 10  # every 10th links to a draft under /private/ (robots.txt forbids it)
ROBOTS_DISALLOWED = ("/private/", "/search")
MISBEHAVING = {
    "slow": "/archive/slow.html",
    "error": "/archive/broken.html",
    "loop": "/loop/a.html",
    "oversized": "/downloads/huge.html",
    "missing": "/missing.html",
}
BOILERPLATE = {
    "/about.html": ("About us", [
        "MS Health Watch is a demonstration website.",
        "It exists so that the crawler has something realistic to read.",
    ]),
    "/contact.html": ("Contact", ["Write to the editors at the address below.", "We read every message."]),
    "/privacy.html": ("Privacy", [
        "We use cookies to remember your preferences and to count visits.",
        "You can change your cookie settings at any time in your browser.",
    ]),
    "/terms.html": ("Terms of use", [
        "By using this site you agree to these terms.", "Content is for information only.",
    ]),
}
ADVERTS = (
    "Compare home insurance quotes in minutes. Get started today.",
    "Summer sale: up to 40% off garden furniture. Shop now.",
    "Learn a new language with ten minutes a day. Try it free.",
)
NEWSLETTER = '<div class="newsletter"><h3>Newsletter</h3><p>Sign up for our weekly digest.</p></div>'
COMMENTS = (
    ("Marion", "Thanks for posting this, I shared it with my support group."),
    ("Dev", "Interesting read. Does anyone know when the next update is due?"),
    ("K. Ortiz", "Bookmarked. The comments here are always helpful."),
)


MAX_ARTICLES = 300
MIN_ARTICLE_WORDS = 80  # well above the crawl's HYPEWATCH_MIN_ARTICLE_WORDS
MIN_WORDS_PER_LINE = 8


@dataclass
class DemoArticle:
    id: str
    genre: str
    relevant: bool
    title: str
    paragraphs: list[str]
    path: str
    published: dt.date
    print_path: str | None = None
    syndicated_path: str | None = None
    private_path: str | None = None

    @property
    def duplicate_paths(self) -> tuple[str, ...]:
        """Other URLs serving this article's text (one of them, at most, may be stored)."""
        return tuple(p for p in (self.print_path, self.syndicated_path) if p)


@dataclass
class DemoSite:
    server: _QuietServer
    thread: threading.Thread
    articles: dict[str, DemoArticle]
    slow_seconds: float
    _requests: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        if isinstance(host, (bytes, bytearray)):  # typed so for AF_UNIX; an HTTP server's host is text
            host = host.decode()
        return f"http://{host}:{port}"

    def article_url(self, article_id: str) -> str:
        return self.url + self.articles[article_id].path

    @property
    def requests(self) -> list[str]:
        """Paths requested so far (with query strings), in order."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def revise(self, article_id: str, paragraph: str = "Update: this article was revised after publication "
               "to add a clarification from the editors about the treatment costs quoted above.") -> None:
        """Add a paragraph to an article, as a site editing a published page would."""
        with self._lock:
            self.articles[article_id].paragraphs.append(paragraph)

    def sources(self, *, max_pages: int = 1000, max_depth: int = 3) -> list[SourceConfig]:
        """Sources for crawling this site: the whole site, its RSS feed and its sitemap index."""
        host = urlsplit(self.url).hostname or ""

        def source(name: str, kind: str, path: str) -> SourceConfig:
            return SourceConfig(name=name, kind=kind, start_urls=(self.url + path,), allowed_domains=(host,),
                                allow_private=True, max_pages=max_pages, max_depth=max_depth)

        return [source("demo-site", "site", "/"), source("demo-feed", "feed", "/feed.xml"),
                source("demo-sitemap", "sitemap", "/sitemap.xml")]

    def log_request(self, path: str) -> None:
        with self._lock:
            self._requests.append(path)

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> DemoSite:
        return self

    def __exit__(self, *exc_info) -> None:
        self.shutdown()


def serve_demo_site(seeds_dir: Path, host: str = "127.0.0.1", port: int = 0, *,
                    slow_seconds: float = 5.0) -> DemoSite:
    """Start the demo site on `host`:`port` (0: any free port) in a background thread."""
    articles = load_articles(Path(seeds_dir))
    server = _QuietServer((host, port), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="hypewatch-demo-site", daemon=True)
    site = DemoSite(server, thread, articles, slow_seconds)
    server.site = site
    server.pages = _Pages(site)
    thread.start()
    return site


def load_articles(seeds_dir: Path, max_articles: int = MAX_ARTICLES) -> dict[str, DemoArticle]:
    """The site's articles: the corpus documents, or `max_articles` of them evenly spread over the
    sorted ids when the corpus is larger (a site of a few hundred pages shows everything a crawl
    meets, and keeps demo and test crawls quick)."""
    labels_file = seeds_dir / "labels.jsonl"
    rows = sorted((json.loads(line) for line in labels_file.read_text(encoding="utf-8").splitlines() if line.strip()),
                  key=lambda r: r["id"])
    rows = [r for r in rows if _reads_as_article((seeds_dir / "docs" / f"{r['id']}.txt").read_text(encoding="utf-8"))]
    if len(rows) > max_articles:
        rows = [rows[i * len(rows) // max_articles] for i in range(max_articles)]
    articles: dict[str, DemoArticle] = {}
    for position, row in enumerate(rows):
        text = (seeds_dir / "docs" / f"{row['id']}.txt").read_text(encoding="utf-8").strip()
        title, _, body = text.partition("\n")
        section = SECTIONS.get(row["genre"], "misc")
        article = DemoArticle(
            id=row["id"], genre=row["genre"], relevant=bool(row["relevant"]), title=title.strip(),
            paragraphs=[p.strip() for p in body.splitlines() if p.strip()],
            path=f"/{section}/{row['id']}.html", published=_published(row["id"]),
        )
        if position % PRINT_EVERY == 3:
            article.print_path = f"/print/{row['id']}.html"
        if position % SYNDICATED_EVERY == 5:
            article.syndicated_path = f"/syndication/{row['id']}.html"
        if position % PRIVATE_LINK_EVERY == 1:
            article.private_path = f"/private/drafts/{row['id']}.html"
        articles[article.id] = article
    return articles


def _reads_as_article(text: str) -> bool:
    """An article page, not a blurb or a page of links: the corpus also holds social posts, menus
    and tag lists (to teach the model), which a site would not serve as articles."""
    lines = [line for line in text.strip().splitlines()[1:] if line.strip()]
    words = sum(len(line.split()) for line in lines)
    return words >= MIN_ARTICLE_WORDS and words / max(1, len(lines)) >= MIN_WORDS_PER_LINE


def _published(article_id: str) -> dt.date:
    days = int(hashlib.sha256(article_id.encode()).hexdigest()[:8], 16) % 420
    return NEWEST_DATE - dt.timedelta(days=days)


# ---------------------------------------------------------------------------- HTTP
class _QuietServer(ThreadingHTTPServer):
    site: DemoSite  # set by serve_demo_site, read by each request's handler
    pages: _Pages

    def handle_error(self, request, client_address) -> None:
        # A crawler hanging up on the oversized or slow page is expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hypewatch-demo/1"
    server: _QuietServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        site = self.server.site
        site.log_request(self.path)
        path = urlsplit(self.path).path
        pages = self.server.pages
        if path == MISBEHAVING["slow"]:
            time.sleep(site.slow_seconds)
        if path == MISBEHAVING["oversized"]:
            return self._stream_huge()
        status, content_type, body, headers = pages.render(path)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _stream_huge(self) -> None:
        chunk = b"<p>" + b"filler " * 145 + b"</p>\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(HUGE_BYTES))
        self.end_headers()
        sent = 0
        try:
            while sent < HUGE_BYTES:
                part = chunk[: HUGE_BYTES - sent]
                self.wfile.write(part)
                sent += len(part)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args) -> None:
        pass


HTML = "text/html; charset=utf-8"


class _Pages:
    """Renders every path of the site (on each request, so revisions show at once)."""

    def __init__(self, site: DemoSite):
        self.site = site
        self.by_path = {a.path: a for a in site.articles.values()}
        self.by_print = {a.print_path: a for a in site.articles.values() if a.print_path}
        self.by_syndicated = {a.syndicated_path: a for a in site.articles.values() if a.syndicated_path}
        self.sections: dict[str, list[DemoArticle]] = {}
        for article in sorted(site.articles.values(), key=lambda a: (a.published, a.id), reverse=True):
            self.sections.setdefault(SECTIONS.get(article.genre, "misc"), []).append(article)

    def render(self, path: str) -> tuple[int, str, bytes, dict[str, str]]:
        with self.site._lock:
            return self._render(path)

    def _render(self, path: str) -> tuple[int, str, bytes, dict[str, str]]:
        if path == "/robots.txt":
            return 200, "text/plain; charset=utf-8", self.robots().encode(), {}
        if path == "/feed.xml":
            return 200, "application/rss+xml; charset=utf-8", self.rss().encode(), {}
        if path == "/atom.xml":
            return 200, "application/atom+xml; charset=utf-8", self.atom().encode(), {}
        if path == "/sitemap.xml":
            return 200, "application/xml; charset=utf-8", self.sitemap_index().encode(), {}
        if path == "/sitemap-articles.xml":
            return 200, "application/xml; charset=utf-8", self.sitemap_articles().encode(), {}
        if path == "/sitemap-news.xml":
            return 200, "application/xml; charset=utf-8", self.sitemap_news().encode(), {}
        if path == MISBEHAVING["error"]:
            return 500, HTML, self.page("Server error", "<p>Something went wrong.</p>").encode(), {}
        if path == "/loop/a.html":
            return 302, HTML, b"", {"Location": "/loop/b.html"}
        if path == "/loop/b.html":
            return 302, HTML, b"", {"Location": "/loop/a.html"}
        if path in ("/", "/index.html"):
            return 200, HTML, self.home().encode(), {}
        if path in BOILERPLATE:
            title, paragraphs = BOILERPLATE[path]
            return 200, HTML, self.page(title, "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)).encode(), {}
        if path == MISBEHAVING["slow"]:
            return 200, HTML, self.page("From the archive", "<p>This page took a long time.</p>").encode(), {}
        if path in self.by_path:
            return 200, HTML, self.article(self.by_path[path]).encode(), {}
        if path in self.by_print:
            return 200, HTML, self.article(self.by_print[path], printable=True).encode(), {}
        if path in self.by_syndicated:
            return 200, HTML, self.article(self.by_syndicated[path], syndicated=True).encode(), {}
        section_page = self._section_page(path)
        if section_page is not None:
            return 200, HTML, section_page.encode(), {}
        return 404, HTML, self.page("Not found", "<p>There is no page at this address.</p>").encode(), {}

    # ------------------------------------------------------------------ chrome
    def page(self, title: str, main: str, *, head: str = "", aside: bool = True) -> str:
        nav = " ".join(f'<li><a href="/{s}/">{s.title()}</a></li>' for s in self.sections)
        adverts = "".join(f'<div class="ad"><span>Advertisement</span><p>{html.escape(a)}</p></div>' for a in ADVERTS)
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} | {SITE_NAME}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">{head}</head>
<body>
<header class="site-header"><a class="logo" href="/">{SITE_NAME}</a>
<form action="/search" method="get"><input name="q" placeholder="Search"><button>Search</button></form>
<nav class="main-nav"><ul><li><a href="/">Home</a></li>{nav}</ul></nav>
<div class="cookie-banner">We use cookies. <a href="/privacy.html">Learn more</a></div></header>
<div class="layout"><main id="content">{main}</main>
{f'<aside class="sidebar">{adverts}{NEWSLETTER}</aside>' if aside else ''}
</div>
<footer class="site-footer"><ul>
<li><a href="/about.html">About</a></li><li><a href="/contact.html">Contact</a></li>
<li><a href="/privacy.html">Privacy</a></li><li><a href="/terms.html">Terms</a></li>
<li><a href="/private/members.html">Members area</a></li><li><a href="/search?q=stem+cells">Search</a></li>
<li><a href="{MISBEHAVING['slow']}">Archive</a></li><li><a href="{MISBEHAVING['error']}">Old forum</a></li>
<li><a href="{MISBEHAVING['loop']}">Moved</a></li>
<li><a href="{MISBEHAVING['oversized']}">Annual report (download)</a></li>
<li><a href="{MISBEHAVING['missing']}">Events</a></li>
<li><a href="/feed.xml">RSS</a></li></ul>
<p>&copy; 2026 {SITE_NAME}. A demonstration site; every article is from hypewatch's labelled corpus.</p></footer>
</body></html>"""

    def home(self) -> str:
        newest = sorted(self.site.articles.values(), key=lambda a: (a.published, a.id), reverse=True)[:12]
        latest = "".join(
            f'<li><a href="{a.path}?utm_source=homepage&amp;utm_medium=latest">{html.escape(a.title)}</a></li>'
            for a in newest
        )
        sections = "".join(
            f'<li><a href="/{name}/">{name.title()}</a> '
            + " ".join(f'<a href="{self._section_path(name, n)}">{n}</a>' for n in range(1, self._pages(name) + 1))
            + "</li>"
            for name in self.sections
        )
        return self.page("Home", f'<h1>Latest</h1><ul class="latest">{latest}</ul>'
                                 f'<h2>Sections</h2><ul class="sections">{sections}</ul>')

    def _pages(self, section: str) -> int:
        return max(1, -(-len(self.sections[section]) // PER_INDEX_PAGE))

    @staticmethod
    def _section_path(section: str, number: int) -> str:
        return f"/{section}/" if number == 1 else f"/{section}/page/{number}/"

    def _section_page(self, path: str) -> str | None:
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] not in self.sections:
            return None
        section = parts[0]
        if len(parts) == 1:
            number = 1
        elif len(parts) == 3 and parts[1] == "page" and parts[2].isdigit():
            number = int(parts[2])
        else:
            return None
        if not 1 <= number <= self._pages(section):
            return None
        chunk = self.sections[section][(number - 1) * PER_INDEX_PAGE: number * PER_INDEX_PAGE]
        items = "".join(f'<li><a href="{a.path}">{html.escape(a.title)}</a> <time>{a.published}</time></li>'
                        for a in chunk)
        pager = " ".join(f'<a href="{self._section_path(section, n)}">{n}</a>'
                         for n in range(1, self._pages(section) + 1))
        return self.page(f"{section.title()} (page {number})",
                         f'<h1>{section.title()}</h1><ul class="article-list">{items}</ul>'
                         f'<nav class="pager">Pages: {pager}</nav>')

    def article(self, article: DemoArticle, *, printable: bool = False, syndicated: bool = False) -> str:
        head = f'<meta property="og:type" content="article"><meta property="article:published_time" ' \
               f'content="{article.published.isoformat()}"><meta name="author" content="Demo Staff">'
        if printable:
            head += f'<link rel="canonical" href="{article.path}">'
        body = "".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
        related = [a for a in self.sections[SECTIONS.get(article.genre, "misc")] if a.id != article.id][:3]
        related_html = "".join(f'<li><a href="{a.path}">{html.escape(a.title)}</a></li>' for a in related)
        extra_links = ""
        if article.print_path and not printable:
            extra_links += f'<a class="print" href="{article.print_path}">Print this article</a> '
        if article.syndicated_path and not syndicated:
            extra_links += f'<a class="partner" href="{article.syndicated_path}">Also on our partner site</a> '
        if article.private_path:
            extra_links += f'<a class="draft" href="{article.private_path}">Editor draft</a>'
        share = (f'<div class="share">Share: <a href="{article.path}?utm_source=twitter&amp;utm_medium=social">X</a> '
                 f'<a href="{article.path}?fbclid=IwAR0demo">Facebook</a></div>')
        comments = "".join(f'<li class="comment"><b>{html.escape(who)}</b><p>{html.escape(text)}</p></li>'
                           for who, text in COMMENTS)
        main = f"""<article class="post"><h1>{html.escape(article.title)}</h1>
<p class="byline">By Demo Staff ·
<time datetime="{article.published.isoformat()}">{article.published:%d %B %Y}</time></p>
<div class="entry-content">{body}</div></article>
{share}<div class="article-tools">{extra_links}</div>
<section class="related"><h2>Related articles</h2><ul>{related_html}</ul></section>
<section id="comments" class="comments"><h2>Comments</h2><ol>{comments}</ol></section>"""
        return self.page(article.title, main, head=head, aside=not printable)

    # ------------------------------------------------------------------ machine-readable
    def robots(self) -> str:
        rules = "".join(f"Disallow: {p}\n" for p in ROBOTS_DISALLOWED)
        return f"User-agent: *\n{rules}\nSitemap: {self.site.url}/sitemap.xml\n"

    def _newest(self, count: int) -> list[DemoArticle]:
        return sorted(self.site.articles.values(), key=lambda a: (a.published, a.id), reverse=True)[:count]

    def rss(self) -> str:
        items = "".join(
            f"<item><title>{html.escape(a.title)}</title><link>{self.site.url}{a.path}?utm_source=rss</link>"
            f"<guid isPermaLink=\"false\">{a.id}</guid>"
            f"<pubDate>{format_datetime(dt.datetime.combine(a.published, dt.time(9), dt.UTC))}</pubDate></item>"
            for a in self._newest(FEED_ENTRIES)
        )
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{SITE_NAME}</title>'
                f"<link>{self.site.url}/</link><description>Latest articles</description>{items}</channel></rss>")

    def atom(self) -> str:
        entries = "".join(
            f'<entry><title>{html.escape(a.title)}</title><link rel="alternate" href="{self.site.url}{a.path}"/>'
            f"<id>urn:demo:{a.id}</id><updated>{a.published.isoformat()}T09:00:00Z</updated></entry>"
            for a in self._newest(FEED_ENTRIES)
        )
        return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>{SITE_NAME}</title><id>urn:demo</id><updated>{NEWEST_DATE.isoformat()}T09:00:00Z</updated>"
                f"{entries}</feed>")

    def sitemap_index(self) -> str:
        maps = "".join(f"<sitemap><loc>{self.site.url}/{name}</loc></sitemap>"
                       for name in ("sitemap-articles.xml", "sitemap-news.xml"))
        return f'<?xml version="1.0" encoding="utf-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{maps}</sitemapindex>'

    def sitemap_articles(self) -> str:
        urls = "".join(f"<url><loc>{self.site.url}{a.path}</loc><lastmod>{a.published.isoformat()}</lastmod></url>"
                       for a in self._newest(len(self.site.articles)))
        return f'<?xml version="1.0" encoding="utf-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'

    def sitemap_news(self) -> str:
        news = [a for a in self._newest(len(self.site.articles)) if a.genre == "news"][:50]
        urls = "".join(
            f"<url><loc>{self.site.url}{a.path}</loc><news:news><news:publication><news:name>{SITE_NAME}</news:name>"
            f"<news:language>en</news:language></news:publication>"
            f"<news:publication_date>{a.published.isoformat()}</news:publication_date>"
            f"<news:title>{html.escape(a.title)}</news:title></news:news></url>"
            for a in news
        )
        return ('<?xml version="1.0" encoding="utf-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>')
