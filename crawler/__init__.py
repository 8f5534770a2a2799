"""The crawler: a Scrapy project that collects articles, extracts their text, scores and stores them.

It uses `classifier` (scoring) and `storage` (writing); hypewatch's crawl-run core starts it as a
crawl process, `python -m crawler.runner`, with a `spec.CrawlSpec` on standard input.

- Running: `runner` (one crawl per process), `parent_watch` (a crawl process stops when the
  process that started it dies), `spec`, `settings` (the documented `HYPEWATCH_*` settings),
  `sources` (the sources file).
- Spiders and requests: `spiders/` (site, feed, sitemap, and `start_requests` beside
  `spider_for`), `feeds`, `aggregator_links` (the publisher's URL inside Google News and Bing News
  links), `urls`, `middlewares` (address guard, robots.txt, page budget, backoff), `netguard`,
  `politeness` (the pace a site asks for: robots.txt's Crawl-delay, Retry-After, for the whole site).
- Pages: `items` and `vocabulary` (what the parts pass each other: items, request-meta keys, drop
  reasons), `pipelines` (one concern each), `articles` and `extract` (trafilatura),
  `html_input` (a page's bytes as the tree a browser would build), `workers` (the extraction
  processes, which also score, forked from a fork server) and `preload` (what that server loads
  once for them all).
- Counting: `counts` (stat names, `run_counts`), `extensions` (drop/error counters, progress
  lines), `resources` (memory and CPU).
- A crawl shared by several crawl processes: `shared_run` (the run's state in Redis), `frontier`
  (Scrapy's scheduler and middleware for it), `run_memory` (budget and first-seen maps, local or
  shared), `request_codec`.
- Also: `fetch` (one page on demand, for `hypewatch check`, with `content_coding`: decoding capped
  by decoded size), `charset` (a page's text by the encoding its server declares), `demo_site`,
  `errors`, `signals`.
"""
