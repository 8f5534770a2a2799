"""What an alert rule is, without the database: its kinds and parameters (defined once, for the CLI,
the dashboard and the evaluation alike), and the one way a channel URL is shown (`mask_channel`)
or kept out of text (`hide_secrets`). Imports no database library, so the CLI can offer the
rule kinds without loading one.

A channel is an Apprise URL and may carry secrets (passwords, tokens): it is stored on its rule,
named elsewhere by `channel_key`, and shown only through `mask_channel`.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from storage.errors import StorageError

RULE_KINDS = ("new_page", "changed_page", "crawl_health", "trend")
DIGESTS = ("burst", "daily")


class AlertRuleError(StorageError):
    """A rule cannot be stored as given (unknown kind, bad parameter, a name already taken)."""


@dataclass(frozen=True)
class RuleParams:
    """Every parameter a rule may have; each kind reads the ones it needs (see the README's Alerts).

    Filters (new and changed pages): `sources`, `domains`, `languages` (any of each; empty: all) and
    `query` (every word in the title or text, as the article list's search). `signals`: a new page
    fires when it carries any of them; a changed page when it *adds* any of them (empty: any signal).
    """

    min_hype: float | None = None  # new_page: hype score at least this
    signals: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    query: str | None = None
    hype_rise: float | None = None  # changed_page: hype raised by at least this
    risk_disclosure_dropped: bool = False  # changed_page: the risk disclosure went away
    on_failed: bool = True  # crawl_health: a failed (or timed-out) run
    on_silent: bool = True  # crawl_health: a source gone silent
    drop_ratio: float | None = 0.5  # crawl_health: pages found below this share of the previous runs' median
    previous_runs: int = 3  # crawl_health and trend: how many earlier runs / weeks make the baseline
    per_source: bool = False  # trend: per source as well as overall
    margin: float = 0.1  # trend: share above the highest of the previous weeks by at least this
    min_pages: int = 5  # trend: a week counts with at least this many relevant pages

    def to_dict(self) -> dict[str, Any]:
        default = RuleParams()
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if v != getattr(default, k)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleParams:
        known = {f.name: f for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise AlertRuleError(f"unknown rule parameter(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            values[name] = tuple(str(v) for v in value) if isinstance(getattr(cls(), name), tuple) else value
        return cls(**values)


@dataclass(frozen=True)
class RuleDraft:
    """A rule as an analyst asks for it."""

    name: str
    kind: str
    params: RuleParams = field(default_factory=RuleParams)
    channels: tuple[str, ...] = ()  # Apprise URLs; empty: the channels of the settings
    digest: str = "burst"
    max_per_hour: int = 4


@dataclass(frozen=True)
class Channel:
    """A channel as the log names it: its key and its masked URL (never the URL itself)."""

    key: str
    shown: str

    @classmethod
    def of(cls, url: str) -> Channel:
        return cls(channel_key(url), mask_channel(url))


def channel_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


def mask_channel(url: str) -> str:
    """A channel URL with everything that may be secret hidden: only the scheme and a host name (one
    with a dot, or an IP address) are kept; user names, passwords, tokens in the path or the query,
    and "hosts" that are really tokens (`slack://TOKEN/...`) become `***`."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return "***"
    scheme = parts.scheme.lower() if parts.scheme.isalnum() else "?"
    if not _looks_like_host(host):
        host = "***"
    userinfo = "***@" if "@" in parts.netloc else ""
    rest = "/***" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{scheme}://{userinfo}{host}{rest}"


def hide_secrets(text: str, urls: Iterable[str]) -> str:
    """`text` (a library's error message, say) with every part of these channel URLs that
    `mask_channel` hides replaced by `***`: whole URLs first, then their user names, passwords,
    path segments and query values."""
    secrets: set[str] = set()
    for url in urls:
        secrets.add(url)
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        secrets.update(p for p in (parts.username, parts.password) if p)
        secrets.update(seg for seg in parts.path.split("/") if seg)
        secrets.update(value for pair in parts.query.split("&") for value in pair.split("=")[1:] if value)
        if parts.hostname and not _looks_like_host(parts.hostname):
            secrets.add(parts.hostname)
    for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _looks_like_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return len(labels) > 1 and all(label and label.replace("-", "").isalnum() for label in labels)
