"""Alerts: rules evaluated after every crawl, their events recorded once, delivered through Apprise.

- `rules`     what each rule kind fires on (`evaluate_alerts`), from the stored versions and runs.
- `messages`  what an event keeps and what a digest of events says (title, plain text, HTML).
- `delivery`  sending pending deliveries: digests per rule and channel, the hourly cap, retries
              with backoff, claims taken over after a crash (`deliver_pending`), and test messages.
- `courier`   the short-lived process of its own session each message is claimed, sent and
              recorded in, so a kill of the delivering process does not interrupt it.
- `cycle`     `after_crawls`: evaluate, then deliver, never breaking the crawl that called it.

The tables and their queries are `storage.alerts`'s; the dashboard reads and writes rules there.
"""
