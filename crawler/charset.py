"""A page's text in the character encoding its server declares.

Browsers decode a page by its byte-order mark first, then the charset of the Content-Type
header, then the page's own `<meta charset>`, then a guess. trafilatura, handed bytes, tries
UTF-8 and then guesses, so a page served as ISO-8859-15 without a meta tag loses its "€" (it
comes out "¤"). When the BOM or the header settles the encoding, the page is decoded here and
trafilatura gets text; otherwise the bytes go on unchanged, to trafilatura's own detection.
Encoding names are read with w3lib, as Scrapy reads them (so "latin-1" means windows-1252, as
in browsers).

`decode_html` is the whole of that order, for a parser that needs text: BOM, header, `<meta>`,
then UTF-8 when the bytes are UTF-8 and trafilatura's guess when not (as trafilatura decodes).
"""

from __future__ import annotations

from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding, read_bom

# A page whose <meta> says UTF-16 or UTF-32 was readable as ASCII, so it is not: browsers read it as UTF-8.
_WIDE_ENCODINGS = ("utf-16", "utf-32")


def header_charset(content_type: str | None) -> str | None:
    """The encoding a Content-Type header declares, when Python knows it; else None."""
    return http_content_type_encoding(content_type or "")


def decode_declared(body: bytes, charset: str | None) -> str | bytes:
    """`body` as text when its BOM or `charset` (from `header_charset`) says how; else `body` itself."""
    bom_encoding, bom = read_bom(body)
    if bom_encoding and bom:
        return body[len(bom):].decode(bom_encoding, "replace")
    if charset:
        return body.decode(charset, "replace")
    return body


def decode_html(body: bytes, charset: str | None = None) -> str:
    """`body` as text, decoded as a browser decodes a page (see above); `charset` from `header_charset`."""
    bom_encoding, _bom = read_bom(body)
    if bom_encoding is None and charset is None:
        declared = html_body_declared_encoding(body)
        if declared and declared.startswith(_WIDE_ENCODINGS):
            return body.decode("utf-8", "replace")
    content_type = f"text/html; charset={charset}" if charset else None
    return html_to_unicode(content_type, body, auto_detect_fun=_guess_encoding)[1]


def decode_text(body: bytes) -> str | None:
    """A plain-text file's text, decoded as a browser decodes a text/plain page: by its BOM (UTF-8,
    UTF-16 or UTF-32), else UTF-8 when the bytes are UTF-8, else the encoding charset_normalizer
    guesses; None when nothing reads it."""
    bom_encoding, bom = read_bom(body)
    if bom_encoding and bom:
        return body[len(bom):].decode(bom_encoding, "replace")
    encoding = _guess_encoding(body)
    if encoding is None:
        return None
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _guess_encoding(body: bytes) -> str | None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        from trafilatura.utils import detect_encoding  # charset_normalizer's guesses

        return next(iter(detect_encoding(body)), None)
    return "utf-8"
