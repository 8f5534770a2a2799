import datetime as dt

from conftest import article_html

from crawler.extract import detect_language, extract_html, extract_plain_text

BODY = "\n".join([
    "Clinics abroad are selling mesenchymal stem-cell injections to people with multiple sclerosis.",
    "Neurologists warn that these products are unapproved and that patients have developed infections.",
    "The MIST trial tested a different treatment, autologous haematopoietic stem-cell transplantation.",
])


def test_article_page_gives_text_and_metadata():
    result = extract_html(article_html("Warning on MS stem-cell clinics", BODY, published="2026-02-03"))
    assert result.status == "ok"
    assert "unapproved" in result.text and "Copyright" not in result.text
    assert result.title == "Warning on MS stem-cell clinics"
    assert result.published == dt.date(2026, 2, 3)
    assert result.language == "en"


def test_page_without_article_text_is_empty_not_scored_as_clean():
    result = extract_html("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    assert result.status == "empty" and result.text == ""


def test_binary_content_is_not_html():
    assert extract_html(b"\x89PNG\r\n\x1a\n\x00\x00\x00").status == "not-html"


def test_plain_text_uses_first_line_as_title():
    result = extract_plain_text("Stem cells and MS\n" + BODY)
    assert result.status == "ok" and result.title == "Stem cells and MS"
    assert extract_plain_text("too short").status == "empty"


def test_language_detection():
    assert detect_language("Die Stammzelltherapie bei Multipler Sklerose ist noch experimentell, sagen Ärzte.") == "de"
    assert detect_language("ok") is None
