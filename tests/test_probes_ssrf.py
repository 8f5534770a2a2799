"""Probe: server-side request forgery. A canary server on 127.0.0.1 and ::1 counts every connection;
hostile URL forms that all lead to it go through `hypewatch check` (a real process, without
--allow-private), through check's fetcher following redirects from a "public" page, and through a
real crawl. The figure expected is 0 canary hits; each probe writes its figures to the report.

The "public" site is a LocalSite on 127.0.0.2, which `tests.probe_netguard.public_or_probe_site`
admits as if it were public; the canary's addresses stay refused as in production. Each probe
also fetches one page of that public site, so a 0 cannot come from refusing everything.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote
from xml.sax.saxutils import escape

import pytest

from crawler.errors import FetchError
from crawler.fetch import fetch
from crawler.sources import SourceConfig
from hypewatch.dispatch import run_crawl
from hypewatch.settings import PROJECT_ROOT
from tests.conftest import article_html
from tests.probe_netguard import OVERRIDES, public_or_probe_site

REDIRECT_CODES = (301, 302, 303, 307, 308)
CONTROL_TEXT = ("Researchers reviewed stem cell transplantation for multiple sclerosis in a new trial.\n"
                "The trial followed patients for five years and reported relapse rates and side effects.\n"
                "Neurologists said the results are promising but need confirmation in larger studies.")


def hostile_forms(port: int, port6: int, public: str) -> list[str]:
    """URLs whose host is the canary (127.0.0.1:port or [::1]:port6), written the ways attackers
    write them to slip past a check on the URL's text."""
    return [
        f"http://127.0.0.1:{port}/",
        f"http://2130706433:{port}/",  # decimal
        f"http://017700000001:{port}/",  # octal, one number
        f"http://0177.0.0.1:{port}/",  # octal parts
        f"http://0x7f000001:{port}/",  # hex
        f"http://0x7f.0.0.1:{port}/",
        f"http://0x7f.1:{port}/",  # hex, two parts
        f"http://127.1:{port}/",
        f"http://0177.1:{port}/",
        f"http://127.000.000.001:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",  # IPv4-mapped IPv6
        f"http://[::ffff:7f00:1]:{port}/",
        f"http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/",
        f"http://[::1]:{port6}/",
        f"http://[0:0:0:0:0:0:0:1]:{port6}/",
        f"http://localhost:{port}/",
        f"http://localhost.:{port}/",  # trailing dot
        f"http://LocalHost:{port}/",
        f"http://0.0.0.0:{port}/",  # Linux connects 0.0.0.0 to the machine itself
        f"http://0:{port}/",
        f"http://public@127.0.0.1:{port}/",  # userinfo tricks
        f"http://{public}@127.0.0.1:{port}/",
        f"http://127.0.0.1:{port}#@{public}/",  # a fragment dressed as userinfo
        f"http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/",  # full-width digits (NFKC: 127.0.0.1)
        f"https://127.0.0.1:{port}/",
        f"http://127.0.0.1:{port}/?next=http://{public}/",
    ]


@pytest.fixture(scope="module")
def ssrf_site(canary, public_site):
    """The hostile forms, and on the public site: a redirect to each of them, a redirect chain, a
    protocol-relative redirect, a feed linking to all of those, and one real article (the control)."""
    public = public_site.base_url.removeprefix("http://")
    forms = hostile_forms(canary.port, canary.port6, public)
    # A Location header is Latin-1 on the wire: the full-width host goes percent-encoded (UTF-8).
    redirects = [public_site.add_redirect(f"/ssrf/redirect/{i}", quote(form, safe=":/?#@=[]"),
                                          REDIRECT_CODES[i % len(REDIRECT_CODES)])
                 for i, form in enumerate(forms)]
    redirects.append(public_site.add_redirect("/ssrf/chain", public_site.url("/ssrf/redirect/0")))
    redirects.append(public_site.add_redirect("/ssrf/protocol-relative", f"//127.0.0.1:{canary.port}/"))
    control = public_site.add("/ssrf/article", article_html("Stem cells and MS: a trial", CONTROL_TEXT))
    items = "".join(f"<item><title>Item {i}</title><link>{escape(url)}</link></item>"
                    for i, url in enumerate([*forms, *redirects, control]))
    feed = public_site.add("/ssrf/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}'
                           "</channel></rss>", content_type="application/rss+xml")
    return forms, redirects, control, feed


def test_check_reaches_no_canary_from_any_hostile_form(run_cli, canary, ssrf_site, probe_report):
    forms, redirects, _, _ = ssrf_site
    before = canary.hits
    result = run_cli("check", "--json", *forms, *redirects)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    hits = canary.hits - before
    probe_report["ssrf_check_cli"] = {"urls": len(forms) + len(redirects), "canary_hits": hits,
                                      "refused": sum("error" in line for line in lines),
                                      "tracebacks": result.stderr.count("Traceback")}
    assert len(forms) >= 20
    assert hits == 0
    assert result.exit_code == 2, result.stderr
    assert [line["target"] for line in lines] == [*forms, *redirects]
    assert all("error" in line for line in lines), lines
    assert "Traceback" not in result.stderr


def test_check_fetcher_follows_no_redirect_from_a_public_page_into_the_canary(canary, ssrf_site, probe_report):
    forms, redirects, control, _ = ssrf_site
    before = canary.hits
    page = fetch(control, user_agent="probe", timeout=5, address_allowed=public_or_probe_site)  # the control
    refused = []
    for url in redirects:
        with pytest.raises(FetchError) as raised:
            fetch(url, user_agent="probe", timeout=5, address_allowed=public_or_probe_site)
        refused.append(str(raised.value))
    hits = canary.hits - before
    probe_report["ssrf_redirects"] = {"redirects": len(redirects), "canary_hits": hits, "refused": len(refused),
                                      "control_fetched": int("Stem cells" in page.html)}
    assert "Stem cells" in page.html
    assert hits == 0
    assert len(refused) == len(redirects)  # each with a FetchError: refused, invalid or unresolvable


def test_crawl_reaches_no_canary_from_a_hostile_feed(app, canary, public_site, ssrf_site, probe_report, monkeypatch):
    forms, redirects, control, feed = ssrf_site
    # The crawl process imports tests.probe_netguard: it needs the project root on its path.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])))
    source = SourceConfig(name="ssrf-probe", kind="feed", start_urls=(feed, *forms), allowed_domains=("*",),
                          max_pages=200, max_depth=1)
    before, requests_before = canary.hits, len(public_site.requests)
    summary = run_crawl(app, source, settings_overrides=OVERRIDES)
    hits = canary.hits - before
    requested = public_site.requests[requests_before:]
    probe_report["ssrf_crawl"] = {"urls": len(forms) * 2 + len(redirects), "canary_hits": hits,
                                  "refused": sum(summary.errors.values()), "control_fetched": int("/ssrf/article" in requested),
                                  "spider_errors": summary.errors.get("spider", 0)}
    assert hits == 0
    assert "spider" not in summary.errors, summary.errors  # no entry may break the feed's parse
    assert "/ssrf/article" in requested, (summary, requested)
