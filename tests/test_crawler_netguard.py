import pytest
from conftest import HOSTILE_URLS

from crawler.errors import BlockedAddressError, FetchError
from crawler.netguard import check_url, is_public_address


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
    "100.64.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "224.0.0.1",
])
def test_non_public_addresses_are_refused(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert is_public_address(address)


@pytest.mark.parametrize("url", ["ftp://example.org/x", "file:///etc/passwd", "javascript:alert(1)", "/relative"])
def test_only_http_and_https(url):
    with pytest.raises(FetchError, match="only http and https"):
        check_url(url, allow_private=True)


def test_localhost_is_refused_unless_allowed():
    with pytest.raises(BlockedAddressError, match="--allow-private"):
        check_url("http://localhost:8000/")
    check_url("http://localhost:8000/", allow_private=True)


def test_literal_private_ip_is_refused():
    with pytest.raises(BlockedAddressError):
        check_url("http://169.254.169.254/latest/meta-data/")


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize("url", list(HOSTILE_URLS), ids=lambda v: v[:40])
def test_hostile_urls_are_fetch_errors_not_unicode_or_value_errors(url, allow_private):
    with pytest.raises(FetchError):
        check_url(url, allow_private=allow_private)
