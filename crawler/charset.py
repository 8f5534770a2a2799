"""A page's text in the character encoding its server declares.

Browsers decode a page by its byte-order mark first, then the charset of the Content-Type
header, then the page's own `<meta charset>`, then a guess. trafilatura, handed bytes, tries
UTF-8 and then guesses, so a page served as ISO-8859-15 without a meta tag loses its "€" (it
comes out "¤"). When the BOM or the header settles the encoding, the page is decoded here and
trafilatura gets text; otherwise the bytes go on unchanged, to trafilatura's own detection.
Encoding names are read with w3lib, as Scrapy reads them (so "latin-1" means windows-1252, as
in browsers).
"""

from __future__ import annotations

from w3lib.encoding import http_content_type_encoding, read_bom


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
