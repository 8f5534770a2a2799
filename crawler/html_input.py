"""A page's bytes as the tree a browser would build for it, bounded against hostile pages.

trafilatura parses what it is given with libxml2's defaults, which lose pages a browser shows:
bytes are decoded as UTF-8 or guessed (a UTF-16 page with its byte-order mark comes out as
NULs), libxml2 stops at 255 nested elements, and its parser and trafilatura both take quadratic
time in the attributes of one element (a page with one element of 100,000 attributes: minutes).
`parse_html` decodes as a browser does (`crawler.charset.decode_html`), drops the characters
libxml2 cannot hold (a NUL in the head), keeps the first `MAX_ATTRIBUTES` attributes of each
start tag, parses with libxml2's depth limit raised, and flattens nesting beyond that (as
browsers do past a few hundred levels) so the article under it is still read. trafilatura then
takes the tree as it would its own.

lxml and trafilatura are imported on first use (a plain-text document never needs them).
"""

from __future__ import annotations

import re
from typing import Any

from crawler.charset import decode_html

MAX_ATTRIBUTES = 100  # per start tag; real pages stay far below, the cost above grows as its square
MAX_DEPTH = 1000  # nesting kept when a page is too deep for libxml2 (2048 with huge_tree)
BINARY_SAMPLE_BYTES = 4096
BINARY_SHARE = 0.02  # more control bytes than this in the sample: not a text document
# Signatures of the binary formats most often served or saved under an HTML name.
BINARY_SIGNATURES = (b"%PDF-", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"RIFF", b"\x00\x00\x01\x00")
# Bytes no text document holds (the WHATWG MIME sniffing standard's "binary data bytes").
_BINARY_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])
_UNTRANSLATED = bytes.maketrans(b"", b"")
# Characters libxml2 cannot hold (NUL, other C0 controls, non-characters, lone surrogates); a form
# feed is white space in HTML, so it becomes a space.
_INVALID_CHARACTERS = re.compile("[\x00-\x08\x0b\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

# One attribute of a start tag, as the HTML tokenizer reads it (possessive and atomic: no backtracking).
_SPACE = "[\t\n\f\r ]"
_ATTRIBUTE = (rf"(?>[\t\n\f\r /]*+[^\t\n\f\r />][^\t\n\f\r />=]*+"
              rf"(?:{_SPACE}*+={_SPACE}*+(?:\"[^\"]*+\"?|'[^']*+'?|[^\t\n\f\r >]*+))?+)")
# A start tag with more than MAX_ATTRIBUTES attributes: group 1 is the tag up to the last kept one.
_TOO_MANY_ATTRIBUTES = re.compile(rf"(<[A-Za-z][^\t\n\f\r />]*+{_ATTRIBUTE}{{{MAX_ATTRIBUTES}}}){_ATTRIBUTE}++")
_TAG = re.compile(r"<(/?)([A-Za-z][^\t\n\f\r />]*)[^>]*?(/?)>")
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())

_parser = None


def looks_binary(data: bytes) -> bool:
    """Whether `data` is a binary file rather than a text document (a stray NUL is not enough;
    a UTF-16 page with its byte-order mark is text)."""
    if data.startswith(BINARY_SIGNATURES):
        return True
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return False
    sample = data[:BINARY_SAMPLE_BYTES]
    binary = len(sample) - len(sample.translate(_UNTRANSLATED, _BINARY_BYTES))
    return binary > BINARY_SHARE * len(sample)


def clean_html(text: str) -> str:
    """`text` without what libxml2 cannot hold, and with at most MAX_ATTRIBUTES attributes a tag."""
    text = _INVALID_CHARACTERS.sub("", text.replace("\x0c", " "))
    return _TOO_MANY_ATTRIBUTES.sub(r"\1", text)


def flatten_nesting(text: str, max_depth: int = MAX_DEPTH) -> str:
    """`text` with no element nested deeper than `max_depth`: as browsers do, an element that would
    be deeper becomes the next sibling of the deepest one (which is closed before it).

    Depth is counted from the tags as written (void and self-closed tags aside; an end tag closes
    up to its start tag), which overcounts elements left open: only for pages libxml2 cannot parse."""
    out: list[str] = []
    stack: list[str] = []  # names of the open elements
    closed_early: dict[str, int] = {}  # elements closed here whose own end tags are still to come
    position = 0
    for tag in _TAG.finditer(text):
        closing, name, self_closed = tag.group(1), tag.group(2).lower(), tag.group(3)
        if closing:
            if stack and stack[-1] == name:
                stack.pop()
            elif closed_early.get(name):
                closed_early[name] -= 1
                out.append(text[position:tag.start()])  # its element is closed already
                position = tag.end()
            elif name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name):]
        elif name not in _VOID and not self_closed:
            if len(stack) >= max_depth:
                deepest = stack.pop()
                closed_early[deepest] = closed_early.get(deepest, 0) + 1
                out.append(text[position:tag.start()] + f"</{deepest}>")
                position = tag.start()
            stack.append(name)
    out.append(text[position:])
    return "".join(out)


def parse_html(html: str | bytes, charset: str | None = None) -> Any:
    """The page's lxml tree (None if it has none), `html` decoded as `decode_html` says when bytes."""
    from lxml import etree
    from lxml.html import fromstring
    from trafilatura.utils import repair_faulty_html

    text = clean_html(decode_html(html, charset) if isinstance(html, bytes) else html)
    text = repair_faulty_html(text, text[:50].lower())  # trafilatura's own fixes for libxml2
    parser = _html_parser()
    try:
        tree = fromstring(text.encode("utf-8"), parser=parser)
        if any("excessive depth" in entry.message.lower() for entry in parser.error_log):
            tree = fromstring(flatten_nesting(text).encode("utf-8"), parser=parser)
    except (etree.ParserError, ValueError):  # "Document is empty" and the like
        return None
    return tree


def _html_parser():
    """trafilatura's parser settings, with libxml2's limits (depth 255) raised: pages are capped in size."""
    global _parser
    if _parser is None:
        from lxml.html import HTMLParser

        _parser = HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                             remove_pis=True, huge_tree=True)
    return _parser
