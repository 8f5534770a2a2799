"""Refuse URLs that point into the machine's own network.

A monitor that fetches URLs handed to it by users or found on untrusted pages must not be usable
to reach loopback services, the local network or cloud metadata endpoints. Every hop of a
redirect chain is checked.

`checked_addresses` returns the addresses it approved, so that the caller connects to one of
them rather than resolving the name again: a second lookup may answer differently (DNS
rebinding: a public address for the check, 127.0.0.1 for the connection). The resolver is a
parameter so that tests can play such a DNS server.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from crawler.errors import BlockedAddressError, FetchError
from crawler.urls import ascii_host, parse_web_url

Resolver = Callable[[str, int], list[str]]


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    # An IP socket address starts with the address as text (typeshed's union also covers other families).
    return sorted({str(info[4][0]) for info in infos})


def check_url(url: str, *, allow_private: bool = False,
              address_allowed: Callable[[str], bool] = is_public_address, resolver: Resolver = resolve) -> None:
    """Raise unless `url` is http(s) and (without `allow_private`) every address of its host is allowed.

    `address_allowed` decides per resolved address; the default admits public addresses only. A
    URL `crawler.urls.parse_web_url` refuses raises its `InvalidUrlError` (a FetchError).
    """
    checked_addresses(url, allow_private=allow_private, address_allowed=address_allowed, resolver=resolver)


def checked_addresses(url: str, *, allow_private: bool = False,
                      address_allowed: Callable[[str], bool] = is_public_address,
                      resolver: Resolver = resolve) -> list[str]:
    """As `check_url`, returning the approved addresses of the host to connect to.

    With `allow_private` nothing is resolved (any address would do) and the list is empty.
    """
    parts = parse_web_url(url)
    if allow_private:
        return []
    assert parts.hostname is not None  # parse_web_url refuses a URL without one
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    addresses = resolver(ascii_host(parts.hostname), port)
    if not addresses:
        raise FetchError(f"cannot resolve host {parts.hostname[:80]!r}: no address")
    for address in addresses:
        if not address_allowed(address):
            raise BlockedAddressError(
                f"refusing to fetch {parts.hostname} ({address}): loopback, private and link-local "
                "addresses need --allow-private"
            )
    return addresses
