"""The pace a site asks for, kept on its downloader slot (Scrapy's queue and delay for one host).

- robots.txt's `Crawl-delay`: the least delay between two requests to the site for the rest of
  the crawl (`hold_crawl_delay`), also for a slot Scrapy drops when idle and makes again, since it
  is kept in the downloader's per-slot settings.
- a 429 or 503 with `Retry-After`: the site's delay raised at once to what the server asked,
  capped at HYPEWATCH_RETRY_BACKOFF_MAX (`slow_down`), so the whole site waits, not only the
  request that was refused. The delay holds until that time has passed (an answer to a request
  already in flight must not let AutoThrottle lower it sooner); AutoThrottle then brings it back
  down as the site answers.
- `PoliteAutoThrottle`: Scrapy's AutoThrottle, which never takes a site's delay below its
  Crawl-delay or a Retry-After still in force (it only knows the crawl-wide DOWNLOAD_DELAY as a
  floor).

Such a site's delay has no random jitter: half the asked delay would be too short.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time

from scrapy import Request, Spider
from scrapy.core.downloader import Downloader
from scrapy.crawler import Crawler
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response

logger = logging.getLogger(__name__)

SLOW_DOWN_STATUSES = frozenset({429, 503})  # the answers whose Retry-After speaks for the whole site
_FLOOR = "delay"  # the key of a slot's delay in Scrapy's DOWNLOAD_SLOTS (the downloader's per-slot settings)
# Our keys beside it (Scrapy ignores keys it does not know): a Retry-After's delay and until when it holds.
_HOLD_DELAY, _HOLD_UNTIL = "hypewatch_retry_after_delay", "hypewatch_retry_after_until"


def retry_after_delay(status: int, retry_after: bytes | None, *, cap: float) -> float | None:
    """How long the whole site should wait after an answer with `status` and this Retry-After
    header (at most `cap` seconds), or None when the answer asks for no wait."""
    if status not in SLOW_DOWN_STATUSES:
        return None
    asked = retry_after_seconds(retry_after)
    if asked is None:
        return None
    return min(asked, cap)


def retry_after_seconds(value: bytes | None, *, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now or time.time()))


def running_downloader(crawler: Crawler) -> Downloader | None:
    """The crawl's downloader, or None before the crawl has started (a middleware built alone)."""
    try:
        return crawler.engine.downloader
    except RuntimeError:  # Scrapy's Crawler.engine is set only once the crawl starts
        return None


def delay_floor(downloader: Downloader, slot_key: str, *, now: float | None = None) -> float:
    """The least delay a slot may have now: its Crawl-delay, or a Retry-After still in force."""
    held = downloader.per_slot_settings.get(slot_key, {})
    floor = float(held.get(_FLOOR, 0.0))
    if (time.monotonic() if now is None else now) < float(held.get(_HOLD_UNTIL, 0.0)):
        floor = max(floor, float(held.get(_HOLD_DELAY, 0.0)))
    return floor


def hold_crawl_delay(downloader: Downloader, request: Request, seconds: float) -> None:
    """Space every request to `request`'s site at least `seconds` apart from now on."""
    if not math.isfinite(seconds) or seconds <= 0:
        return
    key = downloader.get_slot_key(request)
    downloader.per_slot_settings[key] = {**downloader.per_slot_settings.get(key, {}), _FLOOR: seconds, "jitter": 0.0}
    _raise_slot_delay(downloader, key, seconds)
    logger.info("%s asks for a Crawl-delay of %g s: holding it", key, seconds)


def slow_down(downloader: Downloader, request: Request, seconds: float) -> None:
    """Make `request`'s whole site wait `seconds` before its next request (its slot's delay)."""
    key = request.meta.get(Downloader.DOWNLOAD_SLOT) or downloader.get_slot_key(request)
    downloader.per_slot_settings[key] = {**downloader.per_slot_settings.get(key, {}), _HOLD_DELAY: seconds,
                                         _HOLD_UNTIL: time.monotonic() + seconds}
    if _raise_slot_delay(downloader, key, seconds):
        logger.info("%s asked us to wait %g s: slowing the site down", key, seconds)


def _raise_slot_delay(downloader: Downloader, key: str, seconds: float) -> bool:
    slot = downloader.slots.get(key)
    if slot is None:  # made later from the per-slot settings, or not needed (a Retry-After only lasts)
        return False
    slot.jitter = 0.0
    if slot.delay < seconds:
        slot.delay = seconds
    # Counted from now, the answer that asked: Scrapy counts a delay from the last request's start,
    # and a request sent a moment before the answer (robots.txt's own) would shorten the first wait.
    slot.lastseen = max(slot.lastseen, time.monotonic())  # Scrapy's Slot clock
    return True


class PoliteAutoThrottle(AutoThrottle):
    """AutoThrottle that keeps each site's delay at or above its robots.txt Crawl-delay."""

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        super()._response_downloaded(response, request, spider)
        key, slot = self._get_slot(request, spider)
        if key is not None and slot is not None:
            slot.delay = max(slot.delay, delay_floor(self.crawler.engine.downloader, key))
