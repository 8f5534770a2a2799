"""The on-demand fetcher against a real local HTTP server."""

import pytest

from crawler.errors import BlockedAddressError, FetchError
from crawler.fetch import fetch

UA = "hypewatch-tests"


def test_fetches_html_and_follows_redirects(local_site):
    local_site.add("/fetch/final", "<html><body><p>hello</p></body></html>")
    start = local_site.add_redirect("/fetch/start", "/fetch/final")
    page = fetch(start, user_agent=UA, allow_private=True)
    assert page.url.endswith("/fetch/final") and page.is_html and b"hello" in page.body


def test_every_redirect_hop_is_checked(local_site):
    # 127.0.0.1 is admitted for this test; the redirect target 127.0.0.2 is not.
    start = local_site.add_redirect("/fetch/to-other-host", "http://127.0.0.2:9/internal")
    with pytest.raises(BlockedAddressError, match="127.0.0.2"):
        fetch(start, user_agent=UA, address_allowed=lambda address: address == "127.0.0.1")


def test_private_address_is_refused_without_permission(local_site):
    url = local_site.add("/fetch/private", "<html></html>")
    with pytest.raises(BlockedAddressError):
        fetch(url, user_agent=UA)


def test_redirect_loop_gives_up(local_site):
    local_site.add_redirect("/fetch/loop-a", "/fetch/loop-b")
    local_site.add_redirect("/fetch/loop-b", "/fetch/loop-a")
    with pytest.raises(FetchError, match="redirects"):
        fetch(local_site.url("/fetch/loop-a"), user_agent=UA, allow_private=True)


def test_body_is_capped(local_site):
    url = local_site.add("/fetch/big", b"<html>" + b"x" * 300_000 + b"</html>")
    with pytest.raises(FetchError, match="larger than"):
        fetch(url, user_agent=UA, allow_private=True, max_bytes=100_000)


def test_http_errors_and_timeouts_are_fetch_errors(local_site):
    missing = local_site.url("/fetch/does-not-exist")
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(missing, user_agent=UA, allow_private=True)
    slow = local_site.add("/fetch/slow", "<html></html>", delay=2.0)
    with pytest.raises(FetchError, match="timed out"):
        fetch(slow, user_agent=UA, allow_private=True, timeout=0.5)


def test_unreachable_host_is_a_fetch_error():
    with pytest.raises(FetchError, match="unreachable"):
        fetch("http://127.0.0.1:9/", user_agent=UA, allow_private=True, timeout=2)


def test_content_type_tells_html_apart(local_site):
    url = local_site.add("/fetch/doc.pdf", b"%PDF-1.4 ...", content_type="application/pdf")
    assert not fetch(url, user_agent=UA, allow_private=True).is_html


@pytest.mark.parametrize("location", ["http://[::1/", "http://" + "a" * 10_000 + ".example/", "http://ex.org:99999/"])
def test_a_redirect_to_a_broken_url_is_a_fetch_error(local_site, location):
    start = local_site.add_redirect(f"/fetch/broken-redirect-{len(location)}", location)
    with pytest.raises(FetchError):
        fetch(start, user_agent=UA, allow_private=True)
