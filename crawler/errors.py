"""Crawler errors: fetching and extraction failures the caller reports per target."""


class CrawlerError(Exception):
    """Base class of crawler errors."""


class FetchError(CrawlerError):
    """A page could not be fetched (network, HTTP status, size, content type)."""


class InvalidUrlError(FetchError, ValueError):
    """A URL that cannot be fetched as written: not http(s), no host, a bad port, or a host name
    no resolver takes (too long, empty labels, invalid IDNA). Also a ValueError, as `urlsplit`'s are."""


class BlockedAddressError(FetchError):
    """A URL resolves to a loopback, private, link-local or otherwise non-public address."""


class SourcesFileError(CrawlerError):
    """The sources file is missing or invalid; the message names the source and field."""
