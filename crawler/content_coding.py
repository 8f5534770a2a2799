"""Undo a response's Content-Encoding with the *decoded* size capped, chunk by chunk.

A few kilobytes of brotli or gzip can expand to gigabytes, and an HTTP client's own decoders
(httpx's among them) hand back all that one network chunk expands to, so a cap counted on
their output comes too late. Here every decompressor call is told how much it may produce
(zlib's `max_length`, brotli's `output_buffer_limit`), so memory stays near the cap whatever the
ratio. One coding at most: stacked codings ("gzip, gzip") only serve to multiply a bomb's ratio,
and no real site sends them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli

from crawler.errors import FetchError

ACCEPT_ENCODING = "gzip, deflate, br"  # what `CappedDecoder` undoes; zstd is not asked for nor accepted
IDENTITY = "identity"


class TooLargeError(FetchError):
    """The decoded body would exceed the size cap."""


def content_codings(header: str | None) -> list[str]:
    """The codings of a Content-Encoding header, in the order they were applied, without identity."""
    return [c for c in (part.strip().lower() for part in (header or "").split(",")) if c and c != IDENTITY]


class CappedDecoder:
    """Decodes one response body fed in raw chunks; raises `TooLargeError` past `max_bytes` decoded."""

    def __init__(self, content_encoding: str | None, max_bytes: int):
        codings = content_codings(content_encoding)
        if len(codings) > 1:
            raise FetchError(f"refusing stacked content encodings ({', '.join(codings)})")
        coding = codings[0] if codings else IDENTITY
        self.max_bytes = max_bytes
        self.size = 0
        self._step: Callable[[bytes, int], bytes]
        if coding == IDENTITY:
            self._step = _identity
        elif coding in ("gzip", "x-gzip"):
            self._step = _ZlibStep(zlib.MAX_WBITS | 16)
        elif coding == "deflate":
            self._step = _ZlibStep(zlib.MAX_WBITS, raw_fallback=True)
        elif coding == "br":
            self._step = _BrotliStep()
        else:
            raise FetchError(f"unsupported content encoding {coding!r}")

    def decode(self, raw: bytes) -> bytes:
        # Ask for one byte more than the room left: getting it proves the body is too large.
        try:
            out = self._step(raw, self.max_bytes - self.size + 1)
        except (zlib.error, brotli.error) as exc:
            raise FetchError(f"corrupt compressed body: {exc}") from None
        self.size += len(out)
        if self.size > self.max_bytes:
            raise TooLargeError(f"page larger than the {self.max_bytes // (1024 * 1024)} MB limit")
        return out


def _identity(raw: bytes, limit: int) -> bytes:
    return raw[:limit]


class _ZlibStep:
    def __init__(self, wbits: int, *, raw_fallback: bool = False):
        self._inflater = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback  # "deflate" is sent both zlib-wrapped and raw in the wild
        self._started = False

    def __call__(self, raw: bytes, limit: int) -> bytes:
        try:
            return self._inflate(raw, limit)
        except zlib.error:
            if not self._raw_fallback or self._started:
                raise
            self._raw_fallback = False
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._inflate(raw, limit)

    def _inflate(self, raw: bytes, limit: int) -> bytes:
        out = [self._inflater.decompress(raw, limit)]
        self._started = True
        size = len(out[0])
        while self._inflater.unconsumed_tail and size < limit:
            out.append(self._inflater.decompress(self._inflater.unconsumed_tail, limit - size))
            size += len(out[-1])
        return b"".join(out)


class _BrotliStep:
    piece = 64 * 1024  # brotli's output buffer grows by doubling; asked for in small pieces it stays near the limit

    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def __call__(self, raw: bytes, limit: int) -> bytes:
        # brotli stops growing its output once it reaches the limit (it may overshoot by one block);
        # it then takes empty input until it can accept more data.
        out: list[bytes] = []
        size, data = 0, raw
        while True:
            out.append(self._decompressor.process(data, output_buffer_limit=min(limit - size, self.piece)))
            size += len(out[-1])
            data = b""
            if size >= limit or self._decompressor.can_accept_more_data():
                return b"".join(out)
