"""Throttling password guesses: failed HTTP Basic sign-ins, per client and over all clients.

A client (an IP address) that gets the password wrong `per_client` times within the window is
refused, even with the right password, until its oldest failure leaves the window (429 with
Retry-After); a correct sign-in before that clears its count. Failures from every client together
are capped the same way (`overall`), so guessing from many addresses is slow too. Only requests
that carry credentials count: a browser's first, credential-less request is not a guess.

Behind a reverse proxy every client has the proxy's address, so the per-client cap is shared.
The counts live in this process's memory (the `limits` library's moving windows).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

PER_CLIENT = "10/5 minutes"
OVERALL = "100/5 minutes"
EVERY_CLIENT = "*"


@dataclass(frozen=True)
class Refusal:
    """Why a sign-in is not even checked, and when to try again."""

    retry_after: int  # seconds

    @property
    def message(self) -> str:
        return f"Too many failed sign-ins; try again in {self.retry_after} s."


class SignInThrottle:
    def __init__(self, per_client: str = PER_CLIENT, overall: str = OVERALL):
        self.per_client: RateLimitItem = parse(per_client)
        self.overall: RateLimitItem = parse(overall)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def refusal(self, client: str) -> Refusal | None:
        """A `Refusal` when `client` (or every client together) has used up its failed sign-ins."""
        waits = [self._wait(item, key) for item, key in ((self.per_client, client), (self.overall, EVERY_CLIENT))
                 if not self.limiter.test(item, key)]
        return Refusal(max(waits)) if waits else None

    def failed(self, client: str) -> None:
        self.limiter.hit(self.per_client, client)
        self.limiter.hit(self.overall, EVERY_CLIENT)

    def succeeded(self, client: str) -> None:
        self.limiter.clear(self.per_client, client)

    def _wait(self, item: RateLimitItem, key: str) -> int:
        reset = self.limiter.get_window_stats(item, key).reset_time
        return max(1, math.ceil(reset - time.time()))
