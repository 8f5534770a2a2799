"""dashboard.throttle: failed sign-ins per client and over all clients."""

import time

from dashboard.throttle import SignInThrottle


def test_a_client_is_refused_after_its_failures_until_the_window_passes():
    throttle = SignInThrottle(per_client="3/2 seconds", overall="100/minute")
    for _ in range(3):
        assert throttle.refusal("10.0.0.1") is None
        throttle.failed("10.0.0.1")
    refusal = throttle.refusal("10.0.0.1")
    assert refusal is not None and 1 <= refusal.retry_after <= 2 and "try again" in refusal.message
    assert throttle.refusal("10.0.0.2") is None  # another client is not held back
    time.sleep(2.1)
    assert throttle.refusal("10.0.0.1") is None


def test_a_correct_sign_in_clears_the_clients_count():
    throttle = SignInThrottle(per_client="3/minute", overall="100/minute")
    throttle.failed("10.0.0.1")
    throttle.failed("10.0.0.1")
    throttle.succeeded("10.0.0.1")
    throttle.failed("10.0.0.1")
    throttle.failed("10.0.0.1")
    assert throttle.refusal("10.0.0.1") is None


def test_failures_from_many_clients_add_up():
    throttle = SignInThrottle(per_client="3/minute", overall="5/minute")
    for n in range(5):
        throttle.failed(f"10.0.0.{n}")
    refusal = throttle.refusal("10.0.0.99")
    assert refusal is not None and refusal.retry_after > 30
