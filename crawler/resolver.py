"""The crawl's DNS resolver: the address a crawl connects to is the address that was checked.

`NetGuardMiddleware` checks a host's addresses before a request is sent, but Twisted resolves the
name again when it connects, and a second answer may differ (DNS rebinding: a public address for
the check, 127.0.0.1 for the connection). This resolver, installed on the reactor of every crawl
process (`TWISTED_DNS_RESOLVER` in `crawler.settings`), applies the same rule to the answer the
connection uses, so a name that resolves into the local network at connect time is refused there
too. Addresses written as IP literals never reach a resolver; the middleware alone checks them,
and they cannot change between check and connection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from crawler.netguard import is_public_address


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing non-public answers unless the crawl's source allows them."""

    def __init__(self, reactor: Any, cache_size: int, timeout: float, *, allow_private: bool,
                 address_allowed: Callable[[str], bool] = is_public_address):
        super().__init__(reactor, cache_size, timeout)
        self.allow_private = allow_private
        self.address_allowed = address_allowed

    @classmethod
    def from_crawler(cls, crawler, reactor):
        settings = crawler.settings
        source = settings.getdict("HYPEWATCH_SOURCE")
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"),
                   allow_private=bool(source.get("allow_private", False)))

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        answer = super().getHostByName(name, timeout)
        if not self.allow_private:
            answer.addCallback(self._refuse_non_public, name)
        return answer

    def _refuse_non_public(self, address: str, name: str) -> str:
        if not self.address_allowed(address):
            raise DNSLookupError(f"{name} resolved to {address} when connecting, a non-public address")
        return address
