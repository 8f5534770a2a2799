"""URL checking, canonicalisation and the "does this link look relevant?" hint used to order a crawl.

Session ids are defined here once (`SESSION_ID_PARAMETERS`): stripped before fetching and from
canonical (stored) URLs alike.

`parse_web_url` is the one check of a URL typed by a user, read from a sources file or found on a
page: whatever it accepts, `urlsplit`, the resolver and httpx accept too, so a hostile URL is a
one-line `InvalidUrlError` and never a traceback from deep inside a library.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import idna
from w3lib.url import url_query_cleaner

from crawler.errors import InvalidUrlError

# Parameters that only say how a reader arrived; they never change what a page shows.
TRACKING_PARAMETERS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mc_cid", "mc_eid",
    "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "wickedid", "ref_src",
    "cmpid", "ncid", "sr_share", "s_cid", "at_medium", "at_campaign", "ito", "spm",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
DEFAULT_PORTS = {"http": 80, "https": 443}
WEB_SCHEMES = ("http", "https")
MAX_HOST_CHARS = 253  # DNS: a name of at most 253 characters, in labels of 1 to 63 (RFC 1035)
MAX_LABEL_CHARS = 63

RELEVANT_LINK_WORDS = re.compile(
    r"stem[\s_-]*cell|hsct|ahsct|mesenchymal|\bmsc\b|multiple[\s_-]*sclerosis|\bms\b|exosome|umbilical|"
    r"regenerative|transplant|myelin|neuro|clinical[\s_-]*trial|treatment|therap",
    re.IGNORECASE,
)
BORING_LINK_WORDS = re.compile(
    r"privacy|cookie|terms|login|log-in|sign[\s_-]*in|sign[\s_-]*up|register|subscribe|account|cart|checkout|"
    r"contact|careers|jobs|advertis|\bshare\b|print|feed|\.pdf$|\.jpg$|\.png$|\.zip$",
    re.IGNORECASE,
)


def parse_web_url(url: str) -> SplitResult:
    """`url` split into its parts when it is an http(s) URL with a valid port and a host name a
    resolver takes; else `InvalidUrlError` saying why in a few words (never quoting the URL, which
    may be huge)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise InvalidUrlError(f"not a valid URL: {exc}") from None
    if parts.scheme.lower() not in WEB_SCHEMES:
        raise InvalidUrlError(f"only http and https URLs are fetched, not {parts.scheme[:20] or 'a bare path'!r}")
    if not parts.hostname:
        raise InvalidUrlError("the URL has no host")
    ascii_host(parts.hostname)
    return parts


def ascii_host(host: str) -> str:
    """The host as the resolver is asked for it (IDNA-encoded), or `InvalidUrlError`.

    An IP address is taken as it is. Non-ASCII names are encoded by the `idna` library, as httpx
    does; ASCII names only need DNS's lengths (they are what Python's resolver call checks, and
    names such as `a_b.example` resolve on real networks).
    """
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return host
    except ValueError:
        pass
    if len(host) > MAX_HOST_CHARS + 1:  # +1: a fully qualified name may end in a dot
        raise InvalidUrlError(f"the host name is too long ({len(host):,} characters; at most {MAX_HOST_CHARS})")
    if host.isascii():
        encoded = host
    else:
        try:
            encoded = idna.encode(host.lower()).decode("ascii")
        except idna.IDNAError as exc:
            raise InvalidUrlError(f"the host name is not a valid internationalised domain name ({exc})") from None
    name = encoded.removesuffix(".")
    if len(name) > MAX_HOST_CHARS:
        raise InvalidUrlError(f"the host name is too long ({len(name):,} characters encoded; at most {MAX_HOST_CHARS})")
    if any(not label or len(label) > MAX_LABEL_CHARS for label in name.split(".")):
        raise InvalidUrlError(f"the host name has an empty part or a part longer than {MAX_LABEL_CHARS} characters")
    return encoded


# Query parameters and path parameters (";jsessionid=...") that only carry a visitor's session: every
# visit mints a new one, so a site that writes them into its links is an endless supply of "new" URLs.
SESSION_ID_PARAMETERS = frozenset({
    "jsessionid", "phpsessid", "sid", "sessid", "sessionid", "session_id", "aspsessionid", "oscsid", "zenid",
    "cfid", "cftoken",
})
_SESSION_PATH_PARAMETER = re.compile(
    r";(?:" + "|".join(sorted(SESSION_ID_PARAMETERS)) + r")=[^/?#;]*", re.IGNORECASE)


def is_session_parameter(name: str) -> bool:
    return name.lower() in SESSION_ID_PARAMETERS


def without_session_ids(url: str) -> str:
    """`url` without session-id query and path parameters (names compared case-insensitively),
    otherwise as it was: what the crawler fetches (`middlewares.SessionIdMiddleware`)."""
    parts = urlsplit(url)
    path = _SESSION_PATH_PARAMETER.sub("", parts.path)
    if path != parts.path:
        url = parts._replace(path=path).geturl()
    names = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    found = [name for name in names if is_session_parameter(name)]
    if found:
        url = url_query_cleaner(url, found, remove=True, unique=False, keep_fragments=True)
    return url


def is_tracking_parameter(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMETERS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """`url` with tracking parameters, session ids (`without_session_ids`) and the fragment removed,
    host lower-cased, default port dropped, percent-encoding normalised and the remaining query
    parameters sorted.

    Raises `InvalidUrlError` (a ValueError) for a URL `urlsplit` cannot take (a bad port or IPv6 literal).
    """
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise InvalidUrlError(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:  # an IPv6 literal: hostname drops its brackets, without which the port is ambiguous
        host = f"[{host}]"
    if parts.port and parts.port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    path = quote(unquote(_SESSION_PATH_PARAMETER.sub("", parts.path)), safe="/%:@!$&'()*+,;=-._~") or "/"
    path = re.sub(r"/{2,}", "/", path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not is_tracking_parameter(k) and not is_session_parameter(k)]
    return urlunsplit((scheme, host, path, urlencode(sorted(query), doseq=True), ""))


def link_priority(url: str, text: str = "") -> int:
    """Higher for links whose URL or anchor text look on-topic, lower for site furniture.

    Only an ordering hint: the classifier decides what a page is about once it is fetched.
    """
    haystack = f"{unquote(url)} {text}"
    score = 10 * min(3, len(RELEVANT_LINK_WORDS.findall(haystack)))
    if BORING_LINK_WORDS.search(haystack):
        score -= 20
    return score
