"""crawler.articles: extraction plus the link-list check that tells index pages from articles."""

import gzip

from crawler.articles import extract_article, link_ratio
from crawler.extract import extract_html
from tests.conftest import article_html

BODY = ("Autologous haematopoietic stem cell transplantation was compared with the best available drugs "
        "in people with relapsing multiple sclerosis. ") * 6


def test_an_article_has_few_of_its_own_links_in_its_text():
    result = extract_article(article_html("HSCT trial results", BODY).encode(), "https://example.org/a")
    assert result.extraction.status == "ok" and result.link_ratio < 0.1


def test_an_index_page_is_a_list_of_its_links():
    titles = [f"Stem cell treatment for multiple sclerosis, part {n} of the series" for n in range(25)]
    items = "".join(f'<li><a href="/a/{n}">{t}</a></li>' for n, t in enumerate(titles))
    page = f"<html><body><main><h1>News</h1><ul>{items}</ul></main></body></html>".encode()
    assert link_ratio({t.casefold() for t in titles}, "\n".join(f"- {t}" for t in titles)) == 1.0
    result = extract_article(page, "https://example.org/news/")
    assert result.extraction.status != "ok" or result.link_ratio > 0.5


def test_the_same_text_as_extraction_alone_plus_the_page_compressed():
    page = article_html("HSCT trial results", BODY).encode()
    result = extract_article(page, "https://example.org/a")
    assert result.extraction == extract_html(page, "https://example.org/a")
    assert gzip.decompress(result.raw_html_gz) == page


def test_the_charset_the_server_declares_decodes_the_page():
    page = article_html("Clinic prices", BODY + " Packages start at \u20ac15,000.").replace('<meta charset="utf-8">', "")
    body = page.encode("iso-8859-15")
    assert "\u20ac15,000" in extract_article(body, "https://example.org/a", "iso8859-15").extraction.text
    # Without a declaration, trafilatura's own detection decides, as before.
    assert extract_article(page.encode(), "https://example.org/a").extraction == extract_html(page.encode(), "https://example.org/a")
