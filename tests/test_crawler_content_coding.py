"""crawler.content_coding: decoding capped by the decoded size, chunk by chunk."""

import gzip
import zlib

import brotli
import pytest

from crawler.content_coding import CappedDecoder, TooLargeError, content_codings
from crawler.errors import FetchError

PAGE = b"<html><body>" + b"stem cells " * 5000 + b"</body></html>"


def chunks(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(("header", "body"), [
    (None, PAGE), ("identity", PAGE), ("gzip", gzip.compress(PAGE)), ("x-gzip", gzip.compress(PAGE)),
    ("deflate", zlib.compress(PAGE)), ("deflate", zlib.compress(PAGE, wbits=-zlib.MAX_WBITS)),
    ("br", brotli.compress(PAGE)), ("GZIP ", gzip.compress(PAGE)),
])
def test_each_coding_decodes_chunk_by_chunk(header, body):
    decoder = CappedDecoder(header, len(PAGE))
    assert b"".join(decoder.decode(chunk) for chunk in chunks(body)) == PAGE


@pytest.mark.parametrize(("header", "body"), [
    (None, PAGE), ("gzip", gzip.compress(PAGE)), ("deflate", zlib.compress(PAGE)), ("br", brotli.compress(PAGE)),
])
def test_one_byte_over_the_cap_is_too_large(header, body):
    decoder = CappedDecoder(header, len(PAGE) - 1)
    with pytest.raises(TooLargeError, match="larger than"):
        for chunk in chunks(body):
            assert len(decoder.decode(chunk)) <= len(PAGE)


def test_a_bomb_never_yields_much_more_than_the_cap():
    bomb = brotli.compress(b"\0" * (64 << 20))
    decoder = CappedDecoder("br", 1 << 20)
    with pytest.raises(TooLargeError):
        decoder.decode(bomb)
    assert decoder.size < (1 << 20) + (64 << 10)  # brotli may overshoot by one block


def test_stacked_unknown_and_corrupt_codings_are_fetch_errors():
    assert content_codings("gzip, identity, br") == ["gzip", "br"]
    with pytest.raises(FetchError, match=r"stacked content encodings \(gzip, br\)"):
        CappedDecoder("gzip, br", 100)
    with pytest.raises(FetchError, match="unsupported content encoding 'zstd'"):
        CappedDecoder("zstd", 100)
    with pytest.raises(FetchError, match="corrupt compressed body"):
        CappedDecoder("gzip", 100).decode(b"not gzip at all")
