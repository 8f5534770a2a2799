"""crawler.html_input: the page's text made parseable as a browser would read it."""

import codecs

from crawler.charset import decode_html
from crawler.html_input import MAX_ATTRIBUTES, clean_html, flatten_nesting, looks_binary, parse_html


def test_start_tags_keep_their_first_attributes_only():
    many = " ".join(f'a{n}="{n}"' for n in range(MAX_ATTRIBUTES + 50))
    cleaned = clean_html(f"<p>before</p><div {many}>kept</div><p>after</p>")
    assert f'a{MAX_ATTRIBUTES - 1}="{MAX_ATTRIBUTES - 1}"' in cleaned and f"a{MAX_ATTRIBUTES}=" not in cleaned
    assert cleaned.endswith(">kept</div><p>after</p>")
    # Values quoted either way, holding '>', unquoted, missing, or run together are one attribute each.
    forms = " ".join(['q="x>y"', "s='x>y'", "u=x", "bare", 'j="1"k="2"'] * 50)  # 6 attributes, 5 with values
    cleaned = clean_html(f"<div {forms}>kept</div>")
    assert MAX_ATTRIBUTES == 16 * 6 + 4  # so the last one kept is the 17th "bare"
    assert cleaned.endswith(' u=x bare>kept</div>') and cleaned.count("=") == 16 * 5 + 3
    ordinary = '<a href="/x" class="y" data-z=\'1\'>link</a> x<y and y>x'
    assert clean_html(ordinary) == ordinary


def test_nul_and_other_control_characters_are_dropped():
    assert clean_html("<p>a\x00b\x0cc\x1fd</p>") == "<p>ab cd</p>"


def test_nesting_beyond_the_limit_becomes_siblings():
    assert flatten_nesting("<a><b><c>x<d>y</d></c></b></a>", 2) == "<a><b></b><c>x</c><d>y</d></a>"
    assert flatten_nesting("<a><br><img/><b>x</b></a>", 1) == "<a><br><img/></a><b>x</b>"


def test_binary_is_told_from_text_with_a_stray_nul():
    assert looks_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00") and looks_binary(bytes(range(256)))
    assert not looks_binary(b"<html><head>\x00</head><body>" + b"text " * 100 + b"</body></html>")
    assert not looks_binary("<html>text</html>".encode("utf-16"))


def test_pages_are_decoded_as_browsers_do():
    page = "<html><head><meta charset='utf-16'></head><body>caf\u00e9 \u20ac</body></html>"
    assert decode_html(page.encode("utf-16")) == page  # the byte-order mark decides
    assert decode_html(page.encode("utf-8")) == page  # a <meta> saying UTF-16 on ASCII bytes means UTF-8
    assert decode_html(codecs.BOM_UTF8 + page.encode()) == page
    latin9 = page.replace("utf-16", "iso-8859-15")
    assert decode_html(latin9.encode("iso-8859-15")) == latin9
    undeclared = page.replace("utf-16", "x").encode("iso-8859-15")
    assert decode_html(undeclared, "iso-8859-15").endswith("caf\u00e9 \u20ac</body></html>")  # the server's charset


def test_the_tree_holds_the_article():
    tree = parse_html(b"<html><body><div>" * 3000 + b"<p>deep text</p>" + b"</div>" * 3000)
    assert "deep text" in tree.text_content()
    assert parse_html(b"") is None
