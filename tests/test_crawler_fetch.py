"""The on-demand fetcher against a real local HTTP server."""

import gzip
import time
import tracemalloc
import zlib

import brotli
import pytest

from crawler.errors import BlockedAddressError, FetchError
from crawler.fetch import fetch
from tests.hostile_server import MAIN, Bombs, HostileServer

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


def test_a_connection_reset_mid_body_is_a_fetch_error_that_says_so():
    server = HostileServer(Bombs(b"", b"", b""))
    server.start()
    try:
        with pytest.raises(FetchError, match=r"^unreachable: the connection broke \(ReadError\)$"):
            fetch(server.url(MAIN, "/drop"), user_agent=UA, allow_private=True)
        with pytest.raises(FetchError, match=r"^unreachable: peer closed connection without sending complete"):
            fetch(server.url(MAIN, "/truncated"), user_agent=UA, allow_private=True)
    finally:
        server.close()


def test_content_type_tells_html_apart(local_site):
    url = local_site.add("/fetch/doc.pdf", b"%PDF-1.4 ...", content_type="application/pdf")
    assert not fetch(url, user_agent=UA, allow_private=True).is_html


# ---------------------------------------------------------------- hostile servers
def _peak_python_memory(call) -> tuple[Exception | None, int]:
    """Run `call`; return what it raised and the peak of Python's allocations meanwhile, in bytes."""
    tracemalloc.start()
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - handed back to the test
        raised: Exception | None = exc
    else:
        raised = None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return raised, peak


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_a_compression_bomb_stops_at_the_cap_without_expanding(local_site, compression_bombs, encoding):
    body = compression_bombs.brotli if encoding == "br" else compression_bombs.gzip
    url = local_site.add(f"/fetch/bomb-{encoding}", body, headers={"Content-Encoding": encoding})
    raised, peak = _peak_python_memory(lambda: fetch(url, user_agent=UA, allow_private=True, max_bytes=1 << 20))
    assert isinstance(raised, FetchError) and "larger than the 1 MB limit" in str(raised)
    assert peak < 20 << 20, f"{peak / 2**20:.0f} MB allocated to decode a {len(body)}-byte body"


def test_stacked_content_encodings_are_refused(local_site, compression_bombs):
    url = local_site.add("/fetch/bomb-double-gzip", compression_bombs.double_gzip,
                         headers={"Content-Encoding": "gzip, gzip"})
    raised, peak = _peak_python_memory(lambda: fetch(url, user_agent=UA, allow_private=True))
    assert isinstance(raised, FetchError) and "stacked content encodings (gzip, gzip)" in str(raised)
    assert peak < 20 << 20


def test_compressed_pages_are_decoded(local_site):
    page = b"<html><body><p>" + "caf\u00e9 ".encode() * 1000 + b"</p></body></html>"
    for encoding, body in [("gzip", gzip.compress(page)), ("deflate", zlib.compress(page)),
                           ("br", brotli.compress(page))]:
        url = local_site.add(f"/fetch/compressed-{encoding}", body, headers={"Content-Encoding": encoding})
        assert fetch(url, user_agent=UA, allow_private=True).body == page


def test_a_dripping_server_meets_the_deadline(local_site):
    url = local_site.add("/fetch/drip", b"<html><body>" + b"x" * 100, drip=0.05)
    started = time.monotonic()
    with pytest.raises(FetchError, match="gave up after 2 s"):
        fetch(url, user_agent=UA, allow_private=True, timeout=1)
    assert time.monotonic() - started < 3


def test_the_declared_charset_decodes_the_page(local_site):
    body = "<html><body><p>Treatment packages start at \u20ac15,000.</p></body></html>".encode("iso-8859-15")
    url = local_site.add("/fetch/latin-9", body, content_type="text/html; charset=ISO-8859-15")
    page = fetch(url, user_agent=UA, allow_private=True)
    assert page.charset == "iso8859-15" and "\u20ac15,000" in page.html and page.body == body


def test_the_connection_goes_to_the_address_that_was_checked(local_site):
    # A rebinding DNS server: a permitted address for the first lookup, another for every later one.
    lookups: list[str] = []

    def rebinding_resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["127.0.0.2"]

    local_site.add("/fetch/pinned", "<html><body><p>pinned</p></body></html>")
    port = local_site.server.server_address[1]
    page = fetch(f"http://rebind.test:{port}/fetch/pinned", user_agent=UA, resolver=rebinding_resolver,
                 address_allowed=lambda address: address == "127.0.0.1")
    # One lookup, the checked one; the name itself resolves nowhere, so no other lookup could have worked.
    assert lookups == ["rebind.test"] and b"pinned" in page.body
    assert page.url == f"http://rebind.test:{port}/fetch/pinned"
    assert local_site.hosts[local_site.requests.index("/fetch/pinned")] == f"rebind.test:{port}"


@pytest.mark.parametrize("location", ["http://[::1/", "http://" + "a" * 10_000 + ".example/", "http://ex.org:99999/"])
def test_a_redirect_to_a_broken_url_is_a_fetch_error(local_site, location):
    start = local_site.add_redirect(f"/fetch/broken-redirect-{len(location)}", location)
    with pytest.raises(FetchError):
        fetch(start, user_agent=UA, allow_private=True)
