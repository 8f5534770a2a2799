import datetime as dt

from conftest import article_html, hostile_article_pages

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


def test_pages_a_browser_shows_are_extracted_despite_nul_depth_utf16_and_attributes():
    texts = [f"{BODY}\nPage {name} says the clinic charges for every visit." for name in range(4)]
    for name, page in hostile_article_pages("Warning on MS stem-cell clinics", texts).items():
        result = extract_html(page)
        assert result.status == "ok", (name, result.reason)
        assert "unapproved" in result.text and "Copyright" not in result.text, name


def test_nesting_deeper_than_libxml2_can_hold_is_flattened():
    page = article_html("Warning on MS stem-cell clinics", BODY)
    deep = page.replace("<main>", "<div>" * 5000 + "<main>").replace("</main>", "</main>" + "</div>" * 5000)
    result = extract_html(deep.encode())
    assert result.status == "ok" and "unapproved" in result.text


def test_a_server_declared_charset_decodes_the_page_bytes():
    page = article_html("Clinic prices", BODY + "\nPackages start at \u20ac15,000.").replace('<meta charset="utf-8">', "")
    assert "\u20ac15,000" in extract_html(page.encode("iso-8859-15"), charset="iso8859-15").text


def test_binary_files_are_still_not_html():
    assert extract_html(b"%PDF-1.7\n" + bytes(range(256)) * 4).status == "not-html"
    assert extract_html(bytes(range(256)) * 16).status == "not-html"
