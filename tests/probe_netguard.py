"""The crawl's address guards as the SSRF probes run them: one loopback address plays a public site.

A crawl process loads this middleware in place of `crawler.middlewares.NetGuardMiddleware` and this
resolver in place of `crawler.resolver.GuardedResolver` (through the crawl's settings, `OVERRIDES`),
so a crawl may fetch the probe's "public" pages on 127.0.0.2 while every other loopback, private and
link-local address (the canary's 127.0.0.1 and ::1 among them) stays refused exactly as in
production.
"""

from __future__ import annotations

from crawler.middlewares import NetGuardMiddleware
from crawler.netguard import is_public_address
from crawler.resolver import GuardedResolver

PUBLIC_LOOPBACK = "127.0.0.2"  # as tests/conftest.py's PUBLIC_LOOPBACK (not imported: no pytest in a crawl process)
OVERRIDES = {
    "DOWNLOADER_MIDDLEWARES": {"crawler.middlewares.NetGuardMiddleware": None,
                               "tests.probe_netguard.PublicLoopbackNetGuard": 60},
    "TWISTED_DNS_RESOLVER": "tests.probe_netguard.PublicLoopbackResolver",
}


def public_or_probe_site(address: str) -> bool:
    return address == PUBLIC_LOOPBACK or is_public_address(address)


class PublicLoopbackNetGuard(NetGuardMiddleware):
    @classmethod
    def from_crawler(cls, crawler):
        source = crawler.settings.getdict("HYPEWATCH_SOURCE")
        return cls(allow_private=bool(source.get("allow_private", False)), address_allowed=public_or_probe_site)


class PublicLoopbackResolver(GuardedResolver):
    @classmethod
    def from_crawler(cls, crawler, reactor):
        resolver = super().from_crawler(crawler, reactor)
        resolver.address_allowed = public_or_probe_site
        return resolver
