"""Fetch one page on demand (for `hypewatch check`), with the crawler's safety limits.

Scheduled crawls go through Scrapy; a single on-demand fetch does not need a reactor, so this
uses httpx with redirects followed by hand. The limits, each against a hostile server:

- every hop is checked by `netguard`, and the connection goes to an address that check
  approved (the host is not looked up a second time, which DNS rebinding would exploit); the
  Host header and TLS server name stay the URL's;
- the body is capped *after* decoding, while it streams (`content_coding`), so a small
  compressed bomb never expands in memory;
- the whole fetch has a deadline (by default twice the network timeout), since httpx's timeout
  bounds each network read, not their sum, and a server dripping one byte at a time would keep
  the fetch alive for ever. The async client is used because a pending read can be cancelled
  at the deadline; httpx's maintainers suggest exactly this for a total timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx
from w3lib.encoding import read_bom

from crawler.charset import decode_declared, header_charset
from crawler.content_coding import ACCEPT_ENCODING, CappedDecoder, TooLargeError
from crawler.errors import FetchError
from crawler.netguard import Resolver, checked_addresses, is_public_address, resolve

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 10
HTML_TYPES = ("text/html", "application/xhtml+xml")
DEADLINE_PER_TIMEOUT = 2.0  # the whole fetch may take this many network timeouts


@dataclass(frozen=True)
class FetchedPage:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    charset: str | None = None  # the encoding the Content-Type header declares, if any

    @property
    def is_html(self) -> bool:
        return self.content_type in HTML_TYPES or (not self.content_type and looks_like_html(self.body))

    @property
    def html(self) -> str | bytes:
        """The page as text when its BOM or declared charset says how to decode it, else its bytes."""
        return decode_declared(self.body, self.charset)


def looks_like_html(body: bytes) -> bool:
    encoding, bom = read_bom(body[:4])
    head = body[:2048] if bom is None else body[len(bom):2048].decode(encoding or "utf-8", "ignore").encode()
    head = head.lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head


def fetch(
    url: str,
    *,
    user_agent: str,
    timeout: float = 20.0,
    deadline: float | None = None,
    max_bytes: int = 10 * 1024 * 1024,
    allow_private: bool = False,
    address_allowed: Callable[[str], bool] = is_public_address,
    resolver: Resolver = resolve,
) -> FetchedPage:
    """GET `url`, following up to ten redirects, reading at most `max_bytes` of the decoded body.

    `timeout` bounds each network operation, `deadline` (default: twice `timeout`) the whole fetch.
    Every hop is checked by `netguard.checked_addresses`, with `resolver` looking up host names.
    """
    total = deadline if deadline is not None else DEADLINE_PER_TIMEOUT * timeout
    limits = _Limits(user_agent, timeout, max_bytes, allow_private, address_allowed, resolver)
    return asyncio.run(_fetch_within(url, total, limits))


@dataclass(frozen=True)
class _Limits:
    user_agent: str
    timeout: float
    max_bytes: int
    allow_private: bool
    address_allowed: Callable[[str], bool]
    resolver: Resolver


async def _fetch_within(url: str, total: float, limits: _Limits) -> FetchedPage:
    try:
        async with asyncio.timeout(total):
            return await _fetch(url, limits)
    except TimeoutError:
        raise FetchError(f"gave up after {total:g} s: the server is too slow to send the page") from None


async def _fetch(url: str, limits: _Limits) -> FetchedPage:
    headers = {
        "User-Agent": limits.user_agent,
        "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    async with httpx.AsyncClient(headers=headers, timeout=limits.timeout, follow_redirects=False,
                                 trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            addresses = checked_addresses(url, allow_private=limits.allow_private,
                                          address_allowed=limits.address_allowed, resolver=limits.resolver)
            try:
                response = await _send(client, url, addresses)
                try:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError(f"HTTP {response.status_code} redirect without a Location")
                        try:
                            url = urljoin(url, location)
                        except ValueError:  # e.g. a broken IPv6 literal; the next hop's check says the rest
                            raise FetchError("HTTP redirect to an invalid URL") from None
                        continue
                    if response.status_code >= 400:
                        raise FetchError(f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
                    body = await _read_capped(response, limits.max_bytes)
                finally:
                    await response.aclose()
            except httpx.InvalidURL as exc:  # what parse_web_url let through and httpx does not take
                raise FetchError(f"invalid URL: {exc}") from None
            except httpx.TimeoutException:
                raise FetchError(f"timed out after {limits.timeout:g} s") from None
            except httpx.HTTPError as exc:  # a reset connection's ReadError has no message of its own
                detail = str(exc) or f"the connection broke ({type(exc).__name__})"
                raise FetchError(f"unreachable: {detail}") from None
            content_type = response.headers.get("content-type", "")
            media_type = content_type.split(";")[0].strip().lower()
            return FetchedPage(url, response.status_code, media_type, body, header_charset(content_type))
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


async def _send(client: httpx.AsyncClient, url: str, addresses: list[str]) -> httpx.Response:
    """Send GET `url` to the first of `addresses` that accepts a connection (any, if none are given)."""
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"invalid URL: {exc}") from None
    candidates: list[str | None] = [*addresses] or [None]
    *others, last = candidates
    for address in others:
        try:
            return await client.send(_request(client, target, address), stream=True)
        except httpx.ConnectError:
            logger.debug("%s refused the connection; trying the host's next checked address", address)
    return await client.send(_request(client, target, last), stream=True)


def _request(client: httpx.AsyncClient, target: httpx.URL, address: str | None) -> httpx.Request:
    if address is None:
        return client.build_request("GET", target)
    # The URL names the checked address; the Host header and the TLS server name (SNI, also what
    # the certificate is checked against) keep the host name.
    return client.build_request(
        "GET", target.copy_with(host=address), headers={"Host": target.netloc.decode("ascii")},
        extensions={"sni_hostname": target.raw_host.decode("ascii")},
    )


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    too_large = f"page larger than the {max_bytes // (1024 * 1024)} MB limit"
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(too_large)
    decoder = CappedDecoder(response.headers.get("content-encoding"), max_bytes)
    chunks, raw_size = [], 0
    async for raw in response.aiter_raw():
        raw_size += len(raw)
        if raw_size > max_bytes:  # compressed data that decodes to little still costs time
            raise TooLargeError(too_large)
        chunks.append(decoder.decode(raw))
    return b"".join(chunks)
