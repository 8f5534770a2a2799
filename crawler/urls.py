"""URL canonicalisation and the "does this link look relevant?" hint used to order a crawl."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# Parameters that only say how a reader arrived; they never change what a page shows.
TRACKING_PARAMETERS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mc_cid", "mc_eid",
    "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "wickedid", "ref_src",
    "cmpid", "ncid", "sr_share", "s_cid", "at_medium", "at_campaign", "ito", "spm",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
DEFAULT_PORTS = {"http": 80, "https": 443}

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


def is_tracking_parameter(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMETERS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """`url` with tracking parameters and the fragment removed, host lower-cased, default port
    dropped, percent-encoding normalised and the remaining query parameters sorted."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.port and parts.port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    path = quote(unquote(parts.path), safe="/%:@!$&'()*+,;=-._~") or "/"
    path = re.sub(r"/{2,}", "/", path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_parameter(k)]
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
