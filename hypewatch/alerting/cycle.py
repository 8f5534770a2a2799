"""What runs after crawls: evaluate the alert rules, then deliver what is due.

Called where crawl runs conclude (`hypewatch.dispatch.run_crawls`: `hypewatch crawl`, the
scheduler, the demo) and by the scheduler's heartbeat, so retries and held-back digests go out
even when no crawl ends. A failure here is logged in one line and never fails the crawl.
"""

from __future__ import annotations

import logging

from hypewatch.alerting.delivery import DeliveryReport, deliver_pending
from hypewatch.alerting.rules import evaluate_alerts
from hypewatch.app import Hypewatch

logger = logging.getLogger(__name__)


def after_crawls(app: Hypewatch) -> DeliveryReport | None:
    """Evaluate every rule and deliver what is due; None when that could not be done."""
    try:
        evaluate_alerts(app)
        return deliver_pending(app)
    except Exception as exc:  # alerts must not break a crawl's bookkeeping
        logger.warning("alerts: could not evaluate or deliver: %s: %s", type(exc).__name__,
                       " ".join(str(exc).split())[:300])
        return None


def deliver_due(app: Hypewatch) -> DeliveryReport | None:
    """Deliver what is due (retries, digests held back by a cap, daily digests)."""
    try:
        return deliver_pending(app)
    except Exception as exc:
        logger.warning("alerts: could not deliver: %s: %s", type(exc).__name__, " ".join(str(exc).split())[:300])
        return None
