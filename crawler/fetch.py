"""Fetch one page on demand (for `hypewatch check`), with the crawler's safety limits.

Scheduled crawls go through Scrapy; a single on-demand fetch does not need a reactor, so this
uses httpx with redirects followed by hand, each hop checked by `netguard`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from crawler.errors import FetchError
from crawler.netguard import check_url, is_public_address

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 10
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class FetchedPage:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes

    @property
    def is_html(self) -> bool:
        return self.content_type in HTML_TYPES or (not self.content_type and looks_like_html(self.body))


def looks_like_html(body: bytes) -> bool:
    head = body[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head


def fetch(
    url: str,
    *,
    user_agent: str,
    timeout: float = 20.0,
    max_bytes: int = 10 * 1024 * 1024,
    allow_private: bool = False,
    address_allowed: Callable[[str], bool] = is_public_address,
) -> FetchedPage:
    """GET `url`, following up to ten redirects, reading at most `max_bytes` of the body.

    Every hop is checked by `netguard.check_url` before it is requested.
    """
    headers = {"User-Agent": user_agent, "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"}
    with httpx.Client(headers=headers, timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, allow_private=allow_private, address_allowed=address_allowed)
            try:
                with client.stream("GET", url) as response:
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
                    body = _read_capped(response, max_bytes)
                    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    return FetchedPage(str(response.url), response.status_code, content_type, body)
            except httpx.InvalidURL as exc:  # what parse_web_url let through and httpx does not take
                raise FetchError(f"invalid URL: {exc}") from None
            except httpx.TimeoutException:
                raise FetchError(f"timed out after {timeout:g} s") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"unreachable: {exc}") from None
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"page larger than the {max_bytes // (1024 * 1024)} MB limit")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"page larger than the {max_bytes // (1024 * 1024)} MB limit")
        chunks.append(chunk)
    return b"".join(chunks)
