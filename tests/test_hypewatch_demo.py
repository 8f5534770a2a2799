"""The demo job's settings."""

from __future__ import annotations

from hypewatch.demo import fresh_demo_settings


def test_the_demo_asks_no_trial_registry_even_when_one_is_configured(settings):
    configured = settings.with_overrides(registry_url="https://clinicaltrials.gov", isrctn_url="https://www.isrctn.com")
    demo = fresh_demo_settings(configured)
    assert demo.registry_url is None and demo.isrctn_url is None
    assert demo.database_url.endswith("/demo/demo.db")
