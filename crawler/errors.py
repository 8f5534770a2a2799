"""Crawler errors: fetching and extraction failures the caller reports per target."""


class CrawlerError(Exception):
    """Base class of crawler errors."""


class FetchError(CrawlerError):
    """A page could not be fetched (network, HTTP status, size, content type)."""


class BlockedAddressError(FetchError):
    """A URL resolves to a loopback, private, link-local or otherwise non-public address."""


class SourcesFileError(CrawlerError):
    """The sources file is missing or invalid; the message names the source and field."""
